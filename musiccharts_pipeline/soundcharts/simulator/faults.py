"""What stands between a request and its answer: the quota, the per-minute limit, and injected
faults (429s, 5xx, connection resets, truncated bodies, slow responses), drawn from a seeded RNG."""

from __future__ import annotations

import collections
import math
import random
import threading
import time

from musiccharts_pipeline.soundcharts.simulator.errors import ApiError

FAULT_KINDS = ("rate_limit", "quota", "server_error", "reset", "truncate", "slow")


def parse_faults(text: str) -> dict[str, float]:
    """``"rate_limit=0.02,server_error=0.03"`` -> probabilities per fault kind."""
    faults = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, prob = part.partition("=")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        faults[kind] = float(prob)
    return faults


class Gate:
    """Quota, per-minute limit and fault draws, guarded by the simulator's lock.

    ``config`` is the simulator's :class:`SimulatorConfig` (its ``faults`` can change at run
    time); ``quota_remaining`` counts down from its quota on every successful answer.
    """

    def __init__(self, config, lock: threading.Lock):
        self.config = config
        self.quota_remaining: int | None = config.quota
        self.injected: collections.Counter[str] = collections.Counter()
        self._lock = lock
        self._rng = random.Random(config.fault_seed)
        self._window: collections.deque[float] = collections.deque()

    def set_faults(self, faults: dict[str, float], seed: int | None = None) -> None:
        with self._lock:
            self.config.faults = dict(faults)
            if seed is not None:
                self._rng = random.Random(seed)

    def set_quota(self, quota: int | None) -> None:
        with self._lock:
            self.quota_remaining = quota

    def draw(self) -> str | None:
        """The fault to inject into this request, if any."""
        with self._lock:
            if not self.config.faults:
                return None
            roll = self._rng.random()
            for kind in FAULT_KINDS:
                roll -= self.config.faults.get(kind, 0.0)
                if roll < 0:
                    self.injected[kind] += 1
                    return kind
        return None

    def admit(self, fault: str | None) -> None:
        """Quota, per-minute limit and the injected HTTP faults."""
        with self._lock:
            if fault == "quota" or (self.quota_remaining is not None and self.quota_remaining <= 0):
                raise ApiError(429, "Quota exceeded: your plan's API quota is spent.", "quota")
            if fault == "rate_limit":
                raise ApiError(
                    429,
                    "You have reached the maximum request count per minute.",
                    "rate_limit",
                    {"x-ratelimit-reset": str(self.config.fault_reset_seconds)},
                )
            limit = self.config.rate_limit_per_minute
            if limit:
                now = time.monotonic()
                while self._window and now - self._window[0] >= 60:
                    self._window.popleft()
                if len(self._window) >= limit:
                    reset = max(0, math.ceil(60 - (now - self._window[0])))
                    raise ApiError(
                        429,
                        "You have reached the maximum request count per minute.",
                        "rate_limit",
                        {"x-ratelimit-reset": str(reset)},
                    )
                self._window.append(now)
        if fault == "server_error":
            raise ApiError(503, "Service temporarily unavailable.", "server")

    def charge(self, status: int) -> int:
        """Spend one call of the quota on a successful answer; the ``x-quota-remaining`` value."""
        with self._lock:
            if status < 400 and self.quota_remaining is not None:
                self.quota_remaining -= 1
            remaining = self.quota_remaining if self.quota_remaining is not None else 1_000_000
        return max(remaining, 0)
