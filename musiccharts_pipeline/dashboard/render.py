"""Render the dashboard from the dbt marts: one self-contained HTML file, charts as inline SVG
(no script, font or stylesheet to fetch, so it opens offline). No Dagster imports."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

import pandas as pd

from musiccharts_pipeline import clock
from musiccharts_pipeline.warehouse import Warehouse

MARTS = (
    "rankings_fetched_daily",
    "top_platforms",
    "top_tracks",
    "chart_health",
    "chart_latest_rankings",
    "artist_analytics",
    "genre_popularity",
    "catalogue_songs",
)
PALETTE = ["#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#dc2626", "#ca8a04"]


def load_marts(wh: Warehouse, schema: str = "analytics") -> dict[str, pd.DataFrame]:
    return {name: wh.read_frame(f"SELECT * FROM {schema}.{name}") for name in MARTS}


def _e(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return html.escape(str(value))


def area_chart(
    labels: Sequence[str], values: Sequence[float], name: str, width: int = 640, height: int = 220
) -> str:
    pad, n = 36, max(len(values), 1)
    top = max([float(v) for v in values] + [1.0])
    step = (width - 2 * pad) / max(n - 1, 1)
    pts = [
        (pad + i * step, height - pad - (float(v) / top) * (height - 2 * pad))
        for i, v in enumerate(values)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    area = f"{pad},{height - pad} {line} {pad + (n - 1) * step:.1f},{height - pad}"
    ticks = "".join(
        f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle">{_e(lab)}</text>'
        f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" class="v">{_e(v)}</text>'
        for (x, y), lab, v in zip(pts, labels, values, strict=True)
    )
    return (
        f'<svg class="chart" data-chart="{_e(name)}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_e(name)}">'
        f'<polygon points="{area}" fill="{PALETTE[0]}" fill-opacity="0.25"/>'
        f'<polyline points="{line}" fill="none" stroke="{PALETTE[0]}" stroke-width="3"/>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        f'stroke="#94a3b8"/>{ticks}</svg>'
    )


def bar_chart(
    labels: Sequence[str], values: Sequence[float], name: str, width: int = 640, row: int = 26
) -> str:
    pad_left, height = 170, row * max(len(values), 1) + 10
    top = max([float(v) for v in values] + [1.0])
    bars = "".join(
        f'<text x="{pad_left - 8}" y="{i * row + 18}" text-anchor="end">{_e(lab)}</text>'
        f'<rect x="{pad_left}" y="{i * row + 4}" height="{row - 8}" '
        f'width="{max(2.0, (float(v) / top) * (width - pad_left - 70)):.1f}" '
        f'fill="{PALETTE[i % len(PALETTE)]}" rx="3"/>'
        f'<text x="{pad_left + (float(v) / top) * (width - pad_left - 70) + 6:.1f}" '
        f'y="{i * row + 18}" class="v">{_e(v)}</text>'
        for i, (lab, v) in enumerate(zip(labels, values, strict=True))
    )
    return (
        f'<svg class="chart" data-chart="{_e(name)}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_e(name)}">{bars}</svg>'
    )


def table(frame: pd.DataFrame, columns: Sequence[str], name: str) -> str:
    head = "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_e(r.get(c))}</td>" for c in columns) + "</tr>"
        for r in frame.to_dict("records")
    )
    return (
        f'<table data-table="{_e(name)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


MOVES = {"new": "★ new", "re_entry": "↺ re-entry", "up": "▲", "down": "▼", "same": "="}


def incidents_section(incidents: Sequence | None) -> str:
    """The open alert incidents (rows of ``alerts.state.IncidentRow``), newest first."""
    if incidents is None:
        return ""
    if not incidents:
        return '<section><h2>Open incidents</h2><p class="moves">No open incident.</p></section>'
    frame = pd.DataFrame(
        [
            {
                "opened": pd.Timestamp(row.opened_at).strftime("%Y-%m-%d %H:%M UTC"),
                "rule": row.rule.replace("_", " "),
                "subject": row.subject,
                "cause": row.cause,
            }
            for row in sorted(incidents, key=lambda row: row.opened_at, reverse=True)
        ]
    )
    return (
        f"<section><h2>Open incidents ({len(frame)})</h2>"
        + table(frame, ["opened", "rule", "subject", "cause"], "open_incidents")
        + "</section>"
    )


def render(
    marts: dict[str, pd.DataFrame],
    generated_at: dt.datetime | None = None,
    incidents: Sequence | None = None,
) -> str:
    """The dashboard page: KPIs, open incidents, then a section per mart."""
    generated_at = generated_at or clock.now().replace(tzinfo=dt.timezone.utc)
    sections = [
        kpis_section(marts),
        incidents_section(incidents),
        rankings_fetched_section(marts),
        platforms_section(marts),
        top_tracks_section(marts),
        chart_health_section(marts),
        *latest_ranking_sections(marts),
        artists_section(marts),
        genres_section(marts),
        catalogue_section(marts),
    ]
    return page(sections, generated_at)


def _section(title: str, *body: str) -> str:
    return f"<section><h2>{title}</h2>{''.join(body)}</section>"


def _daily(marts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return marts["rankings_fetched_daily"].sort_values("fetched_date")


def kpis_section(marts: dict[str, pd.DataFrame]) -> str:
    """Rankings fetched this week and against the previous one, charts healthy, charts."""
    daily, health = _daily(marts), marts["chart_health"]
    this_week = int(daily.this_week.iloc[0]) if len(daily) else 0
    wow = daily.week_over_week_pct.iloc[0] if len(daily) else None
    wow_text = "n/a" if wow is None or pd.isna(wow) else f"{float(wow):+.1f}%"
    health_pct = float(health.health_pct.iloc[0]) if len(health) else 0.0
    return (
        '<section class="kpis">'
        f"<div><b>{this_week}</b><span>rankings fetched this week</span></div>"
        f"<div><b>{_e(wow_text)}</b><span>versus the previous week</span></div>"
        f"<div><b>{health_pct:.0f}%</b><span>charts healthy</span></div>"
        f"<div><b>{len(health)}</b><span>charts</span></div></section>"
    )


def rankings_fetched_section(marts: dict[str, pd.DataFrame]) -> str:
    daily = _daily(marts)
    return _section(
        "Rankings fetched, last 7 days",
        area_chart(
            [pd.Timestamp(d).strftime("%a %d") for d in daily.fetched_date],
            [int(v) for v in daily.rankings_fetched],
            "rankings_fetched",
        ),
    )


def platforms_section(marts: dict[str, pd.DataFrame]) -> str:
    platforms = marts["top_platforms"].sort_values("rankings", ascending=False)
    return _section(
        "Top platforms, last month",
        bar_chart(list(platforms.platform), [int(v) for v in platforms.rankings], "top_platforms"),
    )


def top_tracks_section(marts: dict[str, pd.DataFrame]) -> str:
    tracks = (
        marts["top_tracks"]
        .sort_values(["chart_appearances", "best_position"], ascending=[False, True])
        .head(10)
    )
    return _section(
        "Top tracks by chart appearances",
        table(
            tracks,
            ["track_name", "artist_name", "chart_appearances", "charts", "best_position"],
            "top_tracks",
        ),
    )


HEALTH_COLUMNS = [
    "chart_slug",
    "platform",
    "frequency",
    "latest_ranking_date",
    "sync_state",
    "is_active",
    "is_overdue",
    "sync_success_pct",
    "mean_sync_seconds",
]


def chart_health_section(marts: dict[str, pd.DataFrame]) -> str:
    health = marts["chart_health"].sort_values("chart_slug")
    return _section("Chart health", table(health, HEALTH_COLUMNS, "chart_health"))


LATEST_COLUMNS = [
    "position",
    "track_name",
    "artist_name",
    "move",
    "position_change",
    "peak_position",
]


def latest_ranking_sections(marts: dict[str, pd.DataFrame]) -> list[str]:
    """One section per chart: its latest ranking's top ten, with the moves summed up."""
    sections = []
    for slug, frame in marts["chart_latest_rankings"].groupby("chart_slug"):
        frame = frame.sort_values("position")
        first = frame.iloc[0]
        moves = frame.assign(move=[MOVES.get(m, m) for m in frame.movement]).head(10)
        sections.append(
            _section(
                f"{_e(slug)} — {_e(pd.Timestamp(first.ranking_date).date())}",
                f'<p class="moves">{int(first.new_entries)} new · {int(first.re_entries)} '
                f"re-entries · {int(first.moving_up)} up · {int(first.moving_down)} down · "
                f"{int(first.unchanged)} unchanged</p>",
                table(moves, LATEST_COLUMNS, f"latest_{slug}"),
            )
        )
    return sections


