"""Chart rankings: fetch one chart's ranking for a date and land it atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient, errors
from musiccharts_pipeline.soundcharts import models as m
from musiccharts_pipeline.soundcharts.errors import ContractError
from musiccharts_pipeline.sync.batching import fetch_concurrently
from musiccharts_pipeline.sync.movement import classify, move_text
from musiccharts_pipeline.sync.rules import utcnow
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse


@dataclasses.dataclass
class RankingOutcome:
    slug: str
    date: dt.date
    status: str  # synced | not_published | already_stored
    entries: int = 0
    preview: list[dict] = dataclasses.field(default_factory=list)


def stored_dates(wh: Warehouse, slug: str) -> set[dt.date]:
    frame = wh.read_frame(
        f"SELECT ranking_date FROM {SCHEMA}.chart_rankings WHERE chart_slug = :slug",
        {"slug": slug},
    )
    return {pd.Timestamp(d).date() for d in frame.ranking_date}


def stored_stamps(wh: Warehouse, slug: str, since: dt.date) -> dict[dt.date, str]:
    """The datetime each stored ranking since ``since`` was listed with when it was fetched: a
    listing that shows another one for the date is a republished (corrected) ranking."""
    frame = wh.read_frame(
        f"SELECT ranking_date, ranking_datetime FROM {SCHEMA}.chart_rankings "
        "WHERE chart_slug = :slug AND ranking_date >= :since",
        {"slug": slug, "since": since},
    )
    return {pd.Timestamp(r.ranking_date).date(): r.ranking_datetime for r in frame.itertuples()}


def has_rankings(wh: Warehouse, slug: str) -> bool:
    """Whether any ranking of the chart is stored (one indexed lookup)."""
    return (
        wh.scalar(
            f"SELECT 1 FROM {SCHEMA}.chart_rankings WHERE chart_slug = :slug LIMIT 1",
            {"slug": slug},
        )
        is not None
    )


def songs_in(wh: Warehouse, slug: str, dates: list[dt.date]) -> list[str]:
    """The distinct songs of one chart's stored rankings on ``dates``, sorted."""
    frame = wh.read_frame(
        f"SELECT DISTINCT song_uuid FROM {SCHEMA}.chart_ranking_entries "
        "WHERE chart_slug = :slug AND ranking_date IN :dates",
        {"slug": slug, "dates": list(dates)},
    )
    return sorted(frame.song_uuid)


def songs_by_date(wh: Warehouse, slug: str, dates: list[dt.date]) -> dict[dt.date, list[str]]:
    """Each date's songs in one chart's stored rankings (one query)."""
    frame = wh.read_frame(
        f"SELECT DISTINCT ranking_date, song_uuid FROM {SCHEMA}.chart_ranking_entries "
        "WHERE chart_slug = :slug AND ranking_date IN :dates",
        {"slug": slug, "dates": list(dates)},
    )
    out: dict[dt.date, list[str]] = {}
    for date, song in zip(frame.ranking_date, frame.song_uuid, strict=True):
        out.setdefault(pd.Timestamp(date).date(), []).append(song)
    return {date: sorted(songs) for date, songs in out.items()}


def broken_positions(wh: Warehouse, keys: list[tuple[str, dt.date]]) -> list[tuple[str, dt.date]]:
    """The (chart, date) rankings among ``keys`` whose positions are not exactly 1..n, unique:
    one grouped query, however many rankings a backfill wrote."""
    if not keys:
        return []
    slugs = sorted({slug for slug, _ in keys})
    frame = wh.read_frame(
        f"SELECT chart_slug, ranking_date FROM {SCHEMA}.chart_ranking_entries "
        "WHERE chart_slug IN :slugs AND ranking_date IN :dates "
        "GROUP BY chart_slug, ranking_date "
        "HAVING min(position) <> 1 OR max(position) <> count(*) "
        "OR count(DISTINCT position) <> count(*)",
        {"slugs": slugs, "dates": sorted({date for _, date in keys})},
    )
    wanted = set(keys)
    found = {(r.chart_slug, pd.Timestamp(r.ranking_date).date()) for r in frame.itertuples()}
    return sorted(found & wanted)


