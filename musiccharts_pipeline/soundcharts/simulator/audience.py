"""The simulator's audience series: a song's cumulative totals per identifier, an artist's
followers and monthly listeners, one point per day, deterministic from the seed."""

from __future__ import annotations

import datetime as dt

import numpy as np

from musiccharts_pipeline.soundcharts.simulator.seeded import stable_hash


class AudienceSeries:
    """Mixed into ``World``: needs its ``seed``, ``start``, ``horizon()``,
    ``song_identifiers(i)`` and ``release_date(i)``."""

    def song_audience(self, i: int, platform: str, start: dt.date, end: dt.date) -> list[dict]:
        """Cumulative totals per identifier, one point per day from release, newest first."""
        ids = self.song_identifiers(i).get(platform)
        if not ids:
            return []
        release = max(self.release_date(i), self.start)
        points = []
        day = min(end, self.horizon())
        while day >= max(start, release):
            x = (day - release).days
            plots = []
            for ident in ids:
                h = stable_hash("aud", self.seed, i, platform, ident)
                rate = 1_000 + h % 50_000
                plots.append(
                    {
                        "identifier": ident,
                        "value": int(h % 100_000 + rate * x + rate * 20 * (1 - np.exp(-x / 30))),
                    }
                )
            points.append({"date": f"{day.isoformat()}T00:00:00+00:00", "plots": plots})
            day -= dt.timedelta(days=1)
        return points

    def artist_followers(self, a: int, platform: str, start: dt.date, end: dt.date) -> list[dict]:
        """Cumulative follower counts, ascending, with the odd skipped day (as the real API)."""
        h = stable_hash("fol", self.seed, a, platform)
        if h % 10 == 0:
            return []  # no account on that platform
        base, rate = h % 5_000_000, 50 + (h >> 8) % 20_000
        out = []
        day = max(start, self.start)
        while day <= min(end, self.horizon()):
            x = (day - self.start).days
            if stable_hash("skip", a, platform, x) % 17:
                out.append(
                    {
                        "date": f"{day.isoformat()}T00:00:00+00:00",
                        "followerCount": int(base + rate * x),
                        "likeCount": None,
                        "followingCount": None,
                        "postCount": int(x // 3) if platform in ("instagram", "tiktok") else None,
                        "viewCount": int(base * 10 + rate * 40 * x)
                        if platform == "youtube"
                        else None,
                    }
                )
            day += dt.timedelta(days=1)
        return out

    def artist_listeners(self, a: int, platform: str, start: dt.date, end: dt.date) -> list[dict]:
        h = stable_hash("lis", self.seed, a, platform)
        base = 10_000 + h % 20_000_000
        out = []
        day = max(start, self.start)
        while day <= min(end, self.horizon()):
            x = (day - self.start).days
            out.append(
                {
                    "date": f"{day.isoformat()}T00:00:00+00:00",
                    "value": int(base * (1 + 0.2 * np.sin(x / 45 + h % 7))),
                }
            )
            day += dt.timedelta(days=1)
        return out
