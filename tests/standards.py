"""The standards' reference files (JSON Schemas, SHACL shapes), read where they are kept:
../shared/standards/ beside the project's checkout (see its README). Not copied into the project.

A clone of a local checkout (`git clone . /tmp/x/icity`) finds them beside the checkout it was
cloned from. In CI (`CI` set) they must be found: a conformance test that skips there proves nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]


def _origin_checkout() -> Path | None:
    """The local checkout this one was cloned from, if any."""
    try:
        url = subprocess.run(
            ["git", "-C", str(CHECKOUT), "remote", "get-url", "origin"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(url.removeprefix("file://"))
    return path.resolve() if url and path.is_dir() else None


def _standards_folder() -> Path:
    beside = CHECKOUT.parent / "shared" / "standards"
    if beside.is_dir():
        return beside
    origin = _origin_checkout()
    if origin is not None and (origin.parent / "shared" / "standards").is_dir():
        return origin.parent / "shared" / "standards"
    return beside


STANDARDS = _standards_folder()


def reference_file(standard: str, name: str) -> Path:
    """The file `name` of `standard` (a folder of ../shared/standards/); outside CI the test is
    skipped, saying so, when absent; in CI it fails."""
    path = STANDARDS / standard / name
    if not path.exists():
        message = f"{path} not found: the reference files of {standard} are kept in ../shared/standards/ beside the checkout"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
