"""The three serialisations of a catalogue graph, and which one an Accept header asks for.

JSON-LD carries its @context in the document (prefixes only), so that reading it never fetches
anything: rdflib writes it compacted with that context, and any JSON-LD processor expands it offline.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, XSD, Graph

from icity.dcat.vocabularies import PREFIXES
from icity.errors import ICityError


@dataclass(frozen=True)
class Format:
    extension: str
    media_type: str
    rdflib_name: str


FORMATS = {
    "ttl": Format("ttl", "text/turtle", "turtle"),
    "jsonld": Format("jsonld", "application/ld+json", "json-ld"),
    "rdf": Format("rdf", "application/rdf+xml", "xml"),
}
BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS.values()}
DEFAULT = FORMATS["ttl"]
JSON_LD_CONTEXT = {**{prefix: str(namespace) for prefix, namespace in PREFIXES.items()}, "rdf": str(RDF), "xsd": str(XSD)}


def serialise(graph: Graph, chosen: Format) -> bytes:
    if chosen.rdflib_name == "json-ld":
        return graph.serialize(format="json-ld", context=JSON_LD_CONTEXT, auto_compact=True, encoding="utf-8")
    return graph.serialize(format=chosen.rdflib_name, encoding="utf-8")


def not_acceptable(detail: str) -> ICityError:
    return ICityError(detail=detail, status=406, code="not-acceptable", title="Not acceptable", param="Accept")


def negotiate(accept: str | None) -> Format:
    """The format of the highest-quality media range of `accept` that one of ours matches (Turtle for
    none or */*); 406 when none does."""
    if accept is None or not accept.strip():
        return DEFAULT
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media_range, *parameters = [piece.strip() for piece in part.split(";")]
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_range and quality > 0:
            ranges.append((-quality, position, media_range.lower()))
    for _, _, media_range in sorted(ranges):
        if media_range in BY_MEDIA_TYPE:
            return BY_MEDIA_TYPE[media_range]
        if media_range in ("*/*", "text/*"):
            return DEFAULT
        if media_range == "application/*":
            return FORMATS["jsonld"]
    offered = ", ".join(f.media_type for f in FORMATS.values())
    raise not_acceptable(f"The catalogue is served as {offered}; the Accept header '{accept}' takes none of them.")
