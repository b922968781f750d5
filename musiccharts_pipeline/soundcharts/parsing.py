"""Payloads validated against the models: a ContractError naming the offending fields when the API
breaks the contract."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from musiccharts_pipeline.soundcharts import errors

Model = TypeVar("Model", bound=BaseModel)


def parse_date(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.datetime.fromisoformat(value).date()
        except ValueError:
            return value
    return value


def parse_payload(model: type[Model], data: Any, what: str) -> Model:
    """``data`` validated as ``model``; a ContractError naming the offending fields if not."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.ContractError(f"{what} payload breaks the contract: {describe(exc)}") from None


def parse_list(model: type[Model], items: list, what: str) -> list[Model]:
    out = []
    for index, item in enumerate(items):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            raise errors.ContractError(
                f"{what} #{index} breaks the contract: {describe(exc)}"
            ) from None
    return out


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err["loc"]) or "(object)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