def chart_frame(chart: m.Chart, now: dt.datetime) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "slug": chart.slug,
                "name": chart.name,
                "platform": chart.platform,
                "chart_type": chart.type,
                "frequency": chart.frequency,
                "country_code": chart.country_code,
                "country_name": chart.country_name,
                "max_results_count": chart.max_results_count,
                "metric_type": chart.metric.type if chart.metric else None,
                "raw_json": json.dumps(chart.raw, sort_keys=True),
                "updated_at": now,
            }
        ]
    )


def entries_frame(ranking: m.Ranking, slug: str, date: dt.date) -> pd.DataFrame:
    rows = [
        {
            "chart_slug": slug,
            "ranking_date": date,
            "position": e.position,
            "song_uuid": e.song.uuid,
            "song_name": e.song.name,
            "credit_name": e.song.credit_name,
            "old_position": e.old_position,
            "position_evolution": e.position_evolution,
            "metric": e.metric,
            "entry_state": e.entry_state,
            "entry_date": e.entry_date.date() if e.entry_date else None,
            "time_on_chart": e.time_on_chart,
            "time_on_chart_unit": e.time_on_chart_unit,
            "raw_json": json.dumps(e.raw, sort_keys=True),
        }
        for e in ranking.entries
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "chart_slug",
            "ranking_date",
            "position",
            "song_uuid",
            "song_name",
            "credit_name",
            "old_position",
            "position_evolution",
            "metric",
            "entry_state",
            "entry_date",
            "time_on_chart",
            "time_on_chart_unit",
            "raw_json",
        ],
    )


@dataclasses.dataclass
class Fetched:
    """What came back for one chart's published dates, sorted by date."""

    good: dict[dt.date, m.Ranking] = dataclasses.field(default_factory=dict)
    #: rankings that break the contract: each spoils only its own partition
    failed: list[tuple[dt.date, ContractError]] = dataclasses.field(default_factory=list)
    #: the first other failure, raised once the good rankings landed
    raised: Exception | None = None

    @classmethod
    def sort(cls, slug: str, results: dict[dt.date, m.Ranking | Exception]) -> Fetched:
        out = cls()
        for date, result in sorted(results.items()):
            if isinstance(result, m.Ranking) and result.ranking_date != date:
                result = ContractError(
                    f"ranking of {slug} for {date} came back dated {result.date}"
                )
            if isinstance(result, ContractError):
                out.failed.append((date, result))
            elif isinstance(result, Exception):
                out.raised = out.raised or result
            else:
                out.good[date] = result
        return out


def sync_rankings(
    client: SoundChartsClient,
    wh: Warehouse,
    slug: str,
    dates: list[dt.date],
    published: dict[dt.date, str],
    run_id: str,
    skip_stored: set[dt.date] = frozenset(),
) -> tuple[list[RankingOutcome], list[tuple[dt.date, ContractError]]]:
    """Land one chart's partitions for ``dates``. ``published`` maps each published date to its
    API datetime string (one cached available-rankings lookup per chart); other dates are empty
    partitions. Rankings are fetched concurrently and written in one transaction, so every
    partition is whole or absent. A ranking that breaks the contract spoils only its own
    partition (returned with its error); any other failure is raised once the good ones landed.
    """
    clock, started = time.monotonic(), utcnow()
    calls_before = client.stats()["total_calls"]
    todo = [d for d in dates if d not in skip_stored]
    quiet = [d for d in todo if d not in published]
    fetched = Fetched.sort(slug, fetch_rankings(client, slug, todo, published))
    now = utcnow()
    api_calls = client.stats()["total_calls"] - calls_before
    log = sync_log(fetched, quiet, api_calls).assign(
        run_id=run_id,
        chart_slug=slug,
        started_at=started,
        finished_at=utcnow(),
        duration_seconds=time.monotonic() - clock,
    )
    write_rankings(wh, slug, fetched.good, published, log, now)
    if fetched.raised is not None:
        raise fetched.raised
    outcomes = (
        [RankingOutcome(slug, d, "already_stored") for d in dates if d in skip_stored]
        + [synced_outcome(slug, d, r) for d, r in fetched.good.items()]
        + [RankingOutcome(slug, d, "not_published") for d in quiet]
    )
    return sorted(outcomes, key=lambda o: o.date), fetched.failed


