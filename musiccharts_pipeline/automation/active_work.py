"""What queued and running runs already cover, so that no sensor requests it a second time.

The cost is one query for the runs that are not finished: it grows with the work in flight,
never with the partitions or the run history that exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import dagster as dg

from musiccharts_pipeline.partitions import chart_dates_of_run

NOT_FINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclasses.dataclass
class ActiveWork:
    """The unfinished runs that materialize any of the assets asked about, and the
    (asset, chart) date spans they cover."""

    runs: list[dg.DagsterRun]
    spans: dict[tuple[str, str], list[tuple[dt.date, dt.date]]]

    @classmethod
    def of(cls, instance: dg.DagsterInstance, all_assets: set[str]) -> ActiveWork:
        runs = list(instance.get_runs(dg.RunsFilter(statuses=NOT_FINISHED)))
        spans: dict[tuple[str, str], list[tuple[dt.date, dt.date]]] = {}
        touching = []
        for run in runs:
            names = assets_of(instance, run, all_assets)
            if names:
                touching.append(run)
            for slug, span in chart_dates_of_run(run.tags).items():
                for asset in names:
                    spans.setdefault((asset, slug), []).append(span)
        return cls(touching, spans)

    def covers(self, asset: str, slug: str, date: dt.date) -> bool:
        return any(a <= date <= b for a, b in self.spans.get((asset, slug), ()))


def assets_of(instance: dg.DagsterInstance, run: dg.DagsterRun, among: set[str]) -> set[str]:
    """Names of the assets among ``among`` that a run materializes: its asset selection, stored
    with the run itself (atomically: a daemon killed while it writes the run's planned events
    cannot leave it half-known), no query. A run created without a selection (a whole job) is
    read from the materializations Dagster records as planned (one short query)."""
    if run.asset_selection:
        return {key.to_user_string() for key in run.asset_selection} & among
    planned = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    return {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in planned} & among
