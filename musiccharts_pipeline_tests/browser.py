"""Headless Chromium for the page tests: the DOM after rendering, and screenshots."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (make browser installs it)")
        pytest.skip("chromium is not installed")
    return path


def _flags(profile: Path) -> list[str]:
    """Headless, offline: no sandbox (root in CI), no background fetches of its own."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


def dump_dom(url: str, profile: Path) -> str:
    """The document as Chromium rendered it."""
    return subprocess.run(
        [chromium(), *_flags(profile), "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def screenshot(url: str, path: Path, profile: Path, size: tuple[int, int] = (1400, 1400)):
    """A PNG of the page at ``size``; returns it as an RGB image."""
    from PIL import Image

    subprocess.run(
        [
            chromium(),
            *_flags(profile),
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={path}",
            url,
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return Image.open(path).convert("RGB")
