"""`musiccharts watch …`: the label's own artists, songs and ISRCs."""

from __future__ import annotations

import argparse
import sys

from musiccharts_pipeline.cli.common import (
    QUIET_CONSOLE,
    CliError,
    _instance,
    _print_table,
    _warehouse,
)


def _cmd_watch_add(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.sync import watchlist

    try:
        entries = [watchlist.parse(args.kind, value) for value in args.ids]
    except watchlist.WatchError as exc:
        raise CliError(str(exc)) from None
    added, already = watchlist.add(_warehouse(), entries, "cli")
    for entry in added:
        print(f"watching {entry.kind} {entry.ident}")
    for entry in already:
        print(f"already watched: {entry.kind} {entry.ident}")
    print("fetched by the next watchlist run (daily), or now: `musiccharts watch sync`")
    return 0


def read_import_file(path: str) -> str:
    """An import file's text, or a one-line error naming it."""
    try:
        return open(path, encoding="utf-8-sig").read()  # noqa: SIM115 - read at once
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text") from None


def _cmd_watch_import(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.sync import watchlist

    text = read_import_file(args.file)
    try:
        report = watchlist.import_csv(_warehouse(), text)
    except watchlist.WatchError as exc:
        raise CliError(f"{args.file}: {exc}") from None
    for line, why in report.bad[:20]:
        print(f"line {line}: {why}", file=sys.stderr)
    if len(report.bad) > 20:
        print(f"... and {len(report.bad) - 20} more bad rows", file=sys.stderr)
    if report.duplicates:
        shown = ", ".join(map(str, report.duplicates[:10]))
        print(
            f"duplicate rows skipped (lines {shown}{', …' if len(report.duplicates) > 10 else ''})"
        )
    print(f"{args.file}: {report.summary()}")
    return 0


def _cmd_watch_list(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.sync import watchlist

    frame = watchlist.listing(_warehouse())
    if frame.empty:
        print("nothing watched yet: `musiccharts watch artist UUID`, `watch isrc ISRC…`")
        return 0
    _print_table(
        frame.to_dict("records"),
        ["kind", "ident", "status", "song_uuid", "songs_listed", "listed_at", "added_at"],
    )
    return 0


def _cmd_watch_remove(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.sync import watchlist

    try:
        entry = watchlist.parse(args.kind, args.id)
        watchlist.remove(_warehouse(), entry)
    except watchlist.WatchError as exc:
        raise CliError(str(exc)) from None
    print(f"no longer watching {entry.kind} {entry.ident} (what was fetched stays)")
    return 0


def _cmd_watch_sync(args: argparse.Namespace) -> int:
    """The watchlist job now, in one run (what is due only)."""
    import dagster as dg

    from musiccharts_pipeline.assets.watchlist import WATCHLIST_ASSETS
    from musiccharts_pipeline.resources import resources_from_env

    result = dg.materialize(
        WATCHLIST_ASSETS,
        resources=resources_from_env(),
        instance=_instance(),
        raise_on_error=False,
        run_config=QUIET_CONSOLE,
    )
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        shown = {k: getattr(v, "value", v) for k, v in meta.items() if not k.endswith("route")}
        print(f"{event.asset_key.to_user_string()}: {shown}")
    print(f"watchlist: {'ok' if result.success else 'FAILED'} (run {result.run_id})")
    return 0 if result.success else 1
