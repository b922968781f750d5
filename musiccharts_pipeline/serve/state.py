"""What every request of one server shares: the warehouse reader, the write token, Dagster's
URL and (built on first use) the SoundCharts client that checks new subscriptions."""

from __future__ import annotations

import dataclasses
import threading

from musiccharts_pipeline.resources.soundcharts import from_settings
from musiccharts_pipeline.serve.readers import DirectReader, SnapshotReader
from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.sync.discovery import Catalogue


@dataclasses.dataclass
class ServeState:
    reader: DirectReader | SnapshotReader
    api_token: str | None
    dagster_url: str
    client: SoundChartsClient | None = None
    #: the API's chart listings, kept an hour (discovery)
    catalogue: Catalogue = dataclasses.field(default_factory=Catalogue)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def soundcharts(self) -> SoundChartsClient:
        """The SoundCharts client configured as the pipeline's (the simulator when unset)."""
        with self._lock:
            if self.client is None:
                self.client = from_settings()
            return self.client
