"""Feeds in the style of the demo cities' own systems, served by `icity serve` under
/demo-sources/ so that the demo's connectors harvest them over HTTP."""

from pathlib import Path

DEMO_FEEDS = Path(__file__).parent
DEMO_SOURCES_PATH = "/demo-sources"
