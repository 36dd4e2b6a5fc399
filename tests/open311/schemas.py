"""The GeoReport v2 JSON Schemas of the Open311 community (Draft 4, relative $refs), read where they are
kept: ../shared/standards/open311-georeport-v2/ beside the project's checkout."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parents[2]
# beside the checkout (../shared/standards/); a git worktree kept one folder deeper looks one level up
FOLDER = next(
    (base / "shared" / "standards" / "open311-georeport-v2" for base in (ROOT.parent, ROOT.parent.parent)
     if (base / "shared" / "standards" / "open311-georeport-v2").is_dir()),
    ROOT.parent / "shared" / "standards" / "open311-georeport-v2",
)  # fmt: skip


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources = []
    for path in FOLDER.glob("*.json"):
        resources.append((path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT4)))
    return Registry().with_resources(resources)


def validate(schema_name: str, body: Any) -> None:
    """Fails the test with every violation of `schema_name` (services.json, request.json…); skips when absent."""
    if not (FOLDER / schema_name).exists():
        pytest.skip(f"GeoReport v2 schemas not found at {FOLDER.resolve()} (../shared/standards/open311-georeport-v2/)")
    schema = _registry().contents(schema_name)
    validator = Draft4Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
