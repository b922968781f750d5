"""Incident state in the warehouse: what is open, what was sent, and the evaluation's cursors.

Kept in the warehouse (not only in a sensor cursor) so that it survives a daemon restart, and
so that the sensors, `musiccharts alerts check` and the dashboard all see the same incidents.
A notice is marked sent before it is posted and unmarked if the post fails: a crash in between
loses a notice rather than sending it twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from musiccharts_pipeline.alerts.rules import Incident
from musiccharts_pipeline.sync.rules import utcnow
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

INCIDENTS = f"{SCHEMA}.alert_incidents"
STATE = f"{SCHEMA}.alert_state"
OPENED, RESOLVED = "opened", "resolved"
#: PostgreSQL advisory lock: one writer of the alert state at a time (sensors and the CLI).
_LOCK_ID = 0x616C6572

_COLUMNS = (
    "incident_key, opened_at, rule, subject, cause, link, resolved_at, resolution, "
    "open_sent_at, resolved_sent_at, attempts, last_error"
)


@dataclasses.dataclass(frozen=True)
class IncidentRow:
    incident_key: str
    opened_at: dt.datetime
    rule: str
    subject: str
    cause: str
    link: str | None
    resolved_at: dt.datetime | None
    resolution: str | None
    open_sent_at: dt.datetime | None
    resolved_sent_at: dt.datetime | None
    attempts: int
    last_error: str | None


@dataclasses.dataclass(frozen=True)
class Notice:
    """One message due about one incident: its opening or its resolution."""

    kind: str  # OPENED | RESOLVED
    incident: IncidentRow


def _rows(frame: pd.DataFrame) -> list[IncidentRow]:
    out = []
    for record in frame.to_dict("records"):
        clean = {k: (None if _missing(v) else v) for k, v in record.items()}
        for name in ("opened_at", "resolved_at", "open_sent_at", "resolved_sent_at"):
            if clean[name] is not None:
                clean[name] = pd.Timestamp(clean[name]).to_pydatetime()
        clean["attempts"] = int(clean["attempts"] or 0)
        out.append(IncidentRow(**clean))
    return out


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class IncidentStore:
    def __init__(self, wh: Warehouse):
        self.wh = wh

    # -- reading ------------------------------------------------------------------------------

    def open_incidents(self, conn: Connection | None = None) -> list[IncidentRow]:
        frame = self.wh.read_frame(
            f"SELECT {_COLUMNS} FROM {INCIDENTS} WHERE resolved_at IS NULL "
            "ORDER BY opened_at, incident_key",
            conn=conn,
        )
        return _rows(frame)

    def incidents(self, keys: Iterable[str]) -> list[IncidentRow]:
        """Every incident (open or not) with one of ``keys``, oldest first."""
        keys = sorted(set(keys))
        if not keys:
            return []
        frame = self.wh.read_frame(
            f"SELECT {_COLUMNS} FROM {INCIDENTS} WHERE incident_key IN :keys "
            "ORDER BY opened_at, incident_key",
            {"keys": keys},
        )
        return _rows(frame)

    def pending(self) -> list[Notice]:
        """Notices not sent yet: openings of open incidents, and resolutions of incidents whose
        opening was sent (an incident that came and went unannounced is not announced)."""
        frame = self.wh.read_frame(
            f"SELECT {_COLUMNS} FROM {INCIDENTS} "
            "WHERE (resolved_at IS NULL AND open_sent_at IS NULL) "
            "OR (resolved_at IS NOT NULL AND open_sent_at IS NOT NULL "
            "AND resolved_sent_at IS NULL) "
            "ORDER BY opened_at, incident_key"
        )
        return [Notice(RESOLVED if r.resolved_at else OPENED, r) for r in _rows(frame)]

    def state(self, name: str) -> dict:
        value = self.wh.scalar(f"SELECT value FROM {STATE} WHERE name = :n", {"n": name})
        return json.loads(value) if value else {}

    # -- writing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Connection]:
        """A transaction holding the alert-state lock (PostgreSQL; DuckDB has one writer)."""
        with self.wh.transaction() as conn:
            if self.wh.backend == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            yield conn

    def apply(
        self,
        opened: Iterable[Incident] = (),
        resolved: dict[str, str] | None = None,
        state: dict[str, dict] | None = None,
        now: dt.datetime | None = None,
    ) -> tuple[list[str], list[str]]:
        """Open the incidents not open yet, resolve the open ones in ``resolved`` (key -> why),
        and save ``state`` (name -> JSON-able), in one transaction. Returns the keys newly
        opened and newly resolved."""
        now = now or utcnow()
        resolved = dict(resolved or {})
        new, cleared = [], []
        with self._locked() as conn:
            already = {r.incident_key for r in self.open_incidents(conn)}
            for key, why in sorted(resolved.items()):
                if key in already:
                    self.wh.execute(
                        f"UPDATE {INCIDENTS} SET resolved_at = :t, resolution = :why "
                        "WHERE incident_key = :k AND resolved_at IS NULL",
                        {"t": now, "why": why, "k": key},
                        conn,
                    )
                    cleared.append(key)
                    already.discard(key)
            for incident in opened:
                if incident.key in already:
                    continue
                self.wh.execute(
                    f"INSERT INTO {INCIDENTS} (incident_key, opened_at, rule, subject, cause, "
                    "link, attempts) VALUES (:k, :t, :rule, :subject, :cause, :link, 0)",
                    {
                        "k": incident.key,
                        "t": now,
                        "rule": incident.rule,
                        "subject": incident.subject,
                        "cause": incident.cause,
                        "link": incident.link,
                    },
                    conn,
                )
                already.add(incident.key)
                new.append(incident.key)
            for name, value in (state or {}).items():
                self.wh.execute(
                    f"INSERT INTO {STATE} (name, value, updated_at) VALUES (:n, :v, :t) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    {"n": name, "v": json.dumps(value, sort_keys=True), "t": now},
                    conn,
                )
        return new, cleared

    def claim(self, notices: list[Notice], now: dt.datetime) -> list[Notice]:
        """Mark ``notices`` sent, keeping those no one else marked first."""
        claimed = []
        with self._locked() as conn:
            for notice in notices:
                column = _sent_column(notice.kind)
                count = self.wh.execute(
                    f"UPDATE {INCIDENTS} SET {column} = :t, attempts = attempts + 1 "
                    f"WHERE incident_key = :k AND opened_at = :o AND {column} IS NULL",
                    {"t": now, "k": notice.incident.incident_key, "o": notice.incident.opened_at},
                    conn,
                )
                if count:
                    claimed.append(notice)
        return claimed

    def settle(self, notices: list[Notice], error: str | None) -> None:
        """After the post: keep the marks (``error`` None), or unmark for the next evaluation."""
        with self._locked() as conn:
            for notice in notices:
                unsent = f", {_sent_column(notice.kind)} = NULL" if error else ""
                self.wh.execute(
                    f"UPDATE {INCIDENTS} SET last_error = :e{unsent} "
                    "WHERE incident_key = :k AND opened_at = :o",
                    {"e": error, "k": notice.incident.incident_key, "o": notice.incident.opened_at},
                    conn,
                )


def _sent_column(kind: str) -> str:
    return {OPENED: "open_sent_at", RESOLVED: "resolved_sent_at"}[kind]
