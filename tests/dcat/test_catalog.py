"""The DCAT-AP catalogue of the test network (tests/network.py): what it says of each served IS, its
pages, modified_since, its three serialisations and its errors."""

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, RDF, XSD

from icity.app import create_app
from icity.db.engine import transaction
from icity.services import catalogue, entity_store
from tests import people
from tests.dcat.rdf import DCAT, HYDRA, assert_conforms, graph_of, local, pages, shapes
from tests.network import H0, T0, air

pytestmark = pytest.mark.postgres_ok

BASE = "http://127.0.0.1:8000"  # ICITY_PUBLIC_URL unset: the address `icity serve` listens at
SERVED = {"alpha/air", "beta/air", "gamma/air", "alpha/noise", "alpha/parking", "beta/poi"}
RESTRICTED = {"alpha/noise", "alpha/parking"}
ENTITY_TYPES = {"alpha/noise": "NoiseLevelObserved", "alpha/parking": "OffStreetParking"}
EU = "http://publications.europa.eu/resource/authority/"


def dataset(system_id: str) -> URIRef:
    return URIRef(f"{BASE}/information-systems/{system_id}#dataset")


def identifiers(graph: Graph) -> set[str]:
    return {str(graph.value(d, DCTERMS.identifier)) for d in graph.subjects(RDF.type, DCAT.Dataset)}


@pytest.fixture(scope="module")
def network(api) -> Graph:
    return graph_of(api.get("/catalog.ttl"))


def test_every_served_system_is_a_dataset_and_nothing_else(network):
    assert identifiers(network) == SERVED  # not the drafts (gamma/wifi, delta/air) nor the retired alpha/agenda
    catalog = URIRef(f"{BASE}/catalog")
    assert set(network.objects(catalog, DCAT.dataset)) == {dataset(s) for s in SERVED}
    assert network.value(catalog, HYDRA.totalItems).toPython() == 6


def test_a_dataset_says_what_the_catalogue_knows_of_its_system(network):
    air = dataset("alpha/air")
    g = network
    assert g.value(air, DCTERMS.title) == Literal("alpha air")
    assert {str(k) for k in g.objects(air, DCAT.keyword)} == {"AirQualityObserved", "Environment"}
    assert set(g.objects(air, DCAT.theme)) == {URIRef(EU + "data-theme/ENVI")}
    publisher = g.value(air, DCTERMS.publisher)
    assert (publisher, RDF.type, URIRef("http://xmlns.com/foaf/0.1/Agent")) in g
    assert str(g.value(publisher, URIRef("http://xmlns.com/foaf/0.1/name"))) == "Alpha"
    place = g.value(air, DCTERMS.spatial)
    assert "POLYGON((2.05 41.32" in str(g.value(place, DCAT.bbox)) and "POINT(2.17 41.39)" == str(g.value(place, DCAT.centroid))
    period = g.value(air, DCTERMS.temporal)  # its history starts at H0; the latest observation is station s9's
    assert g.value(period, DCAT.startDate).toPython() == H0
    assert g.value(period, DCAT.endDate).toPython() == T0 + timedelta(hours=9)
    assert g.value(air, DCTERMS.license) == URIRef(EU + "licence/CC_BY_4_0")
    assert g.value(air, DCTERMS.accessRights) == URIRef(EU + "access-right/PUBLIC")
    assert g.value(air, DCTERMS.conformsTo) == URIRef(
        "https://smart-data-models.github.io/dataModel.Environment/AirQualityObserved/schema.json"
    )
    assert g.value(air, DCTERMS.identifier) == Literal("alpha/air")
    assert g.value(air, DCAT.landingPage) == URIRef(f"{BASE}/information-systems/alpha/air")
    assert g.value(air, DCTERMS.modified).datatype == XSD.dateTime
    contact = g.value(air, DCAT.contactPoint)
    assert contact is not None and (contact, RDF.type, URIRef("http://www.w3.org/2006/vcard/ns#Kind")) in g


def test_public_data_can_be_downloaded_and_is_served_by_the_apis(network):
    air, g = dataset("alpha/air"), network
    downloads = {str(u) for d in g.objects(air, DCAT.distribution) for u in g.objects(d, DCAT.downloadURL)}
    api = f"{BASE}/api/v1/information-systems/alpha/air"
    assert downloads == {f"{api}/download.csv", f"{api}/download.geojson"}
    media = {str(g.value(d, DCAT.mediaType)) for d in g.objects(air, DCAT.distribution)}
    assert "https://www.iana.org/assignments/media-types/text/csv" in media
    services = {g.value(d, DCAT.accessService) for d in g.objects(air, DCAT.distribution)} - {None}
    assert services == {URIRef(f"{BASE}/api/v1#service"), URIRef(f"{BASE}/ngsi-ld/v1#service")}
    for service in services:
        assert (service, DCAT.servesDataset, air) in g
        assert g.value(service, DCAT.endpointURL) is not None and g.value(service, DCAT.endpointDescription) is not None
    # no incident reports in the test network: no Open311 service
    assert (URIRef(f"{BASE}/open311/v2#service"), RDF.type, DCAT.DataService) not in g


