"""The simulator's catalogue: the platforms it serves, its charts, and the word lists its songs,
artists, labels and genres are drawn from. Static data, no behaviour but a chart's light form.

The per-endpoint platform lists are the subset of the API's own sets
(:mod:`musiccharts_pipeline.soundcharts.platforms`) that this world simulates, in the order it
serves them; a test holds them to that subset.
"""

from __future__ import annotations

import dataclasses

PLATFORMS = {
    "spotify": "Spotify",
    "apple-music": "Apple Music",
    "shazam": "Shazam",
    "youtube": "YouTube",
    "deezer": "Deezer",
    "tiktok": "TikTok",
    "airplay": "Airplay",
    "instagram": "Instagram",
    "soundcloud": "SoundCloud",
}
CHART_PLATFORMS = ["spotify", "apple-music", "shazam", "youtube", "deezer", "tiktok", "airplay"]
SOCIAL_PLATFORMS = ["spotify", "instagram", "tiktok", "youtube", "deezer"]
STREAMING_PLATFORMS = ["spotify", "youtube", "deezer"]
SONG_AUDIENCE_PLATFORMS = ["spotify", "shazam", "youtube", "tiktok"]

METRICS = {
    "spotify": ("streams", "Number of streams"),
    "youtube": ("views", "Number of views"),
    "airplay": ("spins", "Number of spins"),
    "tiktok": ("videos", "Number of videos"),
}

# slug, name, platform, frequency, country code, country name, size
CHARTS = [
    ("global-28", "Top 200 Global", "spotify", "daily", None, None, 200),
    ("top-200-us", "Top 200 United States", "spotify", "daily", "US", "United States", 200),
    ("top-200-gb", "Top 200 United Kingdom", "spotify", "daily", "GB", "United Kingdom", 200),
    ("top-50-fr", "Top 50 France", "spotify", "daily", "FR", "France", 50),
    ("viral-50-global", "Viral 50 Global", "spotify", "daily", None, None, 50),
    ("top-100-global", "Top 100 Global", "apple-music", "daily", None, None, 100),
    (
        "top-100-us-apple",
        "Top 100 United States",
        "apple-music",
        "daily",
        "US",
        "United States",
        100,
    ),
    ("shazam-top-200-world", "Shazam Top 200 World", "shazam", "daily", None, None, 200),
    (
        "shazam-top-50-us",
        "Shazam Top 50 United States",
        "shazam",
        "daily",
        "US",
        "United States",
        50,
    ),
    ("deezer-top-100-fr", "Deezer Top 100 France", "deezer", "daily", "FR", "France", 100),
    ("weekly-top-200-global", "Weekly Top 200 Global", "spotify", "weekly", None, None, 200),
    (
        "youtube-top-100-weekly",
        "YouTube Top 100 Songs Global",
        "youtube",
        "weekly",
        None,
        None,
        100,
    ),
    ("tiktok-top-50-weekly", "TikTok Top 50 Global", "tiktok", "weekly", None, None, 50),
    (
        "airplay-us-weekly",
        "Airplay Top 50 United States",
        "airplay",
        "weekly",
        "US",
        "United States",
        50,
    ),
    (
        "apple-music-monthly-global",
        "Monthly Top 100 Global",
        "apple-music",
        "monthly",
        None,
        None,
        100,
    ),
]

#: Country charts beside the hand-written ones, so discovery has a catalogue worth searching:
#: (country code, name) x (slug pattern, name pattern, platform, size).
DISCOVERY_COUNTRIES = [
    ("DE", "Germany"),
    ("ES", "Spain"),
    ("IT", "Italy"),
    ("BR", "Brazil"),
    ("MX", "Mexico"),
    ("JP", "Japan"),
    ("KR", "South Korea"),
    ("IN", "India"),
    ("CA", "Canada"),
    ("AU", "Australia"),
    ("NL", "Netherlands"),
    ("SE", "Sweden"),
]
DISCOVERY_KINDS = [
    ("top-200-{cc}", "Top 200 {country}", "spotify", 200),
    ("apple-top-100-{cc}", "Top 100 {country}", "apple-music", 100),
    ("shazam-top-50-{cc}", "Shazam Top 50 {country}", "shazam", 50),
    ("deezer-top-100-{cc}", "Deezer Top 100 {country}", "deezer", 100),
]
CHARTS += [
    (slug.format(cc=cc.lower()), name.format(country=country), platform, "daily", cc, country, n)
    for cc, country in DISCOVERY_COUNTRIES
    for slug, name, platform, n in DISCOVERY_KINDS
]

GENRES = {
    "pop": ["pop", "dance pop", "k-pop", "indie pop"],
    "hip hop": ["hip hop", "trap", "drill"],
    "r&b": ["r&b/soul", "neo soul"],
    "electronic": ["electronic", "house", "techno", "edm"],
    "rock": ["rock", "alternative rock", "punk"],
    "latin": ["reggaeton", "latin pop", "urbano latino"],
    "country": ["country", "americana"],
    "alternative": ["alternative", "indie"],
}
LABELS = [
    ("Interscope", "Universal"),
    ("Republic", "Universal"),
    ("Columbia", "Sony"),
    ("RCA", "Sony"),
    ("Atlantic", "Warner"),
    ("Warner Records", "Warner"),
    ("XL Recordings", "Independent"),
    ("Darkroom", "Universal"),
    ("Sub Pop", "Independent"),
]
WORDS = [
    "love",
    "night",
    "fire",
    "dance",
    "heart",
    "summer",
    "gold",
    "dream",
    "city",
    "rain",
    "blue",
    "wild",
    "forever",
    "tonight",
    "light",
    "shadow",
    "river",
    "electric",
    "sugar",
    "ghost",
    "paradise",
    "midnight",
    "stars",
    "runaway",
    "honey",
    "neon",
    "echo",
    "velvet",
]
FIRST = [
    "Billie",
    "Luna",
    "Kai",
    "Nova",
    "Milo",
    "Zara",
    "Leo",
    "Aya",
    "Rio",
    "Sol",
    "Iris",
    "Jude",
    "Noa",
    "Ezra",
    "Lola",
    "Theo",
    "Maya",
    "Finn",
    "Ines",
    "Omar",
    "Ren",
    "Sade",
]
LAST = [
    "Eilish",
    "Rivers",
    "Stone",
    "Vega",
    "Moreau",
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Costa",
    "Beyoncé",
    "Ñandú",
    "O'Connell",
    "Park",
    "Nakamura",
    "Haddad",
    "Silva",
    "Kowalski",
]
COUNTRIES = ["US", "GB", "FR", "DE", "SE", "KR", "BR", "NG", "CA", "AU", "ES", "JP"]


@dataclasses.dataclass(frozen=True)
class Chart:
    slug: str
    name: str
    platform: str
    frequency: str
    country_code: str | None
    country_name: str | None
    size: int

    def light(self) -> dict:
        metric = METRICS.get(self.platform)
        return {
            "name": self.name,
            "type": "top",
            "slug": self.slug,
            "platform": self.platform,
            "frequency": self.frequency,
            "countryCode": self.country_code,
            "countryName": self.country_name,
            "cityName": None,
            "maxResultsCount": self.size,
            "webUrl": f"https://app.soundcharts.com/app/market/charts/{self.slug}",
            **({"metric": {"type": metric[0], "description": metric[1]}} if metric else {}),
        }
