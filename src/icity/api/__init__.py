"""HTTP layer: validates and translates requests, calls services, renders results."""
