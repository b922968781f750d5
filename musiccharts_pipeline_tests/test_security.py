"""Security: the credentials go to the configured API origin only, secrets never leave the
process, hostile input costs nothing. Every upstream here is a loopback stand-in."""

from __future__ import annotations

import pytest

from musiccharts_pipeline.soundcharts import SoundChartsClient, errors
from musiccharts_pipeline_tests.standins import StandIn

APP_ID = "label-app-id"
API_KEY = "k3y-that-only-soundcharts-may-see"
RANKINGS = "/api/v2/chart/song/global-28/available-rankings"


@pytest.fixture
def stand_ins():
    made: list[StandIn] = []

    def make(route=None) -> StandIn:
        made.append(StandIn(route))
        return made[-1]

    yield make
    for stand_in in made:
        stand_in.close()


def _page(items, next_url):
    return {"related": {"slug": "global-28"}, "items": items, "page": {"next": next_url}}


def test_an_absolute_next_to_another_port_is_refused_and_the_other_port_hears_nothing(
    stand_ins,
):
    other = stand_ins()
    api = stand_ins(
        lambda m, path, h, b: (
            200,
            {},
            _page(["2026-12-01T12:00:00+00:00"], f"{other.url}{RANKINGS}?offset=100&limit=100"),
        )
    )
    client = SoundChartsClient(api.url, APP_ID, API_KEY, max_rps=0, retries=0)
    with pytest.raises(errors.ContractError, match=r"another host \(http://127\.0\.0\.1:\d+\)"):
        client.available_rankings("global-28")
    assert other.received == []
    assert [h["x-api-key"] for _, _, h in api.received] == [API_KEY]


def test_a_next_on_the_same_origin_is_followed(stand_ins):
    def route(method, path, headers, body):
        if "offset=100" in path:
            return 200, {}, _page(["2026-11-30T12:00:00+00:00"], None)
        return 200, {}, _page(["2026-12-01T12:00:00+00:00"], f"{api.url}{RANKINGS}?offset=100")

    api = stand_ins(route)
    client = SoundChartsClient(api.url, APP_ID, API_KEY, max_rps=0, retries=0)
    assert len(client.available_rankings("global-28").dates) == 2
    assert len(api.received) == 2


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_port_is_not_followed(stand_ins, status):
    other = stand_ins(lambda *a: (200, {}, _page([], None)))
    api = stand_ins(lambda m, path, h, b: (status, {"Location": f"{other.url}{path}"}, ""))
    client = SoundChartsClient(api.url, APP_ID, API_KEY, max_rps=0, retries=0)
    with pytest.raises(errors.ContractError, match="redirected to another host"):
        client.available_rankings("global-28")
    assert other.received == []


def test_a_redirect_within_the_origin_is_followed_with_the_credentials(stand_ins):
    def route(method, path, headers, body):
        if path.startswith("/moved"):
            return 200, {}, _page(["2026-12-01T12:00:00+00:00"], None)
        return 302, {"Location": "/moved" + path}, ""

    api = stand_ins(route)
    client = SoundChartsClient(api.url, APP_ID, API_KEY, max_rps=0, retries=0)
    assert len(client.available_rankings("global-28").dates) == 1
    assert [p.split("/")[1] for _, p, _ in api.received] == ["api", "moved"]
    assert api.received[1][2]["x-api-key"] == API_KEY


def test_answers_that_echo_the_credentials_are_scrubbed_from_the_error(stand_ins, monkeypatch):
    monkeypatch.setenv("SOUNDCHARTS_API_KEY", API_KEY)

    def route(method, path, headers, body):
        if "ranking/" in path:
            return 401, {}, {"errors": [{"code": 401, "message": f"bad key {API_KEY}"}]}
        return 500, {}, f"upstream received x-api-key: {headers['x-api-key']}"

    api = stand_ins(route)
    client = SoundChartsClient(api.url, APP_ID, API_KEY, max_rps=0, retries=0)
    with pytest.raises(errors.ServerError) as server:
        client.available_rankings("global-28")
    with pytest.raises(errors.AuthError) as auth:
        client.ranking("global-28")
    for exc in (server.value, auth.value):
        assert API_KEY not in str(exc) and API_KEY not in repr(exc.errors)
    assert "x-api-key: ***" in str(server.value)
    assert "bad key ***" in str(auth.value) and auth.value.errors[0]["message"] == "bad key ***"


