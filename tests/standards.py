"""The standards' reference files (JSON Schemas, SHACL shapes), read where they are kept:
../shared/standards/ beside the project's checkout (see its README). Not copied into the project."""

from __future__ import annotations

from pathlib import Path

import pytest

STANDARDS = Path(__file__).resolve().parents[2] / "shared" / "standards"


def reference_file(standard: str, name: str) -> Path:
    """The file `name` of `standard` (a folder of ../shared/standards/); the test is skipped, saying so, when absent."""
    path = STANDARDS / standard / name
    if not path.exists():
        pytest.skip(f"{path} not found: the reference files of {standard} are kept in ../shared/standards/ beside the checkout")
    return path
