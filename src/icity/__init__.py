"""iCity: open a city's information systems through one harmonised API."""

__version__ = "0.1.0"
