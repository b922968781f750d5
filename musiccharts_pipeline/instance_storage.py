"""Dagster's PostgreSQL event log storage, with its pool slot bookkeeping serialized.

Dagster (1.13) claims a pool slot in three autocommit statements: it counts the steps already
assigned a slot, registers the step as assigned if that count is under the limit, then picks a
free slot row (``SELECT … FOR UPDATE SKIP LOCKED``) and writes the step into it by id. In
autocommit the row lock ends with the SELECT, so two runs claiming at the same moment can both
see room, pick the same free row and both proceed: three steps of the ``soundcharts_api`` pool
ran at once under a limit of two when eight syncs started together on a loaded machine
(test_concurrency). Here each claim and each release holds a PostgreSQL advisory lock, taken on a
connection of its own, so the claims of every process on the instance happen one at a time. The
storage is otherwise Dagster's own; the lock costs one round trip per claim and release.

The lock's connection comes from an engine that pools nothing, so closing it always ends the
session and with it the lock (the webserver swaps the storage's own engine for a pooled one).
A wait longer than ``LOCK_TIMEOUT`` is an error, never a hang; a thread already holding the lock
(one guarded method calling another) does not take it again.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from dagster_postgres import PostgresEventLogStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)
from sqlalchemy import pool

#: The advisory lock's key: any constant the instance's database uses for nothing else.
POOL_LOCK_KEY = 0x6D75_7369_6373_6C74  # "musicslt"
LOCK_TIMEOUT = "30s"


class PoolSafePostgresEventLogStorage(PostgresEventLogStorage):
    """``PostgresEventLogStorage`` whose concurrency slots are claimed and freed one at a time
    across processes. Configured like it (``postgres_db`` or ``postgres_url``)."""

    @classmethod
    def from_config_value(
        cls, inst_data, config_value: Mapping[str, Any]
    ) -> PoolSafePostgresEventLogStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )

    def __init__(self, postgres_url: str, *args, token_provider=None, **kwargs):
        super().__init__(postgres_url, *args, token_provider=token_provider, **kwargs)
        self._lock_engine = create_pg_engine(
            postgres_url, token_provider, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
        )
        self._held = threading.local()

    @contextlib.contextmanager
    def _slots_locked(self) -> Iterator[None]:
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        with self._lock_engine.connect() as conn:
            conn.execute(sa.text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": POOL_LOCK_KEY})
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": POOL_LOCK_KEY})

    def claim_concurrency_slot(self, concurrency_key, run_id, step_key, priority=None):
        with self._slots_locked():
            return super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)

    def free_concurrency_slot_for_step(self, run_id: str, step_key: str) -> None:
        with self._slots_locked():
            super().free_concurrency_slot_for_step(run_id, step_key)

    def free_concurrency_slots_for_run(self, run_id: str) -> None:
        with self._slots_locked():
            super().free_concurrency_slots_for_run(run_id)

    def set_concurrency_slots(self, concurrency_key: str, num: int) -> None:
        with self._slots_locked():
            super().set_concurrency_slots(concurrency_key, num)

    def initialize_concurrency_limit_to_default(self, concurrency_key: str) -> bool:
        with self._slots_locked():
            return super().initialize_concurrency_limit_to_default(concurrency_key)

    def delete_concurrency_limit(self, concurrency_key: str) -> None:
        with self._slots_locked():
            super().delete_concurrency_limit(concurrency_key)