def artists_section(marts: dict[str, pd.DataFrame]) -> str:
    """The ten artists with the most chart days, each once over its charts."""
    artist_rows = (
        marts["artist_analytics"]
        .groupby(["artist_uuid", "artist_name"], dropna=False)
        .agg(
            tracks_charting=("tracks_charting", "max"),
            best_position=("best_position", "min"),
            chart_days=("chart_days", "max"),
            follower_growth=("follower_growth", "sum"),
        )
        .reset_index()
        .sort_values("chart_days", ascending=False)
        .head(10)
    )
    return _section(
        "Artists",
        table(
            artist_rows,
            ["artist_name", "tracks_charting", "best_position", "chart_days", "follower_growth"],
            "artists",
        ),
    )


def genres_section(marts: dict[str, pd.DataFrame]) -> str:
    genres = (
        marts["genre_popularity"]
        .groupby("root_genre")
        .chart_entries.sum()
        .sort_values(ascending=False)
        .head(8)
    )
    return _section(
        "Genres in the charts",
        bar_chart(list(genres.index), [int(v) for v in genres.values], "genres"),
    )


def catalogue_section(marts: dict[str, pd.DataFrame]) -> str:
    """The label's own songs: the fastest audience growth this week, and those that charted."""
    songs = marts.get("catalogue_songs")
    if songs is None or songs.empty:
        return _section(
            "Catalogue",
            "<p>Nothing watched yet: <code>musiccharts watch artist UUID</code>, "
            "<code>watch isrc ISRC…</code> or <code>watch import FILE.csv</code>.</p>",
        )
    growing = songs.sort_values(["growth_7d", "track_uuid"], ascending=[False, True]).head(10)
    charted = songs[songs.chart_entries > 0].sort_values(["best_position", "track_uuid"])
    columns = ["track_name", "artist_name", "release_date", "growth_7d", "charts", "best_position"]
    return _section(
        "Catalogue",
        f"<p>{len(songs)} watched song(s); {len(charted)} entered a chart.</p>",
        "<h3>Fastest audience growth, last 7 days</h3>",
        table(growing, columns, "catalogue_growth"),
        "<h3>In the charts</h3>",
        table(charted.head(20), columns + ["first_charted"], "catalogue_charted")
        if len(charted)
        else "<p>None of the watched songs has entered a stored chart.</p>",
    )


def page(sections: list[str], generated_at: dt.datetime) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>musiccharts dashboard</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0;background:#f8fafc;color:#0f172a}}
header{{background:#0f172a;color:#fff;padding:16px 28px}}
main{{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:18px;padding:18px}}
section{{background:#fff;border-radius:10px;padding:14px 18px;box-shadow:0 1px 3px #0002}}
h2{{font-size:16px;margin:0 0 10px}} table{{border-collapse:collapse;width:100%;font-size:13px}}
td,th{{text-align:left;padding:4px 6px;border-bottom:1px solid #e2e8f0}}
svg{{width:100%;height:auto;font-size:12px}} .v{{fill:#334155;font-size:11px}}
.kpis{{display:flex;gap:24px;grid-column:1/-1}} .kpis div{{display:flex;flex-direction:column}}
.kpis b{{font-size:28px}} .kpis span{{color:#64748b}} .moves{{color:#475569;margin:0 0 8px}}
</style></head><body>
<header><h1>musiccharts</h1><small>generated {_e(generated_at.strftime("%Y-%m-%d %H:%M UTC"))}
from the dbt marts</small></header>
<main>{"".join(sections)}</main></body></html>
"""
