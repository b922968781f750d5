"""An offline, deterministic stand-in for the SoundCharts API (no Dagster imports)."""

from musiccharts_pipeline.soundcharts.simulator.app import Simulator, SimulatorConfig
from musiccharts_pipeline.soundcharts.simulator.serve import IN_PROCESS_URL, InProcessAdapter, serve
from musiccharts_pipeline.soundcharts.simulator.world import World

__all__ = ["IN_PROCESS_URL", "InProcessAdapter", "Simulator", "SimulatorConfig", "World", "serve"]