@pytest.mark.parametrize("system_id", sorted(RESTRICTED))
def test_restricted_systems_are_found_with_their_rights_but_never_with_data(api, network, system_id):
    g, restricted = network, dataset(system_id)
    assert g.value(restricted, DCTERMS.accessRights) == URIRef(EU + "access-right/RESTRICTED")
    assert "API key" in str(g.value(restricted, DCTERMS.description))
    distributions = list(g.objects(restricted, DCAT.distribution))
    assert distributions
    for distribution in distributions:
        assert g.value(distribution, DCAT.downloadURL) is None
        assert g.value(distribution, DCTERMS.rights) is not None
        assert "API key" in str(g.value(distribution, DCTERMS.description))
        # what the access URL gives an anonymous caller: a refusal, or nothing of this IS
        answer = api.get(local(g.value(distribution, DCAT.accessURL)))
        assert answer.status_code in (200, 401, 403, 404)
        assert f"urn:ngsi-ld:{ENTITY_TYPES[system_id]}:alpha:" not in answer.text
    text = api.get("/catalog.ttl").text
    assert "urn:ngsi-ld:" not in text  # no entity of any IS, restricted or not: metadata only


def test_paging_followed_to_the_end_gives_every_dataset_once(api):
    graphs = pages(api, "/catalog.jsonld?page_size=4")
    assert len(graphs) == 2
    seen = [str(g.value(d, DCTERMS.identifier)) for g in graphs for d in g.subjects(RDF.type, DCAT.Dataset)]
    assert sorted(seen) == sorted(SERVED)
    first, last = (next(g.subjects(RDF.type, HYDRA.PartialCollectionView)) for g in graphs)
    assert graphs[0].value(first, HYDRA.last) == URIRef(f"{BASE}/catalog.jsonld?page=2&page_size=4")
    assert graphs[1].value(last, HYDRA.previous) == URIRef(f"{BASE}/catalog.jsonld?page=1&page_size=4")
    assert graphs[1].value(last, HYDRA.next) is None
    for g in graphs:
        assert g.value(URIRef(f"{BASE}/catalog"), HYDRA.totalItems).toPython() == 6
    one_by_one = pages(api, "/cities/alpha/catalog.rdf?page_size=1")
    assert [identifiers(g) for g in one_by_one] == [{"alpha/air"}, {"alpha/noise"}, {"alpha/parking"}]
    assert api.get("/catalog.ttl?page_size=4&page=2").headers["link"] == f'<{BASE}/catalog.ttl?page=1&page_size=4>; rel="prev"'


