"""Which platforms each SoundCharts series endpoint serves (API reference, sections 5 and 6): the
one definition. The sync asks only for these; the simulator serves a subset of each (its
catalogue), which ``test_simulator`` holds to these sets."""

from __future__ import annotations

#: ``/api/v2/song/{uuid}/audience/{platform}``
SONG_AUDIENCE_PLATFORMS = frozenset(
    {
        "spotify",
        "shazam",
        "youtube",
        "soundcloud",
        "tiktok",
        "audiomack",
        "genius",
        "gaana",
        "jiosaavn",
        "melon",
        "line-music",
        "anghami",
        "lastfm",
        "awa",
    }
)
#: ``/api/v2/artist/{uuid}/audience/{platform}`` (followers)
SOCIAL_PLATFORMS = frozenset(
    {
        "spotify",
        "instagram",
        "tiktok",
        "youtube",
        "soundcloud",
        "deezer",
        "amazon",
        "songkick",
        "line-music",
        "yandex",
        "melon",
        "weibo",
        "joox",
        "x",
        "facebook",
    }
)
#: ``/api/v2/artist/{uuid}/streaming/{platform}/listening`` (listeners)
STREAMING_PLATFORMS = frozenset(
    {
        "spotify",
        "jiosaavn",
        "pandora",
        "yandex",
        "kugou",
        "youtube",
        "anghami",
        "audiomack",
        "lastfm",
        "deezer",
    }
)

#: Every platform an audience series can be asked for: what a subscription's priority platforms
#: and the serve API's ``platform`` parameter accept.
AUDIENCE_PLATFORMS = SONG_AUDIENCE_PLATFORMS | SOCIAL_PLATFORMS | STREAMING_PLATFORMS
