"""The SoundCharts client over an in-process simulator: the same HTTP client, its transport a
socket pair to the simulator's WSGI app instead of the network (no port)."""

from __future__ import annotations

import functools

from musiccharts_pipeline.soundcharts.client import SoundChartsClient
from musiccharts_pipeline.soundcharts.simulator.app import Simulator
from musiccharts_pipeline.soundcharts.simulator.config import TOKEN_PATH, SimulatorConfig
from musiccharts_pipeline.soundcharts.simulator.serve import IN_PROCESS_URL, InProcessAdapter


class SimulatedClient(SoundChartsClient):
    """A client of ``simulator`` (by default a new one configured from the settings), exposed as
    ``.simulator`` so tests and benchmarks can read its log and ground truth or inject faults.

    It authenticates with the simulator's own legacy credentials unless given others (an API
    client's ``client_id``, ``client_secret`` and ``team_id`` select access tokens, from the
    simulator's own token endpoint), and has no rate ceiling unless one is asked for.
    """

    def __init__(
        self,
        simulator: Simulator | None = None,
        app_id: str | None = None,
        api_key: str | None = None,
        *,
        max_rps: float | None = None,
        **kwargs,
    ):
        self.simulator = simulator or Simulator(SimulatorConfig.from_env())
        tokens = any(kwargs.get(k) for k in ("client_id", "client_secret", "team_id"))
        if app_id is None and api_key is None and not tokens:
            app_id, api_key = self.simulator.config.app_id, self.simulator.config.api_key
        if tokens:
            kwargs.setdefault("auth_url", None)
            kwargs["auth_url"] = kwargs["auth_url"] or IN_PROCESS_URL + TOKEN_PATH
        super().__init__(
            IN_PROCESS_URL,
            app_id,
            api_key,
            max_rps=max_rps or 0,
            transport=functools.partial(InProcessAdapter, self.simulator),
            token_registry=self.simulator.token_holders,
            **kwargs,
        )
