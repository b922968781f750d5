"""The alert rules as pure functions: what is an incident, its key, its one-line cause, its link.

An incident's key names the condition, not the moment it was seen: every evaluation that sees
the same condition produces the same key, so the incident store opens it once and resolves it
once, however many evaluations see it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import statistics
from urllib.parse import quote

from musiccharts_pipeline.redact import scrub
from musiccharts_pipeline.sync import rules as sync_rules

RUN_FAILED = "run_failed"
OVERDUE = "overdue"
QUOTA = "quota"
CHECK_FAILED = "check_failed"
SLOW_SYNC = "slow_sync"

QUOTA_LOW_KEY = "quota:low"
QUOTA_EXHAUSTED_KEY = "quota:exhausted"
DEFAULT_QUOTA_SHARE = 0.05
DEFAULT_QUOTA_CALLS = 1_000

#: The old system's "performance degradation": a sync more than 3x its chart's median.
SLOW_FACTOR = 3.0
SLOW_WINDOW = 20
#: Fewer earlier syncs make no median worth comparing against.
SLOW_MIN_HISTORY = 5
#: A sync shorter than this is never slow: sub-second jitter is not degradation.
SLOW_MIN_SECONDS = 1.0

CAUSE_LIMIT = 300


@dataclasses.dataclass(frozen=True)
class Incident:
    key: str
    rule: str
    subject: str  # the chart, job or check it is about: what a summary lists
    cause: str  # one line, scrubbed of secrets
    link: str


@dataclasses.dataclass(frozen=True)
class Links:
    """Links into the Dagster UI at ``base`` (MUSICCHARTS_DAGSTER_URL)."""

    base: str

    def run(self, run_id: str) -> str:
        return f"{self.base.rstrip('/')}/runs/{run_id}"

    def asset(self, path: tuple[str, ...] | list[str], view: str | None = None) -> str:
        url = f"{self.base.rstrip('/')}/assets/" + "/".join(quote(p, safe="") for p in path)
        return url + (f"?view={view}" if view else "")


def one_line(text: str | None, limit: int = CAUSE_LIMIT) -> str:
    """The first meaningful line of ``text``, whitespace collapsed, secrets scrubbed, cut."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    line = scrub(re.sub(r"\s+", " ", lines[0] if lines else "no detail"))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _span(dates: tuple[dt.date, dt.date]) -> str:
    start, end = dates
    return start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"


# -- failed runs --------------------------------------------------------------------------------


def failure_key(job: str, chart: str | None, dates: tuple[dt.date, dt.date] | None) -> str:
    """One failed run of a chart's dates is one incident; a job without charts has one."""
    if chart is None:
        return f"{RUN_FAILED}:{job}"
    return f"{RUN_FAILED}:{job}:{chart}:{_span(dates) if dates else '-'}"


def run_failed(
    links: Links,
    job: str,
    run_id: str,
    chart: str | None,
    dates: tuple[dt.date, dt.date] | None,
    step: str | None,
    error: str | None,
) -> Incident:
    # Dagster's own asset jobs (a UI or CLI materialization) have names like __ASSET_JOB
    label = "materialization" if job.startswith("__") else job
    what = f"{label} run for {chart} {_span(dates)}" if chart and dates else f"{label} run"
    where = f" at {step}" if step else ""
    return Incident(
        key=failure_key(job, chart, dates),
        rule=RUN_FAILED,
        subject=f"{chart} {_span(dates)}" if chart and dates else label,
        cause=one_line(f"{what} failed{where}: {one_line(error)}"),
        link=links.run(run_id),
    )


def resolved_by_success(key: str, job: str, charts: dict[str, tuple[dt.date, dt.date]]) -> bool:
    """Whether a successful run of ``job`` covering ``charts`` clears the failure ``key``: the
    same job, and for a chart's failure, that chart's failed dates."""
    parts = key.split(":", 3)
    if parts[0] != RUN_FAILED or parts[1] != job:
        return False
    if len(parts) == 2:
        return True
    chart, span = parts[2], parts[3]
    if chart not in charts:
        return False
    if span == "-":
        return True
    start, _, end = span.partition("..")
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end or start)
    covered = charts[chart]
    return covered[0] <= first and last <= covered[1]


def is_quota_exhausted(error: str | None) -> bool:
    """The client's own rule: a 429 without the rate-limit wording is a spent quota."""
    text = error or ""
    return "SoundCharts API 429" in text and "maximum request count" not in text


# -- overdue charts -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChartFreshness:
    slug: str
    frequency: str
    custom_hours: int | None
    latest: dt.date | None  # newest stored ranking
    subscribed_on: dt.date | None


def overdue(links: Links, charts: list[ChartFreshness], today: dt.date) -> list[Incident]:
    """Subscribed charts whose newest ranking is older than one period plus the project's
    grace (the same rule as ``charts status`` and the ``chart_fresh`` check). A chart never
    synced counts from the day it was subscribed."""
    found = []
    for chart in charts:
        since = chart.latest or chart.subscribed_on
        if since is None or not sync_rules.overdue(
            chart.frequency, since, today, chart.custom_hours
        ):
            continue
        every = sync_rules.period(chart.frequency, chart.custom_hours)
        age = (today - since).days
        if chart.latest:
            detail = f"newest ranking is {chart.latest.isoformat()} ({age} days old)"
        else:
            detail = f"no ranking synced since it was subscribed on {since.isoformat()}"
        found.append(
            Incident(
                key=f"{OVERDUE}:{chart.slug}",
                rule=OVERDUE,
                subject=chart.slug,
                cause=one_line(
                    f"{chart.slug} ({chart.frequency}, expected every {_duration(every)}) is "
                    f"overdue: {detail}"
                ),
                link=links.asset(("chart_rankings",), view="partitions"),
            )
        )
    return found


