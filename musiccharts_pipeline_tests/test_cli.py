"""The `musiccharts` command: clear errors for bad input, subscriptions managed end to end."""

from __future__ import annotations

import datetime as dt

import pytest

from musiccharts_pipeline import cli
from musiccharts_pipeline.resources import resources_from_env

pytestmark = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)


@pytest.fixture
def env(warehouse_url, pipeline, monkeypatch, tmp_path):
    monkeypatch.setenv("MUSICCHARTS_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")


def test_unknown_chart_is_a_clear_error_not_a_traceback(env, capsys):
    assert cli.main(["charts", "add", "no-such-chart"]) == 2
    err = capsys.readouterr().err
    assert "SoundCharts has no chart 'no-such-chart'" in err and "Traceback" not in err


def test_hostile_slug_is_rejected(env, capsys):
    assert cli.main(["charts", "add", "bad|slug"]) == 2
    assert "invalid chart slug" in capsys.readouterr().err


def test_missing_credentials_are_a_clear_error(env, monkeypatch, capsys):
    monkeypatch.setenv("SOUNDCHARTS_API_URL", "http://127.0.0.1:9")
    assert cli.main(["charts", "add", "global-28"]) == 3
    err = capsys.readouterr().err
    assert "SOUNDCHARTS_APP_ID and SOUNDCHARTS_API_KEY" in err and "Traceback" not in err


def test_the_access_token_flow_from_the_environment(env, monkeypatch, capsys):
    for name, value in (
        ("SOUNDCHARTS_CLIENT_ID", "label-client"),
        ("SOUNDCHARTS_CLIENT_SECRET", "label-client-secret-value"),
        ("SOUNDCHARTS_TEAM_ID", "label-team"),
    ):
        monkeypatch.setenv(name, value)
    assert cli.main(["charts", "add", "global-28", "--no-audience"]) == 0
    client = resources_from_env(resolved=True)["soundcharts"].get()
    assert client.tokens is not None and client.tokens.fetched == 1
    assert client.simulator.counts()["oauth_token"] == 1
    monkeypatch.setenv("SOUNDCHARTS_APP_ID", "legacy-app")
    monkeypatch.setenv("SOUNDCHARTS_API_KEY", "legacy-key-value")
    assert cli.main(["charts", "add", "top-50-fr"]) == 3
    err = capsys.readouterr().err
    assert "both credential flows are configured" in err and "Traceback" not in err
    assert "label-client-secret-value" not in err


def _subscriptions() -> list[dict]:
    wh = resources_from_env(resolved=True)["warehouse"].get()
    return wh.read_frame("SELECT * FROM soundcharts.chart_subscriptions").to_dict("records")


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--frequency", "custom", "--interval-hours", "-5"],
            "a whole number of hours from 1 to 8784, got -5",
        ),
        (["--frequency", "custom", "--interval-hours", "0"], "from 1 to 8784, got 0"),
        (["--frequency", "custom"], "a custom frequency needs an interval in hours"),
        (["--platforms", "<script>,foo"], "unknown platform(s) '<script>', 'foo'; known: "),
        (["--platforms", ","], "at least one priority platform"),
    ],
)
def test_charts_add_refuses_what_the_api_refuses_and_writes_nothing(env, capsys, argv, message):
    assert cli.main(["charts", "add", "viral-50-global", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert _subscriptions() == []


def test_an_existing_subscription_is_replaced_only_when_asked(env, capsys):
    assert cli.main(["charts", "add", "viral-50-global", "--no-audience"]) == 0
    assert cli.main(["charts", "add", "viral-50-global", "--platforms", "tiktok"]) == 2
    assert "viral-50-global is already subscribed" in capsys.readouterr().err
    [row] = _subscriptions()
    assert (bool(row["auto_fetch_audience"]), row["priority_platforms"]) == (
        False,
        "spotify,youtube,shazam",
    )
    assert cli.main(["charts", "add", "viral-50-global", "--platforms", "tiktok", "--replace"]) == 0
    [row] = _subscriptions()
    assert (bool(row["auto_fetch_audience"]), row["priority_platforms"]) == (True, "tiktok")


def test_an_unreachable_warehouse_is_one_line_not_a_traceback(env, monkeypatch, capsys):
    monkeypatch.setenv(
        "MUSICCHARTS_WAREHOUSE_URL", "postgresql+psycopg2://user:pw-1234567@127.0.0.1:9/x"
    )
    assert cli.main(["charts", "list"]) == 1
    err = capsys.readouterr().err
    assert "the warehouse cannot be reached" in err and "MUSICCHARTS_WAREHOUSE_URL" in err
    assert "Traceback" not in err and "pw-1234567" not in err and len(err.splitlines()) == 2
    monkeypatch.setenv("SOUNDCHARTS_MAX_RPS", "fast")
    assert cli.main(["charts", "list"]) == 1
    assert "SOUNDCHARTS_MAX_RPS must be a number" in capsys.readouterr().err
    monkeypatch.delenv("SOUNDCHARTS_MAX_RPS")
    monkeypatch.setenv("MUSICCHARTS_WAREHOUSE_URL", "not a url")
    assert cli.main(["charts", "list"]) == 1
    assert "MUSICCHARTS_WAREHOUSE_URL is not a database URL" in capsys.readouterr().err
    import sqlalchemy as sa

    with pytest.raises(sa.exc.ArgumentError):  # --debug: the traceback, for whoever needs it
        cli.main(["--debug", "charts", "list"])


def test_subscription_lifecycle(env, capsys):
    assert cli.main(["charts", "add", "tiktok-top-50-weekly", "--no-audience"]) == 0
    assert "tiktok-top-50-weekly (tiktok, weekly)" in capsys.readouterr().out
    assert cli.main(["charts", "list"]) == 0
    assert "tiktok-top-50-weekly" in capsys.readouterr().out
    assert cli.main(["charts", "pause", "tiktok-top-50-weekly"]) == 0
    assert "paused" in capsys.readouterr().out
    assert cli.main(["charts", "resume", "tiktok-top-50-weekly"]) == 0
    assert cli.main(["charts", "sync", "tiktok-top-50-weekly"]) == 0
    assert ": ok (run" in capsys.readouterr().out
    assert cli.main(["charts", "status"]) == 0
    status = capsys.readouterr().out
    assert "tiktok-top-50-weekly" in status and "100%" in status
    # audience was never fetched for this chart: the refresh covers every known entity
    resources = resources_from_env(resolved=True)  # as the command builds them
    wh, client = resources["warehouse"].get(), resources["soundcharts"].get()
    tracks = int(wh.scalar("SELECT count(*) FROM soundcharts.tracks"))
    artists = int(wh.scalar("SELECT count(*) FROM soundcharts.artists"))
    expected = tracks * 3 + artists * 4  # song: 3 platforms; artist: 2 social + 2 streaming
    assert cli.main(["refresh", "--dry-run"]) == 0
    assert f"dry run: would make about {expected} API calls" in capsys.readouterr().out
    before = client.stats()["total_calls"]
    assert cli.main(["refresh"]) == 0
    assert client.stats()["total_calls"] - before == expected
    assert cli.main(["refresh", "--dry-run"]) == 0
    assert "dry run: would make about 0 API calls" in capsys.readouterr().out
    assert cli.main(["charts", "remove", "tiktok-top-50-weekly"]) == 0
    assert cli.main(["charts", "pause", "tiktok-top-50-weekly"]) == 2
    assert "no subscription" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--from", "2026-12-05", "--to", "2026-12-01"], "from 2026-12-05 is after to 2026-12-01"),
        (["--to", "2026-12-01"], "a range needs its start (from)"),
        (["--from", "2026-12-01"], "a range needs its end (to)"),
        (["--date", "2026-12-01", "--from", "2026-11-01"], "either a date or a from/to range"),
        (["--from", "2999-01-01", "--to", "2999-01-02"], "2999-01-02 is in the future"),
    ],
)
def test_a_manual_sync_refuses_a_bad_range_as_the_api_does_and_runs_nothing(
    env, capsys, argv, message
):
    import dagster as dg

    assert cli.main(["charts", "add", "top-50-fr"]) == 0
    assert cli.main(["charts", "sync", "top-50-fr", *argv]) == 2
    assert message in capsys.readouterr().err
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs_count() == 0


