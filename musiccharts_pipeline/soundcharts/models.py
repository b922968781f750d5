"""Pydantic models of the SoundCharts payloads the pipeline reads.

They accept the variations real responses show (see the API reference): genres as strings or
``{root, sub}`` objects, ``labels[]`` or a legacy ``label`` string, ``isrc`` as an object or a
string, optional fields absent or null, unknown fields ignored. Each model keeps the raw object.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel


class Payload(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    raw: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _keep_raw(cls, data: Any) -> Any:
        """The object as the API sent it goes to ``raw``; only the typed fields are normalised."""
        if isinstance(data, dict) and "raw" not in data:
            return {**cls._normalise(dict(data)), "raw": dict(data)}
        return data

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Map a variant of the payload onto the typed fields (a new dict; never in place)."""
        return data


class Platform(Payload):
    code: str
    name: str | None = None


class Metric(Payload):
    type: str | None = None
    description: str | None = None


class Chart(Payload):
    slug: str
    name: str | None = None
    type: str | None = None
    platform: str | None = None
    frequency: str | None = None
    country_code: str | None = None
    country_name: str | None = None
    max_results_count: int | None = None
    metric: Metric | None = None


class Album(Payload):
    """An album, single or compilation; fields the reference does not pin down are optional
    (the payload is kept whole in ``raw``)."""

    uuid: str
    name: str | None = None
    type: str | None = None
    upc: str | None = None
    release_date: dt.datetime | None = None
    label: str | None = None
    total_tracks: int | None = None

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        labels = data.get("labels")
        if labels and not data.get("label") and isinstance(labels[0], dict):
            data["label"] = labels[0].get("name")
        return data


class Genre(Payload):
    root: str
    sub: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"root": data, "sub": []} if isinstance(data, str) else data


class ArtistLight(Payload):
    uuid: str
    slug: str | None = None
    name: str | None = None
    app_url: str | None = None
    image_url: str | None = None


class SongLight(Payload):
    uuid: str
    name: str | None = None
    credit_name: str | None = None
    image_url: str | None = None


class RankingEntry(Payload):
    song: SongLight
    position: int = Field(ge=1)
    position_evolution: int | None = None
    metric: float | None = None
    entry_state: str | None = None
    entry_date: dt.datetime | None = None
    rank_date: dt.datetime | None = None
    old_position: int | None = None
    time_on_chart: int | None = None
    time_on_chart_unit: str | None = None


class Ranking(Payload):
    chart: Chart
    date: str
    entries: list[RankingEntry]

    @model_validator(mode="after")
    def _positions_unique(self) -> Ranking:
        positions = [e.position for e in self.entries]
        if len(positions) != len(set(positions)):
            dupes = sorted({p for p in positions if positions.count(p) > 1})
            raise ValueError(f"duplicated position(s) {dupes} in ranking")
        return self

    @property
    def ranking_date(self) -> dt.date:
        return dt.date.fromisoformat(self.date[:10])


class AvailableRankings(Payload):
    chart: Chart
    datetimes: list[str]

    @property
    def dates(self) -> list[dt.date]:
        return sorted({dt.date.fromisoformat(d[:10]) for d in self.datetimes})


class Song(Payload):
    uuid: str
    name: str | None = None
    slug: str | None = None
    credit_name: str | None = None
    image_url: str | None = None
    app_url: str | None = None
    release_date: dt.datetime | None = None
    duration: int | None = None
    explicit: bool | None = None
    language_code: str | None = None
    isrc: str | None = None
    label: str | None = None
    artists: list[ArtistLight] = Field(default_factory=list)
    main_artists: list[ArtistLight] = Field(default_factory=list)
    genres: list[Genre] = Field(default_factory=list)

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        """ISRC as an object or a string; ``labels[]`` or a legacy ``label``; null lists."""
        isrc = data.get("isrc")
        if isinstance(isrc, dict):
            data["isrc"] = isrc.get("value")
        labels = data.get("labels")
        if labels and not data.get("label"):
            first = labels[0]
            data["label"] = first.get("name") if isinstance(first, dict) else first
        elif isinstance(data.get("label"), dict):
            data["label"] = data["label"].get("name")
        for key in ("artists", "mainArtists", "genres"):
            if data.get(key) is None:
                data.pop(key, None)
        return data

    @property
    def primary_artist(self) -> ArtistLight | None:
        if self.main_artists:
            return self.main_artists[0]
        return self.artists[0] if self.artists else None


class Artist(Payload):
    uuid: str
    slug: str | None = None
    name: str | None = None
    app_url: str | None = None
    image_url: str | None = None
    country_code: str | None = None
    gender: str | None = None
    type: str | None = None
    career_stage: str | None = None
    genres: list[Genre] = Field(default_factory=list)

    @field_validator("genres", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class AudiencePoint(Payload):
    """One cumulative value of one platform identifier of a song on one day."""

    date: dt.date
    identifier: str
    value: int | None = None


class FollowerPoint(Payload):
    date: dt.datetime
    follower_count: int | None = None
    like_count: int | None = None
    following_count: int | None = None
    post_count: int | None = None
    view_count: int | None = None


class ListenerPoint(Payload):
    date: dt.datetime
    value: int | None = None
