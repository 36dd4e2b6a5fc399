"""The GeoReport v2 JSON Schemas of the Open311 community (Draft 4, relative $refs), read where they are
kept: ../shared/standards/open311-georeport-v2/ beside the project's checkout."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.standards import STANDARDS, reference_file

FOLDER = STANDARDS / "open311-georeport-v2"


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources = []
    for path in FOLDER.glob("*.json"):
        resources.append((path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT4)))
    return Registry().with_resources(resources)


def validate(schema_name: str, body: Any) -> None:
    """Fails the test with every violation of `schema_name` (services.json, request.json…); skips when absent."""
    reference_file("open311-georeport-v2", schema_name)
    schema = _registry().contents(schema_name)
    validator = Draft4Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
