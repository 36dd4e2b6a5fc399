"""Reading the catalogue back: its graph from a response, the SHACL shapes of DCAT-AP 3.0.1, the pages of a catalogue."""

from __future__ import annotations

import warnings
from urllib.parse import urlsplit

from pyshacl import validate
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF, SH

from tests.standards import reference_file

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
PARSERS = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/rdf+xml": "xml"}


class RecommendedPropertyMissing(UserWarning):
    """A DCAT-AP recommendation the export does not meet (shapes_recommended.ttl): listed, not failed."""


def graph_of(response) -> Graph:
    assert response.status_code == 200, response.text
    media_type = response.headers["content-type"].split(";")[0]
    return Graph().parse(data=response.content, format=PARSERS[media_type])


def shapes(name: str) -> Graph:
    return Graph().parse(reference_file("dcat-ap-3.0.1", name), format="turtle")


def results(data: Graph, shapes_file: str) -> list[tuple[str, str, str, str]]:
    """(severity, focus node, path, message) of each SHACL result."""
    _, report, _ = validate(data, shacl_graph=shapes(shapes_file), inference="none", allow_warnings=True)
    found = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = str(report.value(result, SH.resultSeverity)).split("#")[-1]
        found.append((severity, str(report.value(result, SH.focusNode)), str(report.value(result, SH.resultPath)),
                      str(report.value(result, SH.resultMessage))))
    return sorted(found)


def assert_conforms(data: Graph, what: str) -> None:
    """Zero violations of the mandatory shapes and of the ranges; the recommendations not met listed as warnings."""
    for shapes_file in ("shapes.ttl", "range.ttl"):
        violations = results(data, shapes_file)
        assert violations == [], f"{what} against {shapes_file}:\n" + "\n".join(map(" ".join, violations))
    missing: dict[str, list[str]] = {}
    for _, node, path, _ in results(data, "shapes_recommended.ttl"):
        missing.setdefault(path, []).append(node)
    for path, nodes in sorted(missing.items()):
        warnings.warn(f"{what}: recommended {path} missing on {len(nodes)} node(s), e.g. <{nodes[0]}>",
                      RecommendedPropertyMissing, stacklevel=2)


def local(url: URIRef | str) -> str:
    """The path and query of one of the platform's URLs, for the test client."""
    parts = urlsplit(str(url))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pages(client, first: str, headers: dict | None = None) -> list[Graph]:
    """Every page of a catalogue, following hydra:next from `first`."""
    graphs, url, seen = [], first, set()
    while url is not None:
        assert url not in seen, f"hydra:next goes round in circles at {url}"
        seen.add(url)
        graph = graph_of(client.get(url, headers=headers or {}))
        graphs.append(graph)
        views = list(graph.subjects(RDF.type, HYDRA.PartialCollectionView))
        assert len(views) == 1
        following = graph.value(views[0], HYDRA.next)
        url = local(following) if following is not None else None
    return graphs
