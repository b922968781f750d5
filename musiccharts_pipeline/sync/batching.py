"""What every entity sync shares: which entities are stale, batches of them, fetched concurrently,
and the outcome counts."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import pandas as pd

from musiccharts_pipeline.sync.rules import is_stale
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

BATCH = 200
WORKERS = 8
T = TypeVar("T")
R = TypeVar("R")


@dataclasses.dataclass
class EntityOutcome:
    considered: int = 0
    created: int = 0
    updated: int = 0
    fresh: int = 0
    missing: int = 0
    rows: int = 0
    uuids: list[str] = dataclasses.field(default_factory=list)

    def metadata(self) -> dict:
        return {
            "considered": self.considered,
            "created": self.created,
            "updated": self.updated,
            "skipped_fresh": self.fresh,
            "not_found": self.missing,
            "rows_written": self.rows,
        }

    def add(self, other: EntityOutcome) -> None:
        for f in ("considered", "created", "updated", "fresh", "missing", "rows"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.uuids.extend(other.uuids)

    def count_fetched(self, batch: Sequence[str], found: Sequence[str], known: set[str]) -> None:
        """Count a batch whose entities ``found`` came back (the rest were not found); those in
        ``known`` were updated, the others created."""
        self.missing += len(batch) - len(found)
        self.created += sum(1 for u in found if u not in known)
        self.updated += sum(1 for u in found if u in known)
        self.uuids.extend(found)

    def count_updated(self, batch: Sequence[str]) -> None:
        """Count a batch whose every entity was updated."""
        self.updated += len(batch)
        self.uuids.extend(batch)


def fetched_at(wh: Warehouse, table: str, column: str, uuids: Iterable[str]) -> dict:
    """The stored ``column`` of each uuid that has a row in ``table`` (None where it is null)."""
    uuids = sorted(set(uuids))
    if not uuids:
        return {}
    frame = wh.read_frame(
        f"SELECT uuid, {column} AS fetched FROM {SCHEMA}.{table} WHERE uuid IN :uuids",
        {"uuids": uuids},
    )
    return {
        row.uuid: (None if pd.isna(row.fetched) else pd.Timestamp(row.fetched).to_pydatetime())
        for row in frame.itertuples()
    }


def start_sync(
    wh: Warehouse,
    table: str,
    column: str,
    uuids: Iterable[str],
    now: dt.datetime,
    max_age: dt.timedelta,
) -> tuple[list[str], EntityOutcome, dict]:
    """How every entity sync starts: the uuids whose ``column`` is missing or older than
    ``max_age`` (to fetch, sorted), an outcome that counts them and the fresh rest, and the
    stored ``column`` of every uuid that already has a row (see ``fetched_at``)."""
    uuids = sorted(set(uuids))
    known = fetched_at(wh, table, column, uuids)
    todo = [u for u in uuids if is_stale(known.get(u), now, max_age)]
    return todo, EntityOutcome(considered=len(uuids), fresh=len(uuids) - len(todo)), known


def chunks(items: Sequence[T], size: int = BATCH) -> Iterable[Sequence[T]]:
    """Consecutive slices of at most ``size`` items: one write transaction each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fetch_concurrently(
    fetch: Callable[[T], R], items: Sequence[T], workers: int = WORKERS
) -> list[tuple[T, R]]:
    """Call ``fetch`` on every item from a thread pool (the client's rate ceiling still holds).

    The first error stops the batch: queued items are cancelled (only the calls already in flight
    finish), so a spent quota or a revoked key does not go on to fail every remaining item.
    """
    if not items:
        return []
    failed = threading.Event()

    def guarded(item: T) -> R:
        if failed.is_set():
            raise _Skipped
        try:
            return fetch(item)
        except BaseException:
            failed.set()
            raise

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items)))
    try:
        futures = [pool.submit(guarded, item) for item in items]
        concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    # items start in order, so a skipped or cancelled item always follows a real failure: the
    # first error in item order is a real one
    return [(item, future.result()) for item, future in zip(items, futures, strict=True)]


class _Skipped(Exception):
    """An item not fetched because an earlier one failed."""


def fetch_found(fetch: Callable[[T], R | None], batch: Sequence[T]) -> list[R]:
    """The results of ``fetch`` over ``batch``, concurrently, without the items not found."""
    return [result for _, result in fetch_concurrently(fetch, batch) if result is not None]
