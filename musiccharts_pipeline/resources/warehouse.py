"""Dagster resource around the plain-Python warehouse."""

import functools

import dagster as dg
from pydantic import Field

from musiccharts_pipeline import settings
from musiccharts_pipeline.warehouse import Warehouse


@functools.cache
def _warehouse(url: str) -> Warehouse:
    wh = Warehouse(url)
    wh.migrate()
    return wh


class WarehouseResource(dg.ConfigurableResource):
    """The SoundCharts warehouse; migrated to the newest schema on first use in a process."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Unset: MUSICCHARTS_WAREHOUSE_URL, else a DuckDB file "
        "under .musiccharts/.",
    )

    def get(self) -> Warehouse:
        return _warehouse(self.url or settings.warehouse_url())
