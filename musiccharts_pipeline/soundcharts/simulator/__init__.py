"""An offline, deterministic stand-in for the SoundCharts API (no Dagster imports).

``catalogue`` holds its static data, ``world`` the model, ``faults`` the quota, limits and
injected faults, ``routes`` the paths and payloads, ``app`` the WSGI callable, ``serve`` the
loopback server and in-process adapter, ``client`` a SoundCharts client mounted on it.
"""

from musiccharts_pipeline.soundcharts.simulator.app import Simulator
from musiccharts_pipeline.soundcharts.simulator.client import SimulatedClient
from musiccharts_pipeline.soundcharts.simulator.config import SimulatorConfig
from musiccharts_pipeline.soundcharts.simulator.faults import parse_faults
from musiccharts_pipeline.soundcharts.simulator.serve import IN_PROCESS_URL, InProcessAdapter, serve
from musiccharts_pipeline.soundcharts.simulator.world import World

__all__ = [
    "IN_PROCESS_URL",
    "InProcessAdapter",
    "SimulatedClient",
    "Simulator",
    "SimulatorConfig",
    "World",
    "parse_faults",
    "serve",
]