def _duration(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours < 24 or hours % 24:
        return f"{hours:g} h"
    days = int(hours // 24)
    return f"{days} day" + ("s" if days != 1 else "")


# -- quota --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class QuotaThreshold:
    """Calls left below which the quota is low: a fixed count, or a share of the total."""

    calls: int | None = None
    share: float = DEFAULT_QUOTA_SHARE

    @classmethod
    def parse(cls, text: str | None) -> QuotaThreshold:
        if not text:
            return cls()
        value = text.strip().replace(",", "").replace("_", "")
        try:
            if value.endswith("%"):
                share = float(value[:-1]) / 100
                if not 0 < share < 1:
                    raise ValueError
                return cls(share=share)
            calls = int(value)
            if calls < 0:
                raise ValueError
            return cls(calls=calls)
        except ValueError:
            raise ValueError(
                "MUSICCHARTS_ALERT_QUOTA_BELOW must be a number of calls (2000) or a "
                f"percentage of the quota (5%), got {text!r}"
            ) from None

    def calls_for(self, total: int | None) -> int:
        if self.calls is not None:
            return self.calls
        return math.ceil(total * self.share) if total else DEFAULT_QUOTA_CALLS


@dataclasses.dataclass(frozen=True)
class QuotaReading:
    """The newest ``x-quota-remaining`` seen, and the largest seen (the term's total: the API
    sends no total, and a renewed term starts at the full quota again)."""

    remaining: int
    total: int
    run_id: str | None

    def then(self, remaining: int, run_id: str | None) -> QuotaReading:
        return QuotaReading(remaining, max(self.total, remaining), run_id)


def quota(
    links: Links, reading: QuotaReading | None, threshold: QuotaThreshold
) -> tuple[list[Incident], set[str]]:
    """The quota incidents now, and the keys this evaluation may resolve. While the quota is
    exhausted, the low-quota incident neither opens nor resolves: exhaustion supersedes it."""
    if reading is None:
        return [], set()
    link = links.run(reading.run_id) if reading.run_id else links.asset(("chart_rankings",))
    if reading.remaining <= 0:
        cause = (
            "SoundCharts API quota is exhausted (0 calls left): every sync fails until the "
            "quota renews"
        )
        return [Incident(QUOTA_EXHAUSTED_KEY, QUOTA, "exhausted", cause, link)], {
            QUOTA_EXHAUSTED_KEY
        }
    below = threshold.calls_for(reading.total)
    scope = {QUOTA_LOW_KEY, QUOTA_EXHAUSTED_KEY}
    if reading.remaining >= below:
        return [], scope
    cause = (
        f"SoundCharts API quota is low: {reading.remaining:,} calls left, below the threshold "
        f"of {below:,} (largest seen this term: {reading.total:,})"
    )
    return [Incident(QUOTA_LOW_KEY, QUOTA, "low", cause, link)], scope


# -- failed checks ------------------------------------------------------------------------------


def check_key(asset: str, check: str, chart: str | None) -> str:
    return f"{CHECK_FAILED}:{asset}:{check}" + (f":{chart}" if chart else "")


def check_failed(
    links: Links,
    asset_path: tuple[str, ...],
    check: str,
    chart: str | None,
    detail: str | None,
) -> Incident:
    asset = "/".join(asset_path)
    scope = f" for {chart}" if chart else ""
    return Incident(
        key=check_key(asset, check, chart),
        rule=CHECK_FAILED,
        subject=f"{asset}.{check}" + (f" ({chart})" if chart else ""),
        cause=one_line(
            f"ERROR check {check} on {asset} failed{scope}"
            + (f": {one_line(detail)}" if detail else "")
        ),
        link=links.asset(asset_path, view="checks"),
    )


# -- slow syncs ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Sync:
    """One run's sync of one chart: its duration and the rankings it fetched."""

    run_id: str
    seconds: float
    rankings: int

    @property
    def per_ranking(self) -> float:
        return self.seconds / max(self.rankings, 1)


def slow_sync(links: Links, slug: str, syncs: list[Sync]) -> Incident | None:
    """The chart's newest sync (last of ``syncs``, oldest first) if it took more than 3x the
    median of the 20 before it. Compared per ranking fetched, so a year's backfill in one run
    is not "slow" for being long."""
    if len(syncs) < SLOW_MIN_HISTORY + 1:
        return None
    newest, history = syncs[-1], syncs[-SLOW_WINDOW - 1 : -1]
    median = statistics.median(s.per_ranking for s in history)
    if newest.seconds < SLOW_MIN_SECONDS or newest.per_ranking <= SLOW_FACTOR * median:
        return None
    factor = newest.per_ranking / median if median else math.inf
    return Incident(
        key=f"{SLOW_SYNC}:{slug}",
        rule=SLOW_SYNC,
        subject=slug,
        cause=one_line(
            f"{slug} sync took {newest.per_ranking:.1f} s per ranking, {factor:.1f}x its median "
            f"of {median:.2f} s over the last {len(history)} syncs"
        ),
        link=links.run(newest.run_id),
    )