def test_echoed_credentials_reach_no_file_and_no_output(stand_ins, monkeypatch, tmp_path, capfd):
    """A sync against an upstream whose 500 and 401 answers repeat the key it received, through
    the CLI and a Dagster run: afterwards no byte of the key is in the Dagster home, the
    warehouse, the dbt target or what the command printed."""
    import secrets as stdlib_secrets

    import dagster as dg

    from musiccharts_pipeline import cli, settings
    from musiccharts_pipeline.sync import rules
    from musiccharts_pipeline.sync import subscriptions as subs
    from musiccharts_pipeline.warehouse import Warehouse

    key = f"k3y-{stdlib_secrets.token_hex(12)}"
    day = (rules.utcnow() - rules.dt.timedelta(days=1)).date()
    listed = f"{day}T12:00:00+00:00"
    answered = []

    def route(method, path, headers, body):
        echoed = headers.get("x-api-key")
        if "/ranking/" in path:
            return 401, {}, {"errors": [{"code": 401, "message": f"key {echoed} refused"}]}
        answered.append(path)
        if len(answered) == 1:  # the first look at the chart: a gateway repeating the request
            return 500, {}, f"gateway error; request had x-api-key={echoed}"
        return (
            200,
            {},
            {"related": {"slug": "global-28"}, "items": [listed], "page": {"next": None}},
        )

    api = stand_ins(route)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    warehouse = tmp_path / "warehouse.duckdb"
    for name, value in {
        "SOUNDCHARTS_API_URL": api.url,
        "SOUNDCHARTS_APP_ID": APP_ID,
        "SOUNDCHARTS_API_KEY": key,
        "SOUNDCHARTS_MAX_RPS": "0",
        "MUSICCHARTS_WAREHOUSE_URL": f"duckdb:///{warehouse}",
        "MUSICCHARTS_DASHBOARD_PATH": str(tmp_path / "dashboard.html"),
        "DAGSTER_HOME": str(home),
    }.items():
        monkeypatch.setenv(name, value)
    wh = Warehouse(settings.warehouse_url())
    wh.migrate()
    subs.save(wh, subs.Subscription("global-28", "spotify", "daily"))
    wh.engine.dispose()

    assert cli.main(["charts", "sync", "global-28"]) == 3  # available-rankings: the 500
    assert cli.main(["charts", "sync", "global-28", "--date", str(day)]) == 1  # the run: a 401
    printed = capfd.readouterr()
    assert "x-api-key=***" in printed.err

    # the upstream did echo the key, and the run did record the refusal, masked
    assert any(h.get("x-api-key") == key for _, _, h in api.received)
    with dg.DagsterInstance.get() as inst:
        failures = [
            e
            for record in inst.get_run_records()
            for e in inst.all_logs(record.dagster_run.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"
        ]
    assert failures, "the run recorded no step failure"
    assert any("key *** refused" in str(e.dagster_event.event_specific_data) for e in failures)

    places = [home, warehouse, settings.PROJECT_ROOT / "dbt_project" / "target"]
    files = [place for place in places if place.is_file()]
    files += [p for place in places if place.is_dir() for p in place.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files), "no event log was written"
    leaked = [str(p) for p in files if key.encode() in p.read_bytes()]
    assert leaked == []
    assert key not in printed.out + printed.err


def test_log_records_and_dagster_event_logs_are_scrubbed(monkeypatch, caplog):
    import logging

    import dagster as dg

    from musiccharts_pipeline import redact

    monkeypatch.setenv("MUSICCHARTS_API_TOKEN", "write-token-0123456789")
    redact.install()
    redact.register("bearer-obtained-at-run-time-42")
    with caplog.at_level(logging.INFO):
        logging.getLogger("any.library").warning(
            "retrying with %s and %s", "write-token-0123456789", "bearer-obtained-at-run-time-42"
        )
    assert caplog.messages[-1] == "retrying with *** and ***"

    @dg.asset
    def talkative(context):
        context.log.info("header was write-token-0123456789")

    with dg.instance_for_test() as instance:
        result = dg.materialize([talkative], instance=instance)
        messages = [e.message for e in instance.all_logs(result.run_id) if e.user_message]
    assert "header was ***" in " ".join(messages)
    assert "write-token-0123456789" not in " ".join(messages)
