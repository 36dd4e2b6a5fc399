"""Harmonisation: turning records read from a city's own system into Smart Data Model entities."""

from icity.harmonise.mapping import Mapping, RecordRejected, map_record

__all__ = ["Mapping", "RecordRejected", "map_record"]
