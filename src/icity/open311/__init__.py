"""Open311 GeoReport v2 at /open311/v2: citizen apps report and follow a city's incidents (service requests)."""
