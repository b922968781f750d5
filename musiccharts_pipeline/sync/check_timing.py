"""When the sync sensor next asks the API whether a chart has published.

Availability checks are the steady state's main cost: a fixed hourly poll spends 24 calls on a
daily chart's one publication, and a minute's poll (what a dropped cursor amounts to) 1,440.
Each chart publishes at its own hour with some jitter, so the checks are timed to it:

- The first look for the next ranking goes at the chart's planned minute (minutes after the
  ranking date's midnight); when the ranking is not out yet, a second look half an hour later,
  then hourly (``FALLBACK``): a late or irregular chart is still caught within the hour.
- The plan is learned by a staircase, the up-down rule that finds a quantile from yes/no
  answers: a ranking already out at the first look moves the plan ``EARLIER`` minutes earlier,
  one not out yet ``LATER`` minutes later. It settles where three publications in four
  (15 / (5 + 15)) are out by the first look and the rest by the second, half an hour later: a
  publication costs about 1.3 checks and is seen within about 45 minutes, and one late
  publication moves the plan by one step only.
- Before anything is learned (a new subscription), the checks go hourly from the expected day's
  midnight for ``LEARN_FROM`` publications (two of a daily chart, one of a weekly or monthly
  one); each find after a miss gives an estimate (the midpoint of miss and find) and the first
  plan is the earliest of them: a chart is never early, only late, and a plan learned from one
  late publication would put every later first look hours after the ranking is out, for weeks.
- Measured against the simulator's schedule (per-chart hour, up to an hour of jitter, one
  ranking in 20 hours late), its 15 charts over 30 days after a three-day warm-up, at four
  start dates: 1.55-1.64 checks per publication, p95 50-53 minutes from publication to the
  check that saw it. With one learning publication for daily charts too, p95 reached 387
  minutes when it was a late one; with the plan where half the publications are out at the
  first look, 2.07 checks; with 85% out, 1.50-1.61 checks but p95 up to 57; a fixed hourly poll
  spends 24 checks a day.
- A republished (corrected) ranking shows as another datetime for a date already stored: the
  next check sees it. A daily chart is checked within a day anyway; a weekly or monthly one gets
  one more check a day after each publication (``RECHECK``), not a week or a month later.
- A catch-up over several dates (after an outage) teaches nothing: no publication time was seen.
- Custom-interval charts are polled at their interval: they have no publication day to learn.
- A failed check (an outage, a 5xx after the client's own retries, a spent quota) keeps the
  chart due: it is asked again at the next tick, then after 2, 4, 8... minutes while the
  failures go on, never more than ``FALLBACK`` apart, so a two-hour outage costs a few checks
  per chart instead of one every minute. A chart the API no longer knows is asked again after a
  day, not every minute.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from musiccharts_pipeline.sync import rules

SECOND_LOOK = dt.timedelta(minutes=30)
FALLBACK = dt.timedelta(hours=1)
GONE_RETRY = dt.timedelta(days=1)
RECHECK = dt.timedelta(days=1)  # a weekly or monthly chart's look for a corrected ranking
EARLIER, LATER = 5, 15  # minutes the plan moves after a find at the first look, after a miss
#: publications watched hourly from midnight before the plan takes over: two for a daily chart
#: (one late publication must not set its plan), one for a weekly or monthly chart (whose
#: publications are too few to watch two of them hourly)
LEARN_FROM = {"daily": 2}
MOST_LEARNED = 2
#: minutes after the ranking date's midnight a publication may come and still teach its time:
#: up to a period and two days (a chart published the day after its date included); a find
#: later than that (an outage's catch-up) teaches nothing
LEARNABLE = {"daily": 3 * 24 * 60, "weekly": 9 * 24 * 60, "monthly": 33 * 24 * 60}


@dataclasses.dataclass
class ChartTiming:
    """One chart's entry in the sensor's cursor."""

    next_check: dt.datetime | None = None  # None: due at the next tick
    newest: dt.date | None = None  # newest ranking date the last successful check listed
    missed: dt.datetime | None = None  # the last check that did not find the expected ranking
    plan: int | None = None  # minutes after the ranking date's midnight of the first look
    gone: bool = False  # the API answered 404 for the chart
    failures: int = 0  # checks failed in a row
    samples: int = 0  # publication times seen while learning (up to ``MOST_LEARNED``)

    def due(self, now: dt.datetime) -> bool:
        return self.next_check is None or self.next_check <= now

    def dump(self) -> dict:
        out: dict = {}
        if self.next_check is not None:
            out["n"] = self.next_check.isoformat(timespec="minutes")
        if self.newest is not None:
            out["d"] = self.newest.isoformat()
        if self.missed is not None:
            out["m"] = self.missed.isoformat(timespec="minutes")
        if self.plan is not None:
            out["p"] = self.plan
        if self.gone:
            out["g"] = 1
        if self.failures:
            out["f"] = self.failures
        if self.samples and self.samples < MOST_LEARNED:
            out["l"] = self.samples
        return out

    @classmethod
    def load(cls, value) -> ChartTiming:
        if not isinstance(value, dict):  # an older cursor's "last checked" stamp: due now
            return cls()
        return cls(
            next_check=_datetime(value.get("n")),
            newest=dt.date.fromisoformat(value["d"]) if value.get("d") else None,
            missed=_datetime(value.get("m")),
            plan=int(value["p"]) if value.get("p") is not None else None,
            gone=bool(value.get("g")),
            failures=int(value.get("f", 0)),
            samples=int(value.get("l", MOST_LEARNED if value.get("p") is not None else 0)),
        )


def _datetime(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _midnight(date: dt.date) -> dt.datetime:
    return dt.datetime.combine(date, dt.time())


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def expected_after(newest: dt.date, frequency: str) -> dt.date:
    """The ranking date that should come after ``newest``."""
    if frequency == "weekly":
        return newest + dt.timedelta(days=7)
    if frequency == "monthly":
        return (newest.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return newest + dt.timedelta(days=1)


def planned(timing: ChartTiming, frequency: str) -> dt.datetime | None:
    """The first look for the ranking expected after ``timing.newest``; None if unknown."""
    if timing.newest is None:
        return None
    day = _midnight(expected_after(timing.newest, frequency))
    if learning(timing, frequency):
        return day
    return day + dt.timedelta(minutes=timing.plan)


def after_check(
    timing: ChartTiming,
    newest: dt.date | None,
    now: dt.datetime,
    frequency: str,
    custom_hours: int | None = None,
) -> ChartTiming:
    """The chart's timing once a check at ``now`` listed ``newest`` as its newest ranking."""
    if frequency == "custom" or custom_hours:
        interval = rules.check_interval(frequency, custom_hours)
        return dataclasses.replace(
            timing, next_check=now + interval, newest=newest, gone=False, failures=0
        )
    if newest is None:  # nothing published at all yet
        return ChartTiming(next_check=now + FALLBACK, plan=timing.plan, samples=timing.samples)
    if timing.newest is not None and newest > timing.newest:
        learned = timing
        if newest == expected_after(timing.newest, frequency):
            learned = _learn(timing, newest, now, frequency)
        found = ChartTiming(newest=newest, plan=learned.plan, samples=learned.samples)
        found.next_check = max(planned(found, frequency), now + SECOND_LOOK)
        if frequency != "daily":  # a daily chart's next look comes within a day anyway
            found.next_check = min(found.next_check, now + RECHECK)
        return found
    if timing.newest is None or newest < timing.newest:  # first check, or the API went back
        first = dataclasses.replace(
            timing, newest=newest, next_check=None, missed=None, gone=False, failures=0
        )
        plan = planned(first, frequency)
        if plan > now:
            first.next_check = plan
        else:  # the expected ranking is not out yet: it comes out after now
            first.missed, first.next_check = now, now + FALLBACK
        return first
    plan = planned(timing, frequency)
    if now < plan:  # asked before the plan (a forced check): keep the plan
        return dataclasses.replace(timing, next_check=plan, gone=False, failures=0)
    learned = not learning(timing, frequency)
    step = SECOND_LOOK if learned and now < plan + SECOND_LOOK else FALLBACK
    return dataclasses.replace(timing, next_check=now + step, missed=now, gone=False, failures=0)


