"""What every command shares: the resources, the instance, printing, the error it raises."""

from __future__ import annotations

import datetime as dt
import math

from musiccharts_pipeline import settings

QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class CliError(Exception):
    pass


def _warehouse():
    from musiccharts_pipeline.resources import resources_from_env

    return resources_from_env(resolved=True)["warehouse"].get()


def _client():
    from musiccharts_pipeline.resources import resources_from_env

    return resources_from_env(resolved=True)["soundcharts"].get()


def _instance():
    import dagster as dg

    if settings.dagster_home():
        return dg.DagsterInstance.get()
    print("DAGSTER_HOME is not set: using a temporary Dagster instance (runs are not kept).")
    return dg.DagsterInstance.ephemeral()


def _print_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print(
            "  ".join(str("" if r.get(c) is None else r.get(c)).ljust(widths[c]) for c in columns)
        )


def _known(value) -> bool:
    """A number that is there: neither missing (None) nor pandas' missing float (NaN)."""
    return value is not None and not math.isnan(value)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CliError(f"not a YYYY-MM-DD date: {text!r}") from None
