"""Stable hashes of the simulator's seeds and names: the same world on every run and machine."""

from __future__ import annotations

import hashlib
import uuid as uuidlib


def stable_hash(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stable_uuid(*parts: object) -> str:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=16).digest()
    return str(uuidlib.UUID(bytes=digest, version=4))