def test_the_three_serialisations_give_the_same_graph(api):
    by_accept = [graph_of(api.get("/catalog", headers={"Accept": t})) for t in ("text/turtle", "application/ld+json", "application/rdf+xml")]
    assert all(isomorphic(by_accept[0], g) for g in by_accept[1:])
    by_extension = {ext: api.get(f"/catalog.{ext}").text.replace(f"/catalog.{ext}?", "/catalog?") for ext in ("ttl", "jsonld", "rdf")}
    parsed = [Graph().parse(data=by_extension[ext], format=fmt) for ext, fmt in (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml"))]
    assert all(isomorphic(by_accept[0], g) for g in parsed)


def test_json_ld_carries_its_context(api):
    body = api.get("/catalog.jsonld").json()
    assert isinstance(body["@context"], dict)  # in the document: nothing to fetch
    assert body["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [(None, "text/turtle"), ("*/*", "text/turtle"), ("application/ld+json;q=0.9, text/turtle;q=0.5", "application/ld+json"),
     ("text/html, application/rdf+xml;q=0.8", "application/rdf+xml"), ("application/*", "application/ld+json")],
)  # fmt: skip
def test_content_negotiation(api, accept, media_type):
    response = api.get("/cities/alpha/catalog", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["vary"] == "Accept"


@pytest.mark.parametrize(
    ("path", "status", "param"),
    [
        ("/catalog?page=0", 400, "page"),
        ("/catalog.ttl?page=abc", 400, "page"),
        ("/catalog.ttl?page_size=5000", 400, "page_size"),
        ("/catalog.ttl?page=3&page_size=4", 404, "page"),
        ("/catalog.ttl?modified_since=yesterday", 400, "modified_since"),
        ("/catalog.ttl?modified_since=2024-05-01T00:00:00", 400, "modified_since"),  # no zone
        ("/catalog.ttl?pagesize=2", 400, "pagesize"),
        ("/catalog.xml", 404, None),
        ("/cities/nowhere/catalog.ttl", 404, None),
        ("/cities/nowhere/catalog", 404, None),
    ],
)
def test_bad_inputs_get_a_clear_problem(api, path, status, param):
    response = api.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"]
    if param:
        assert problem["param"] == param


@pytest.mark.parametrize("accept", ["text/html", "application/json", "text/csv;q=1, */*;q=0"])
def test_an_accept_header_that_takes_no_rdf_is_406(api, accept):
    response = api.get("/catalog", headers={"Accept": accept})
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert "text/turtle" in response.json()["detail"]


def test_modified_since(network_copy):
    client = TestClient(create_app(network_copy))
    everything = graph_of(client.get("/catalog.ttl", params={"modified_since": "2000-01-01"}))
    assert identifiers(everything) == SERVED
    nothing = graph_of(client.get("/catalog.ttl", params={"modified_since": "2100-01-01T00:00:00+01:00"}))
    assert identifiers(nothing) == set()
    assert nothing.value(URIRef(f"{BASE}/catalog"), HYDRA.totalItems).toPython() == 0
    # from now on: an entity of beta/air changes, and gamma/air's description
    later = datetime.now(timezone.utc)
    with transaction(network_copy) as session:
        entity_store.upsert_entities(session, "beta/air", [air("beta", "b0", 8.90, 44.41, 99.0, T0 + timedelta(days=1))])
        catalogue.get_system_row(session, "gamma/air").description = "Now described"
    changed = graph_of(client.get("/catalog.ttl", params={"modified_since": later.isoformat().replace("+00:00", "Z")}))
    assert identifiers(changed) == {"beta/air", "gamma/air"}
    modified = changed.value(dataset("beta/air"), DCTERMS.modified).toPython()
    assert modified >= later.replace(microsecond=0)  # told to the second


def test_keys_are_checked_and_their_calls_limited_as_everywhere(network_copy):
    with transaction(network_copy) as session:
        developer = people.person(session, "harvester@dev.example")
        _, key = people.app_with_key(session, developer, name="Harvester")
    client = TestClient(create_app(network_copy))
    keyed = client.get("/catalog.ttl", headers={"X-API-Key": key})
    assert keyed.status_code == 200 and "ratelimit-limit" in keyed.headers
    forged = client.get("/catalog.ttl", headers={"X-API-Key": "icy_forged"})
    assert forged.status_code == 401 and forged.headers["content-type"] == "application/problem+json"


def test_an_owners_system_is_published_by_the_owner_where_it_lies(network_copy):
    from icity.services import owners
    from icity.services.access import CLI

    with transaction(network_copy) as session:
        owners.create_owner(session, CLI, id="campus-u", name="Alpha University", kind="campus", country="ES")
        owners.change_membership(
            session, CLI, "campus-u", to_membership="member", effective_on=T0.date(), evidence_kind="letter_of_commitment", evidence="Letter"
        )
        catalogue.create_information_system(
            session, city_id="alpha", owner_id="campus-u", slug="campus-air", name="Campus air", category="environment",
            entity_types=["AirQualityObserved"], licence="CC-BY-4.0",
        )  # fmt: skip
        catalogue.set_status(session, "alpha/campus-air", "open")
    g = graph_of(TestClient(create_app(network_copy)).get("/catalog.ttl"))
    campus = dataset("alpha/campus-air")
    publisher = g.value(campus, DCTERMS.publisher)
    assert publisher == URIRef(f"{BASE}/owners/campus-u#owner")
    assert str(g.value(publisher, URIRef("http://xmlns.com/foaf/0.1/name"))) == "Alpha University"
    assert g.value(publisher, DCTERMS.type) == URIRef("http://purl.org/adms/publishertype/Academia-ScientificOrganisation")
    assert "POINT(2.17 41.39)" == str(g.value(g.value(campus, DCTERMS.spatial), DCAT.centroid))  # where it lies: alpha
    shapes("shapes.ttl")  # skips with a clear message when the standards folder is absent
    assert_conforms(g, "a catalogue with an owner's IS")
