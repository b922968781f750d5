"""How the server reads the warehouse without ever holding up the pipeline, and the pipeline
never holds up the server.

PostgreSQL: the warehouse itself (MVCC: readers and writers do not block each other).

DuckDB: a file is written by one process at a time, and a reader holds the file's lock too: a
reader in another process makes every writer wait, and a writer makes every reader wait. So the
server never opens the pipeline's file. It reads a private snapshot: a byte copy of the file (and
its write-ahead log) taken when the file has been quiet for a moment and unchanged during the copy,
which is the state a crash at that moment would leave, and DuckDB recovers that state by design.
A plain file copy takes no lock, so a sync never waits for the server. The copy is opened once to
replay its log, then read-only through a connection pool; a newer copy replaces it when the source
changes, and the old one is deleted when its last reader is done. Reads lag a sync by at most the
refresh interval plus the file's busy time; they never fail because of it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import sqlalchemy as sa
from sqlalchemy.pool import QueuePool

from musiccharts_pipeline.warehouse import Warehouse

log = logging.getLogger(__name__)


class WarehouseUnavailable(RuntimeError):
    """No readable copy of the warehouse yet (answered as 503)."""


class SnapshotWarehouse(Warehouse):
    """A Warehouse over a snapshot file that no other process opens: read-only connections,
    pooled (the pipeline's Warehouse never pools on DuckDB, to release the file between
    transactions; nobody else wants this file)."""

    def __init__(self, url: str, pool_size: int = 16, max_overflow: int = 48):
        super().__init__(url)
        self.engine.dispose()
        self.engine = sa.create_engine(
            url,
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args={"read_only": True},
        )


class DirectReader:
    """PostgreSQL: reads and writes go to the warehouse itself."""

    def __init__(self, url: str):
        self.writer = Warehouse(url)
        self.kind = self.writer.backend

    @contextlib.contextmanager
    def read(self) -> Iterator[Warehouse]:
        yield self.writer

    def refresh(self, wait: float = 0.0) -> bool:
        return True

    def status(self) -> dict:
        return {}

    def start(self) -> None:
        pass

    def close(self) -> None:
        self.writer.engine.dispose()


@dataclasses.dataclass(eq=False)
class _Snapshot:
    path: Path
    warehouse: SnapshotWarehouse
    signature: tuple
    taken_at: float
    users: int = 0
    retired: bool = False


def _signature(path: Path) -> tuple | None:
    """What changes whenever DuckDB writes the file or its log: inode, size, mtime of both."""
    parts = []
    for name in (path, Path(f"{path}.wal")):
        try:
            st = os.stat(name)
        except FileNotFoundError:
            if name == path:
                return None
            parts.append(None)
            continue
        parts.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(parts)


def _last_write(signature: tuple) -> float:
    return max(part[2] for part in signature if part) / 1e9


class SnapshotReader:
    """DuckDB: reads go to a private snapshot, refreshed in the background; writes (the
    subscriptions) go to the pipeline's file through the Warehouse, which waits for the lock."""

    kind = "duckdb"

    def __init__(
        self,
        url: str,
        interval: float = 1.0,
        quiet: float = 0.2,
        directory: str | os.PathLike | None = None,
    ):
        self.writer = Warehouse(url)
        database = sa.engine.make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("serving a DuckDB warehouse needs a file, not an in-memory database")
        self.source = Path(database).resolve()
        #: how often the source is checked, and how long it must have been quiet before a copy
        #: (longer than the file system's mtime granularity, so a write during the copy shows)
        self.interval, self.quiet = interval, quiet
        self._parent = directory
        self._dir: Path | None = None  # made with the first snapshot, removed by close()
        self._lock = threading.Lock()  # guards _current and the users counts
        self._refresh_lock = threading.Lock()  # one copy at a time
        self._current: _Snapshot | None = None
        self._generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0
        self.discarded_copies = 0

    # -- reading ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def read(self) -> Iterator[Warehouse]:
        with self._lock:
            snap = self._current
            if snap is None:
                raise WarehouseUnavailable(
                    "the warehouse has no readable snapshot yet: the file is being written "
                    "continuously or does not exist; try again in a few seconds"
                )
            snap.users += 1
        try:
            yield snap.warehouse
        finally:
            with self._lock:
                snap.users -= 1
                done = snap.retired and snap.users == 0
            if done:
                self._discard(snap)

    def status(self) -> dict:
        snap = self._current
        return {
            "snapshot_age_seconds": None if snap is None else round(time.time() - snap.taken_at, 3),
            "snapshot_refreshes": self.refreshes,
        }

    # -- refreshing ---------------------------------------------------------------------------

    def refresh(self, wait: float = 0.0) -> bool:
        """Take a new snapshot if the source changed since the current one; True when the
        snapshot is current. Tries for up to ``wait`` seconds while the source is busy."""
        deadline = time.monotonic() + wait
        with self._refresh_lock:
            while True:
                signature = _signature(self.source)
                current = self._current
                if signature is not None and current and signature == current.signature:
                    return True
                if signature is not None:
                    idle = time.time() - _last_write(signature)
                    if idle >= self.quiet:
                        snap = self._copy(signature)
                        if snap is not None:
                            self._swap(snap)
                            return True
                    else:
                        time.sleep(min(self.quiet - idle, 0.05))
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.02)

    def _copy(self, signature: tuple) -> _Snapshot | None:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="musiccharts-serve-", dir=self._parent))
        self._generation += 1
        # under the source's own file name (in a directory per generation): DuckDB names a
        # database after its file, and a view's SQL keeps that name, so the dbt views
        # (album_performance, catalogue_songs) read in the copy only under the same name
        folder = self._dir / f"snapshot-{self._generation}"
        folder.mkdir()
        target = folder / Path(self.source).name
        shutil.copyfile(self.source, target)
        if signature[1] is not None:
            with contextlib.suppress(FileNotFoundError):
                shutil.copyfile(f"{self.source}.wal", f"{target}.wal")
        if _signature(self.source) != signature:  # written during the copy: not a crash state
            self._remove(target)
            self.discarded_copies += 1
            return None
        try:
            # replay the copied log into the copy, so the read-only connections need not
            con = duckdb.connect(str(target))
            try:
                con.execute("CHECKPOINT")
            finally:
                con.close()
        except duckdb.Error as exc:
            log.warning("discarded a warehouse snapshot that does not open: %s", exc)
            self._remove(target)
            self.discarded_copies += 1
            return None
        self.refreshes += 1
        return _Snapshot(target, SnapshotWarehouse(f"duckdb:///{target}"), signature, time.time())

    def _swap(self, snap: _Snapshot) -> None:
        with self._lock:
            old, self._current = self._current, snap
            done = old is not None and old.users == 0
            if old is not None:
                old.retired = True
        if done:
            self._discard(old)

    def _discard(self, snap: _Snapshot) -> None:
        snap.warehouse.engine.dispose()
        self._remove(snap.path)

    @staticmethod
    def _remove(path: Path) -> None:
        for name in (path, Path(f"{path}.wal")):
            with contextlib.suppress(FileNotFoundError):
                name.unlink()
        with contextlib.suppress(OSError):  # its generation's directory, once empty
            path.parent.rmdir()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Refresh in the background every ``interval`` seconds."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.refresh()
                except Exception:  # a bad copy must not end the refresher
                    log.exception("warehouse snapshot refresh failed")

        self._thread = threading.Thread(target=loop, name="warehouse-snapshot", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            snap, self._current = self._current, None
        if snap is not None:
            self._discard(snap)
        self.writer.engine.dispose()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def reader_for(url: str, **kwargs) -> DirectReader | SnapshotReader:
    backend = sa.engine.make_url(url).get_backend_name()
    return SnapshotReader(url, **kwargs) if backend == "duckdb" else DirectReader(url)