def test_status_shows_a_chart_that_fails_every_sync_as_zero_percent(env, capsys, monkeypatch):
    simulator = resources_from_env(resolved=True)["soundcharts"].get().simulator  # the command's

    def misdated(body, path):  # every ranking breaks the contract: its partition fails
        body["related"]["date"] = "1999-01-01T12:00:00+00:00"
        return body

    assert cli.main(["charts", "add", "top-50-fr"]) == 0
    # the command's simulator is shared by the process: the tampering leaves with the test
    monkeypatch.setitem(simulator.tampering, "ranking", misdated)
    assert cli.main(["charts", "sync", "top-50-fr"]) == 1
    capsys.readouterr()
    assert cli.main(["charts", "status"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "top-50-fr" in line)
    assert "0%" in row


def test_plans_before_work_and_a_fill_that_takes_the_quota_asks_first(env, capsys):
    client = resources_from_env(resolved=True)["soundcharts"].get()
    assert cli.main(["plan", "charts", "add", "viral-50-global", "--history"]) == 0
    out = capsys.readouterr().out
    assert "plan: charts add viral-50-global --history" in out and "API calls" in out
    assert "ranking_pages" in out and "at 10 requests/s" in out
    assert (
        cli.main(
            ["plan", "backfill", "viral-50-global", "--from", "2026-12-05", "--to", "2026-12-01"]
        )
        == 2
    )
    assert "is after" in capsys.readouterr().err
    assert (
        cli.main(
            ["plan", "backfill", "no-such-chart", "--from", "2026-11-01", "--to", "2026-11-02"]
        )
        == 2
    )
    assert "no chart 'no-such-chart'" in capsys.readouterr().err
    # a small quota left: the year's fill is more than 10% of it, so it asks (no one can answer)
    client.simulator.set_quota(5000)
    client.available_rankings("viral-50-global", newest_only=True)  # the client sees the header
    assert cli.main(["charts", "add", "viral-50-global", "--history"]) == 2
    assert "run again with --yes" in capsys.readouterr().err
    assert _subscriptions() == []
    assert cli.main(["charts", "add", "viral-50-global", "--history", "--yes"]) == 0
    assert "subscribed to viral-50-global" in capsys.readouterr().out


def test_the_steady_state_plan_reads_what_is_stored(env, capsys):
    assert cli.main(["charts", "add", "top-50-fr", "--no-audience"]) == 0
    day = resources_from_env(resolved=True)["soundcharts"].get().simulator.world.today
    start = day - dt.timedelta(days=9)
    assert cli.main(["charts", "sync", "top-50-fr", "--from", str(start), "--to", str(day)]) == 0
    capsys.readouterr()
    assert cli.main(["plan", "month"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:8]}
    assert lines["availability"] == "51" and lines["ranking_pages"] == "30"  # 30 daily ones
    assert int(lines["song_metadata"].replace(",", "")) > 0
    assert cli.main(["plan", "month", "--days", "0"]) == 2
