"""The watchlist: the label's own artists, songs and ISRCs through the same cascade as charting
songs, each song fetched once, a quiet day costing nothing, bad input refused before any call."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from musiccharts_pipeline import cli, clock
from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.assets.watchlist import WATCHLIST_ASSETS
from musiccharts_pipeline.sync import watchlist
from musiccharts_pipeline.sync.watchlist import ARTIST, ISRC, SONG, Entry

pytestmark = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)


def _run(pipeline):
    result = dg.materialize(
        WATCHLIST_ASSETS, resources=pipeline, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    return {
        e.asset_key.to_user_string(): {
            k: getattr(v, "value", v) for k, v in e.materialization.metadata.items()
        }
        for e in result.get_asset_materialization_events()
    }


def test_bad_input_is_refused_and_writes_nothing(warehouse):
    for kind, value, message in [
        (ISRC, "US-ABC-12", "not an ISRC"),
        (ISRC, "12ABC1234567", "not an ISRC"),
        (SONG, "not-a-uuid", "not a SoundCharts uuid"),
        ("album", "x", "kind must be one of"),
    ]:
        with pytest.raises(watchlist.WatchError, match=message):
            watchlist.parse(kind, value)
    assert watchlist.parse(ISRC, " us-abc-12-34567 ") == Entry(ISRC, "USABC1234567")
    assert watchlist.listing(warehouse).empty
    with pytest.raises(watchlist.WatchError, match="first row must name one column"):
        watchlist.import_csv(warehouse, "code\nUSABC1234567\n")
    assert watchlist.listing(warehouse).empty


def test_an_import_keeps_the_good_rows_and_names_the_bad_lines(warehouse):
    watchlist.add(warehouse, [Entry(ISRC, "USABC1234567")], "cli")
    text = "ISRC\nUSABC1234567\nFRZ031900001\nnot-an-isrc\n\nFRZ031900001\nGB-XYZ-20-00042\n"
    report = watchlist.import_csv(warehouse, text)
    assert [e.ident for e in report.added] == ["FRZ031900001", "GBXYZ2000042"]
    assert [e.ident for e in report.already] == ["USABC1234567"]
    assert report.duplicates == [6]
    assert [line for line, _ in report.bad] == [4, 5]
    assert set(watchlist.listing(warehouse).ident) == {
        "USABC1234567",
        "FRZ031900001",
        "GBXYZ2000042",
    }
    big = "isrc\n" + "".join(f"USABC{n:07d}\n" for n in range(watchlist.MAX_IMPORT_ROWS + 1))
    with pytest.raises(watchlist.WatchError, match="split the file"):
        watchlist.import_csv(warehouse, big)
    assert len(watchlist.listing(warehouse)) == 3  # refused whole


def test_the_catalogue_goes_through_the_cascade_once_and_a_quiet_day_costs_nothing(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    world = sim.world
    artist = world.artist_uuid(world.song_artists(5)[0])
    catalogue = {world.song_uuid(i) for i in world.artist_songs(world.artist_index[artist])}
    lone = world.song_uuid(7)
    isrc_ok = world.isrc_of(11)
    blacklisted = next(
        world.isrc_of(i) for i in range(3000) if world.isrc_blacklisted(world.isrc_of(i))
    )
    watchlist.add(
        wh,
        [
            Entry(ARTIST, artist),
            Entry(SONG, lone),
            Entry(ISRC, isrc_ok),
            Entry(ISRC, "ZZZ991234567"),
            Entry(ISRC, blacklisted),
        ],
        "cli",
    )
    meta = _run(pipeline)
    counts = sim.successful_counts()
    expected = catalogue | {lone, world.song_uuid(11)}
    assert meta["watchlist_catalogue"]["resolved"] == 1
    assert (meta["watchlist_catalogue"]["unknown"], meta["watchlist_catalogue"]["blacklisted"]) == (
        1,
        1,
    )
    assert meta["watchlist_catalogue"]["new_songs"] == len(catalogue)
    assert sim.counts()["song_by_isrc"] == 3 and sim.counts()["artist_songs"] == 1
    stored = set(
        wh.read_frame(
            "SELECT uuid FROM soundcharts.tracks WHERE metadata_fetched_at IS NOT NULL"
        ).uuid
    )
    assert expected <= stored
    assert counts["song"] == len(expected)  # each song once
    assert int(wh.scalar("SELECT count(*) FROM soundcharts.track_audience")) > 0
    assert watchlist.watched_songs(wh) == sorted(expected)
    status = dict(zip(watchlist.listing(wh).ident, watchlist.listing(wh).status, strict=True))
    assert (status[isrc_ok], status["ZZZ991234567"], status[blacklisted]) == (
        "ok",
        "unknown",
        "blacklisted",
    )

    sim.reset_log()
    again = _run(pipeline)  # the same day: nothing due
    assert sum(sim.counts().values()) == 0, sim.counts()
    assert again["watchlist_catalogue"]["artists_listed"] == 0


def test_a_charting_song_that_is_watched_is_not_fetched_again(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    day = sim.world.today - dt.timedelta(days=1)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_chart(pipeline, instance, "top-50-fr", day).success
    charting = wh.scalar("SELECT song_uuid FROM soundcharts.chart_ranking_entries LIMIT 1")
    watchlist.add(wh, [Entry(SONG, charting)], "cli")
    sim.reset_log()
    meta = _run(pipeline)
    assert sim.counts().get("song", 0) == 0
    assert meta["watchlist_tracks"]["skipped_fresh"] == 1


def test_new_releases_appear_when_the_catalogue_is_listed_again(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    world = sim.world
    world.publish_on_clock = True  # the catalogue as of the clock's date
    # an artist with a song released a few days after the first listing
    a, song = next(
        (a, i)
        for a, songs in sorted(world.artist_song_index.items())
        for i in songs
        if world.today - dt.timedelta(days=30) < world.release_date(i) <= world.today
    )
    first = dt.datetime.combine(world.release_date(song) - dt.timedelta(days=3), dt.time(12))
    with clock.simulated(first):
        watchlist.add(wh, [Entry(ARTIST, world.artist_uuid(a))], "cli")
        assert world.song_uuid(song) not in {world.song_uuid(i) for i in world.artist_songs(a)}
        _run(pipeline)
        assert world.song_uuid(song) not in watchlist.watched_songs(wh)
    sim.reset_log()
    with clock.simulated(first + dt.timedelta(days=7)):  # a week to the minute: due
        meta = _run(pipeline)
    assert meta["watchlist_catalogue"]["artists_listed"] == 1
    assert meta["watchlist_catalogue"]["new_songs"] >= 1
    assert world.song_uuid(song) in watchlist.watched_songs(wh)
    # the new songs are fetched, the ones already stored (and fresh) are not
    assert sim.counts()["song"] == meta["watchlist_catalogue"]["new_songs"]


def test_the_cli_watches_imports_and_lists(warehouse_url, pipeline, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MUSICCHARTS_WAREHOUSE_URL", warehouse_url)
    assert cli.main(["watch", "isrc", "US-ABC-12-34567", "FRZ031900001"]) == 0
    assert "watching isrc USABC1234567" in capsys.readouterr().out
    assert cli.main(["watch", "isrc", "nope"]) == 2
    assert "not an ISRC" in capsys.readouterr().err
    path = tmp_path / "catalogue.csv"
    path.write_text("isrc\nUSABC1234567\nbad\nGBXYZ2000042\n")
    assert cli.main(["watch", "import", str(path)]) == 0
    captured = capsys.readouterr()
    assert "line 3: not an ISRC" in captured.err
    assert "1 added, 1 already watched, 0 duplicate row(s), 1 bad row(s)" in captured.out
    assert cli.main(["watch", "list"]) == 0
    assert "GBXYZ2000042" in capsys.readouterr().out
    assert cli.main(["watch", "remove", "isrc", "GBXYZ2000042"]) == 0
    assert cli.main(["watch", "remove", "isrc", "GBXYZ2000042"]) == 2


def test_the_serve_api_watches_behind_the_token(pipeline, warehouse_url):
    from musiccharts_pipeline_tests.serving import TOKEN, serving

    auth = {"Authorization": f"Bearer {TOKEN}"}
    today = pipeline["soundcharts"].get().simulator.world.today
    with serving(pipeline, warehouse_url, today) as s:
        body = {"isrcs": ["US-ABC-12-34567"], "artists": ["0" * 8 + "-0000-4000-8000-" + "0" * 12]}
        assert s.http.post("/api/watchlist", json=body).status_code == 401
        refused = s.http.post(
            "/api/watchlist", json={"isrcs": ["USABC1234567", "nope"]}, headers=auth
        )
        assert refused.status_code == 400 and refused.json()["refused"][0]["value"] == "nope"
        assert s.http.get("/api/watchlist").json()["total"] == 0  # all or nothing
        created = s.http.post("/api/watchlist", json=body, headers=auth)
        assert created.status_code == 201 and len(created.json()["added"]) == 2
        imported = s.http.post(
            "/api/watchlist/import",
            content=b"isrc\nUSABC1234567\nbad\nGBXYZ2000042\n",
            headers={**auth, "Content-Type": "text/csv"},
        )
        assert imported.json() == {
            "added": 1,
            "already": 1,
            "duplicate_lines": [],
            "bad": [
                {
                    "line": 3,
                    "reason": "not an ISRC (2 letters, 3 letters or digits, 7 digits): 'bad'",
                }
            ],
        }
        items = s.http.get("/api/watchlist").json()["items"]
        assert {(i["kind"], i["ident"], i["status"]) for i in items} >= {
            ("isrc", "USABC1234567", "pending"),
            ("isrc", "GBXYZ2000042", "pending"),
        }
        # the run now goes through the Dagster webserver: none answers here
        launched = s.http.post("/api/watchlist/sync", headers=auth)
        assert launched.status_code == 503 and "MUSICCHARTS_DAGSTER_URL" in launched.json()["error"]
        gone = s.http.delete("/api/watchlist/isrc/GBXYZ2000042", headers=auth)
        assert gone.status_code == 200
        assert s.http.delete("/api/watchlist/isrc/GBXYZ2000042", headers=auth).status_code == 404


def test_albums_of_every_synced_track_each_fetched_once(pipeline):
    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    world = sim.world
    day = world.today - dt.timedelta(days=1)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_chart(pipeline, instance, "top-50-fr", day).success
    tracks = set(
        wh.read_frame(
            "SELECT uuid FROM soundcharts.tracks WHERE metadata_fetched_at IS NOT NULL"
        ).uuid
    )
    sim.reset_log()
    meta = _run(pipeline)
    expected_albums = {u for t in tracks for u, _, _ in world.song_albums(world.song_index[t])}
    assert sim.counts()["song_albums"] == len(tracks)
    assert sim.counts()["album"] == len(expected_albums)  # each album once, shared ones too
    stored = wh.read_frame("SELECT * FROM soundcharts.albums")
    assert set(stored.uuid) == expected_albums
    one = stored[stored.uuid == sorted(expected_albums)[0]].iloc[0]
    truth = world.album_object(one.uuid)
    assert (one.upc, one.album_type, one.total_tracks) == (
        truth["upc"],
        truth["type"],
        truth["totalTracks"],
    )
    links = wh.read_frame("SELECT * FROM soundcharts.track_albums")
    assert set(links.track_uuid) == tracks
    originals = links[links.is_original]
    assert sorted(originals.track_uuid) == sorted(tracks)  # one original per track
    for row in originals.itertuples():
        first = world.song_albums(world.song_index[row.track_uuid])[0][0]
        assert row.album_uuid == first  # the single: the earliest release
    assert meta["albums"]["updated"] == len(tracks)
    sim.reset_log()
    _run(pipeline)
    assert sim.counts().get("song_albums", 0) == 0 and sim.counts().get("album", 0) == 0


def test_albums_over_http(pipeline, warehouse_url):
    from musiccharts_pipeline.sync.albums import sync_albums, tracks_with_metadata
    from musiccharts_pipeline_tests.serving import serving

    client = pipeline["soundcharts"].get()
    sim, wh = client.simulator, pipeline["warehouse"].get()
    day = sim.world.today - dt.timedelta(days=1)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_chart(pipeline, instance, "top-50-fr", day).success
    sync_albums(client, wh, tracks_with_metadata(wh))
    track = wh.scalar("SELECT track_uuid FROM soundcharts.track_albums ORDER BY 1 LIMIT 1")
    original = wh.scalar(
        "SELECT album_uuid FROM soundcharts.track_albums WHERE track_uuid = :t AND is_original",
        {"t": track},
    )
    with serving(pipeline, warehouse_url, sim.world.today) as s:
        body = s.http.get(f"/api/albums/{original}").json()
        assert body["uuid"] == original and track in {t["uuid"] for t in body["tracks"]}
        assert body["upc"] == sim.world.album_object(original)["upc"]
        detail = s.http.get(f"/api/tracks/{track}").json()
        assert detail["albums"][0]["uuid"] == original and detail["albums"][0]["is_original"]
        page = s.http.get(f"/albums/{original}")
        assert page.status_code == 200 and f'href="/tracks/{track}"' in page.text
        assert f'href="/albums/{original}"' in s.http.get(f"/tracks/{track}").text
        artist = detail["primary_artist_uuid"]
        assert 'data-table="albums"' in s.http.get(f"/artists/{artist}").text
        missing = "00000000-0000-4000-8000-000000000000"
        assert s.http.get(f"/api/albums/{missing}").status_code == 404
        assert s.http.get("/api/albums/not-a-uuid").status_code == 400


#: Items as SoundCharts answers artist/{uuid}/songs (excerpt of a recorded page, public SDK test
#: data): no image or app URL, Paris offsets, a null release date, old-style uuids.
RECORDED_SONGS = [
    {
        "uuid": "11e82728-57d8-8c8c-a1dd-a0369fe50396",
        "name": "Scars to Your Beautiful",
        "creditName": "Alessia Cara",
        "releaseDate": "2015-11-13T00:00:00+01:00",
    },
    {
        "uuid": "11e826ce-6d36-fcd0-8831-a0369fe50396",
        "name": "1-800-273-8255",
        "creditName": "Logic & Alessia Cara & Khalid",
        "releaseDate": "2017-05-05T00:00:00+02:00",
    },
    {
        "uuid": "fdc473c3-8a9a-4b60-a988-ff0efd8a2450",
        "name": "Sweet Dream",
        "creditName": "Alessia Cara",
        "releaseDate": None,
    },
]


def test_a_recorded_catalogue_page_shape_is_listed_whole(warehouse):
    from musiccharts_pipeline.soundcharts import SoundChartsClient
    from musiccharts_pipeline_tests.standins import StandIn

    artist = "11e81bbe-5b34-a426-8614-a0369fe50396"
    path = f"/api/v2.21/artist/{artist}/songs"

    def route(method, requested, headers, body):
        second = "offset=2" in requested
        items = RECORDED_SONGS[2:] if second else RECORDED_SONGS[:2]
        nxt = None if second else f"{path}?offset=2&limit=2"
        page = {"offset": 2 if second else 0, "limit": 2, "next": nxt, "total": 3}
        return 200, {}, {"related": {"uuid": artist}, "items": items, "page": page, "errors": []}

    stand_in = StandIn(route)
    try:
        client = SoundChartsClient(stand_in.url, "app", "key-123456", max_rps=0)
        watchlist.add(warehouse, [Entry(ARTIST, artist)], "cli")
        out = watchlist.CatalogueOutcome()
        watchlist.relist_catalogues(client, warehouse, out)
    finally:
        stand_in.close()
    stored = warehouse.read_frame("SELECT * FROM soundcharts.artist_catalogue ORDER BY song_name")
    assert (out.artists_listed, out.new_songs) == (1, 3)
    assert list(stored.song_name) == ["1-800-273-8255", "Scars to Your Beautiful", "Sweet Dream"]
    assert str(stored.release_date[1]) == "2015-11-13" and stored.release_date[2] is None
