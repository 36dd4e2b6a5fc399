"""Use cases. Callers (API routes, pages, CLI) pass a session and plain values;
services decide, validate and return JSON-ready results or raise ICityError."""
