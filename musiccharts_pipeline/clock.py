"""The one clock: the sync code, the sensors, the alerts and the simulator read the time here.

In production it is the wall clock (naive UTC). A test or the soak benchmark sets it to a
simulated instant and advances it, so a month of operation runs in minutes and every part of
the project agrees on what "now" is. It is process-wide on purpose: a simulated clock that only
some modules read would be a second clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading

_lock = threading.Lock()
_simulated: dt.datetime | None = None


def now() -> dt.datetime:
    """The current instant, naive UTC."""
    current = _simulated
    if current is not None:
        return current
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def today() -> dt.date:
    return now().date()


def is_simulated() -> bool:
    return _simulated is not None


def set_time(when: dt.datetime | None) -> None:
    """Freeze the clock at ``when`` (naive UTC, or aware and converted); None: the wall clock."""
    global _simulated
    if when is not None and when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    with _lock:
        _simulated = when


def advance(delta: dt.timedelta) -> dt.datetime:
    """Move a simulated clock forward; refused on the wall clock, which moves by itself."""
    global _simulated
    with _lock:
        if _simulated is None:
            raise RuntimeError("advance() needs a simulated clock: call set_time() first")
        _simulated = _simulated + delta
        return _simulated


@contextlib.contextmanager
def simulated(when: dt.datetime):
    """The clock frozen at ``when`` inside the block, restored after."""
    before = _simulated
    set_time(when)
    try:
        yield
    finally:
        set_time(before)
