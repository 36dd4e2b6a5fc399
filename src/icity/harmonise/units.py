"""Unit conversions for mapped attributes, with pint.

A conversion is resolved once, when the mapping is parsed, into `value * factor + offset`:
every pint conversion between two units is affine (temperatures included), and calling
pint for each of a harvest's hundred thousand values would dominate the run time.
"""

from __future__ import annotations

from functools import lru_cache

import pint

# Spellings that city portals use and pint does not know out of the box.
_EXTRA_UNITS = [
    "m3 = meter ** 3",
    "ug = microgram",
    "µg = microgram",
    "Nm3 = meter ** 3",  # "normal" cubic metre, as in mg/Nm3 in emission reports
]


@lru_cache(maxsize=1)
def unit_registry() -> pint.UnitRegistry:
    registry = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for definition in _EXTRA_UNITS:
        registry.define(definition)
    return registry


def check_unit(name: str) -> None:
    """Raise ValueError with a readable reason when pint does not know `name`."""
    try:
        unit_registry().Unit(name)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"unknown unit '{name}'") from exc


@lru_cache(maxsize=256)
def linear_conversion(source: str, target: str) -> tuple[float, float]:
    """(factor, offset) such that a value in `source` is `value * factor + offset` in `target`."""
    registry = unit_registry()
    try:
        at_zero = registry.Quantity(0.0, source).to(target).magnitude
        at_one = registry.Quantity(1.0, source).to(target).magnitude
    except pint.errors.DimensionalityError as exc:
        raise ValueError(f"cannot convert '{source}' to '{target}': they measure different things") from exc
    return float(at_one - at_zero), float(at_zero)
