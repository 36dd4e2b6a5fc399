"""The catalogue's exports against the SHACL shapes of DCAT-AP 3.0.1 (../shared/standards/dcat-ap-3.0.1):
no violation of the mandatory shapes nor of the ranges; the recommendations not met are listed as warnings."""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from rdflib import URIRef
from rdflib.namespace import DCTERMS, RDF

from icity.app import create_app
from icity.db.engine import transaction
from icity.demo import load_demo
from tests.dcat.rdf import DCAT, assert_conforms, graph_of, local, shapes

pytestmark = pytest.mark.postgres_ok


@pytest.fixture(scope="module")
def demo_client(databases):
    url = databases.new()
    with transaction(url) as session:
        load_demo(session, date(2024, 5, 15))
    return TestClient(create_app(url))


@pytest.mark.parametrize("path", ["/catalog.ttl", "/cities/barcelona/catalog.jsonld", "/cities/lamia/catalog.rdf"])
def test_the_demo_network_conforms(demo_client, path):
    shapes("shapes.ttl")  # skips with a clear message when the standards folder is absent
    graph = graph_of(demo_client.get(path, params={"page_size": 1000}))
    assert len(list(graph.subjects(RDF.type, DCAT.Dataset))) > 0
    assert_conforms(graph, f"demo {path}")


def test_the_demo_network_describes_its_open311_service(demo_client):
    graph = graph_of(demo_client.get("/catalog.ttl", params={"page_size": 1000}))
    open311 = URIRef("http://127.0.0.1:8000/open311/v2#service".replace("http://127.0.0.1:8000", _base(graph)))
    served = {graph.value(d, DCTERMS.identifier).toPython() for d in graph.objects(open311, DCAT.servesDataset)}
    # the incident reports on trial or open (Cornellà's are a draft)
    assert served == {"barcelona/incidents", "bologna/incidents", "genova/incidents", "lamia/incidents"}
    assert (open311, DCAT.endpointURL, URIRef(_base(graph) + "/open311/v2")) in graph
    # the addresses given answer: the service's description, and Bologna's (public) requests
    assert demo_client.get(local(graph.value(open311, DCAT.endpointDescription))).status_code == 200
    bologna = URIRef(_base(graph) + "/information-systems/bologna/incidents#distribution-open311")
    assert demo_client.get(local(graph.value(bologna, DCAT.accessURL))).status_code == 200


def _base(graph) -> str:
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    return str(catalog).removesuffix("/catalog")


@pytest.mark.parametrize("path", ["/catalog.ttl", "/cities/alpha/catalog.ttl", "/cities/delta/catalog.ttl", "/cities/epsilon/catalog.jsonld"])
def test_the_test_network_one_city_and_empty_cities_conform(api, path):
    shapes("shapes.ttl")
    graph = graph_of(api.get(path))
    assert_conforms(graph, f"test network {path}")