def after_gone(timing: ChartTiming, now: dt.datetime) -> ChartTiming:
    """A 404 for the chart: asked again after a day, reported once (``gone`` was False)."""
    return dataclasses.replace(timing, next_check=now + GONE_RETRY, gone=True, failures=0)


def after_failure(timing: ChartTiming, now: dt.datetime) -> ChartTiming:
    """A check that failed: due again at the next tick, then backing off to ``FALLBACK``."""
    wait = min(dt.timedelta(minutes=2 ** min(timing.failures, 6)), FALLBACK)
    return dataclasses.replace(timing, next_check=now + wait, failures=timing.failures + 1)


def learning(timing: ChartTiming, frequency: str) -> bool:
    """Whether the chart is still watched hourly from midnight (no plan yet to trust)."""
    return timing.plan is None or timing.samples < LEARN_FROM.get(frequency, 1)


def _learn(timing: ChartTiming, newest: dt.date, now: dt.datetime, frequency: str) -> ChartTiming:
    """The timing's plan and samples once ``newest``, the expected ranking, was found
    at ``now``."""
    day = _midnight(newest)
    missed = timing.missed if timing.missed is not None and timing.missed >= day else None
    if learning(timing, frequency):  # watched hourly: the midpoint of the last miss and the find
        if missed is None:
            return timing  # out at the day's first look: no bound below it
        estimate = (_minutes(missed - day) + _minutes(now - day)) // 2
        if not 0 <= estimate <= LEARNABLE.get(frequency, LEARNABLE["daily"]):
            return timing
        # the earliest seen: a late publication while learning must not set the plan
        plan = estimate if timing.plan is None else min(timing.plan, estimate)
        return dataclasses.replace(timing, plan=plan, samples=timing.samples + 1)
    if missed is None:  # out by the first look: look earlier next time
        return dataclasses.replace(timing, plan=max(0, timing.plan - EARLIER))
    latest = LEARNABLE.get(frequency, LEARNABLE["daily"])
    return dataclasses.replace(timing, plan=min(latest, timing.plan + LATER))
