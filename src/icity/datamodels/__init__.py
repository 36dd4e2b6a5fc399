"""Canonical entity types (FIWARE Smart Data Models) and their validation."""

from icity.datamodels.registry import AttributeSpec, DataModel, get_registry

__all__ = ["AttributeSpec", "DataModel", "get_registry"]
