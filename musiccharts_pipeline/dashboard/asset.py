"""dashboard: the HTML page built from the marts, its path in the asset's metadata."""

import dagster as dg

from musiccharts_pipeline import settings
from musiccharts_pipeline.alerts.state import IncidentStore
from musiccharts_pipeline.dashboard.render import MARTS, load_marts, render
from musiccharts_pipeline.resources import WarehouseResource


@dg.asset(
    deps=list(MARTS),
    group_name="analytics",
    kinds={"html"},
    description="Self-contained HTML dashboard (inline SVG charts, opens offline).",
)
def dashboard(warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh = warehouse.get()
    marts = load_marts(wh)
    incidents = IncidentStore(wh).open_incidents()
    path = settings.dashboard_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render(marts, incidents=incidents)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)  # readers never see a half-written page
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": len(page.encode()),
            "charts_shown": int(marts["chart_health"].shape[0]),
            "open_incidents": len(incidents),
        }
    )


defs = dg.Definitions(assets=[dashboard])