def sync_log(fetched: Fetched, quiet: list[dt.date], api_calls: int) -> pd.DataFrame:
    """chart_sync_log rows of each date: synced (the run's calls shared among them), not
    published, or failed with its error."""
    good = fetched.good
    return pd.DataFrame(
        [
            {
                "status": "success",
                "published": True,
                "ranking_date": d,
                "entry_count": len(r.entries),
                "api_calls": api_calls // max(len(good), 1),
            }
            for d, r in good.items()
        ]
        + [
            {
                "status": "not_published",
                "published": False,
                "ranking_date": d,
                "entry_count": 0,
                "api_calls": 0,
            }
            for d in quiet
        ]
        + [
            {"status": "failed", "published": True, "ranking_date": d, "error": str(exc)[:1000]}
            for d, exc in fetched.failed
        ],
        columns=["status", "published", "ranking_date", "entry_count", "api_calls", "error"],
    )


def rankings_frame(
    slug: str, good: dict[dt.date, m.Ranking], published: dict[dt.date, str], now: dt.datetime
) -> pd.DataFrame:
    """One row per ranking; ``ranking_datetime`` is the datetime available-rankings listed it
    with (what a later listing is compared with to see a republication)."""
    return pd.DataFrame(
        [
            {
                "chart_slug": slug,
                "ranking_date": d,
                "ranking_datetime": published.get(d, r.date),
                "entry_count": len(r.entries),
                "fetched_at": now,
            }
            for d, r in good.items()
        ]
    )


def write_rankings(
    wh: Warehouse,
    slug: str,
    good: dict[dt.date, m.Ranking],
    published: dict[dt.date, str],
    log: pd.DataFrame,
    now: dt.datetime,
) -> None:
    """One transaction: the chart (from its latest ranking), the rankings, their entries
    (replacing those of the same partitions), and the sync log."""
    with wh.transaction() as conn:
        if good:
            latest = good[max(good)]
            wh.upsert(chart_frame(latest.chart, now), "charts", ["slug"], conn=conn)
            wh.upsert(
                rankings_frame(slug, good, published, now),
                "chart_rankings",
                ["chart_slug", "ranking_date"],
                conn=conn,
            )
            wh.replace_partitions(
                pd.concat([entries_frame(r, slug, d) for d, r in good.items()]),
                "chart_ranking_entries",
                ["chart_slug", "ranking_date"],
                conn=conn,
            )
        wh.upsert(log, "chart_sync_log", ["run_id", "chart_slug", "ranking_date"], conn=conn)


def synced_outcome(slug: str, date: dt.date, ranking: m.Ranking) -> RankingOutcome:
    """A landed ranking, with a preview of its first ten entries."""
    preview = [
        {
            "position": e.position,
            "song": e.song.name,
            "artist": e.song.credit_name,
            "old_position": e.old_position,
            "entry_state": e.entry_state,
        }
        for e in ranking.entries[:10]
    ]
    return RankingOutcome(slug, date, "synced", len(ranking.entries), preview)


def movement(row: dict) -> str:
    """A preview row's move (``+3``, ``-2``, ``=``, ``new``, ``re-entry``) by the one movement
    rule, against the API's own old position: the preview knows no stored history."""
    old = row.get("old_position")
    label = classify(row["position"], old, False, row.get("entry_state"))
    return move_text(label, None if old is None else old - row["position"])


def preview_markdown(outcome: RankingOutcome) -> str:
    lines = [
        f"**{outcome.slug}** on {outcome.date}",
        "",
        "| # | track | artist | move |",
        "|---|---|---|---|",
    ]
    for row in outcome.preview:
        song = str(row["song"] or "").replace("|", "\\|")
        artist = str(row["artist"] or "").replace("|", "\\|")
        lines.append(f"| {row['position']} | {song} | {artist} | {movement(row)} |")
    return "\n".join(lines)


def fetch_rankings(
    client: SoundChartsClient, slug: str, dates: list[dt.date], published: dict[dt.date, str]
) -> dict[dt.date, m.Ranking | Exception]:
    """Fetch the published rankings of ``dates`` concurrently (within the client's ceiling);
    a failure is returned in place of its ranking so each partition fails on its own."""
    fatal: list[Exception] = []  # a spent quota or refused key fails every date: ask no more

    def attempt(date: dt.date) -> m.Ranking | Exception:
        if fatal:
            return fatal[0]
        try:
            return client.ranking(slug, published[date])
        except (errors.QuotaExhausted, errors.AuthError) as exc:
            fatal.append(exc)
            return exc
        except Exception as exc:  # noqa: BLE001 - handed back to sync_rankings
            return exc

    return dict(fetch_concurrently(attempt, [d for d in dates if d in published]))
