"""One page of the catalogue as a DCAT-AP 3.0.1 graph, built with rdflib from what the services publish.

IRIs: everything described lives under the platform's public URL. A dataset is the fragment
`#dataset` of its IS's page on the portal (the landing page, where a person reads about it and asks
for access); its distributions, its period and its rights are other fragments of that page; a city
(publisher) and its place are fragments of the city's page. So the same thing has the same IRI on
every page and in every catalogue (the network's and its city's), and a harvester merges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from icity.datamodels import get_registry
from icity.dcat import distributions
from icity.dcat import vocabularies as vocab
from icity.dcat.vocabularies import GEOSPARQL, HYDRA, VCARD
from icity.services.publication import Publication, PublishedCity, PublishedSystem

COORDINATOR = "iCity city network coordinator"
RESTRICTED_NOTE = (
    "The data of this information system are restricted ({policy}): the address answers only a request "
    "carrying an API key ({who}). Ask for access on the landing page; this catalogue gives no anonymous "
    "download of them."
)
WHO_READS = {
    "registered": "of any app of an approved developer",
    "approval": "of an app whose access request the city approved",
}


def _time(value: datetime) -> Literal:
    return Literal(value.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD.dateTime)


@dataclass(frozen=True)
class Page:
    """Where this page of the catalogue was asked for: its catalogue, the path and query it answers."""

    base: str  # the platform's public URL, no trailing slash
    path: str  # /catalog, /catalog.ttl, /cities/x/catalog.jsonld …
    catalog_path: str  # /catalog or /cities/x/catalog
    query: dict[str, str]  # the parameters asked (page and page_size set on each link)
    city: str | None

    def url(self, page: int, page_size: int) -> URIRef:
        return URIRef(f"{self.base}{self.path}?{urlencode({**self.query, 'page': page, 'page_size': page_size})}")


class CatalogGraph:
    def __init__(self, publication: Publication, page: Page):
        self.publication = publication
        self.page = page
        self.base = page.base
        self.graph = Graph()
        vocab.bind_prefixes(self.graph)
        self.catalog = URIRef(self.base + page.catalog_path)
        self.services: dict[str, URIRef] = {}
        self.coordinator_contact = URIRef(self.base + "/#contact")

    # ---- IRIs ---------------------------------------------------------------------------

    def system_page(self, system: PublishedSystem) -> str:
        return f"{self.base}/information-systems/{quote(system.city_id)}/{quote(system.slug)}"

    def dataset_iri(self, system: PublishedSystem) -> URIRef:
        return URIRef(self.system_page(system) + "#dataset")

    def city_page(self, city_id: str) -> str:
        return f"{self.base}/cities/{quote(city_id)}"

    # ---- the graph ------------------------------------------------------------------------

    def build(self) -> Graph:
        g, publication = self.graph, self.publication
        coordinator = self._coordinator()
        g.add((self.catalog, RDF.type, DCAT.Catalog))
        city = publication.cities.get(self.page.city) if self.page.city else None
        if city is None:
            title = "iCity: the information systems opened by the cities of the network"
            description = ("Every information system the cities of the iCity network opened (on trial or open), "
                           "harmonised on the FIWARE Smart Data Models and served through one API, NGSI-LD and "
                           "Open311, with its licence, its access policy and its downloads.")  # fmt: skip
            homepage = f"{self.base}/catalogue"
        else:
            title = f"{city.name}: information systems opened through iCity"
            description = (f"The information systems {city.name} opened through the iCity platform (on trial or open), "
                           "with their licence, access policy, APIs and downloads.")  # fmt: skip
            homepage = self.city_page(city.id)
        g.add((self.catalog, DCTERMS.title, Literal(title, lang="en")))
        g.add((self.catalog, DCTERMS.description, Literal(description, lang="en")))
        g.add((self.catalog, DCTERMS.publisher, coordinator))
        g.add((self.catalog, DCTERMS.language, vocab.english(g)))
        g.add((self.catalog, DCAT.themeTaxonomy, vocab.theme_taxonomy(g)))
        g.add((self.catalog, FOAF.homepage, vocab.document(g, homepage)))
        if publication.last_change is not None:
            g.add((self.catalog, DCTERMS.modified, _time(publication.last_change)))
        if publication.first_opened is not None:
            g.add((self.catalog, DCTERMS.issued, _time(publication.first_opened)))
        for place in publication.cities.values():
            g.add((self.catalog, DCTERMS.spatial, self._location(place)))
        distributions.add_services(self, coordinator)
        for system in publication.systems:
            dataset = self._dataset(system)
            g.add((self.catalog, DCAT.dataset, dataset))
        self._paging()
        return g

    def _coordinator(self) -> URIRef:
        g = self.graph
        agent = URIRef(self.base + "/#coordinator")
        g.add((agent, RDF.type, FOAF.Agent))
        g.add((agent, FOAF.name, Literal(COORDINATOR, lang="en")))
        g.add((agent, FOAF.homepage, vocab.document(g, self.base + "/")))
        # the platform's own services are answered for by the coordinator, reached through the portal
        contact = self.coordinator_contact
        g.add((contact, RDF.type, VCARD.Kind))
        g.add((contact, VCARD.fn, Literal(COORDINATOR, lang="en")))
        g.add((contact, VCARD.hasURL, URIRef(self.base + "/")))
        return agent

    def _city_agent(self, city_id: str) -> URIRef:
        g, city = self.graph, self._city(city_id)
        agent = URIRef(self.city_page(city_id) + "#city")
        g.add((agent, RDF.type, FOAF.Agent))
        g.add((agent, FOAF.name, Literal(city.name if city else city_id)))
        g.add((agent, DCTERMS.type, vocab.local_authority(g)))
        return agent

    def _publisher_agent(self, system: PublishedSystem) -> URIRef:
        """The city, or the infrastructure owner that opened the IS in it (a fragment of its page)."""
        publisher = system.publisher
        if publisher.kind == "city":
            return self._city_agent(publisher.id)
        g = self.graph
        agent = URIRef(f"{self.base}/owners/{quote(publisher.id)}#owner")
        g.add((agent, RDF.type, FOAF.Agent))
        g.add((agent, FOAF.name, Literal(publisher.name)))
        g.add((agent, DCTERMS.type, vocab.owner_type(g, publisher.owner_kind or "")))
        return agent

    def _city(self, city_id: str) -> PublishedCity | None:
        return self.publication.cities.get(city_id)

    def _location(self, city: PublishedCity) -> URIRef:
        g = self.graph
        place = URIRef(self.city_page(city.id) + "#place")
        g.add((place, RDF.type, DCTERMS.Location))
        g.add((place, RDFS.label, Literal(city.name)))
        if city.bbox and len(city.bbox) == 4:
            west, south, east, north = city.bbox
            polygon = f"POLYGON(({west} {south}, {east} {south}, {east} {north}, {west} {north}, {west} {south}))"
            g.add((place, DCAT.bbox, Literal(polygon, datatype=GEOSPARQL.wktLiteral)))
        if city.lon is not None and city.lat is not None:
            g.add((place, DCAT.centroid, Literal(f"POINT({city.lon} {city.lat})", datatype=GEOSPARQL.wktLiteral)))
        return place

    def _contact(self, system: PublishedSystem) -> URIRef:
        """Who answers for the IS: its operator, in its city. iCity keeps no contact address of a
        city or an operator (city admins' own addresses are personal: not published), so the contact
        is reached through its documentation or the IS's page."""
        g, city = self.graph, self._city(system.city_id)
        contact = URIRef(self.system_page(system) + "#contact")
        g.add((contact, RDF.type, VCARD.Kind))
        g.add((contact, RDF.type, VCARD.Organization))
        city_name = city.name if city else system.city_id
        operator = system.provider or (system.publisher.name if system.publisher.kind == "owner" else "")
        g.add((contact, VCARD.fn, Literal(f"{operator} ({city_name})" if operator else city_name)))
        g.add((contact, VCARD.hasURL, URIRef(system.documentation_url or self.system_page(system))))
        return contact

    def _dataset(self, system: PublishedSystem) -> URIRef:
        g = self.graph
        dataset = self.dataset_iri(system)
        g.add((dataset, RDF.type, DCAT.Dataset))
        g.add((dataset, DCTERMS.identifier, Literal(system.id)))
        g.add((dataset, DCTERMS.title, Literal(system.name)))
        g.add((dataset, DCTERMS.description, Literal(self._description(system))))
        for keyword in [*system.entity_types, system.category_name]:
            g.add((dataset, DCAT.keyword, Literal(keyword)))
        for theme in vocab.themes(g, system.category):
            g.add((dataset, DCAT.theme, theme))
        g.add((dataset, DCTERMS.publisher, self._publisher_agent(system)))
        city = self._city(system.city_id)
        if city is not None:
            g.add((dataset, DCTERMS.spatial, self._location(city)))
        if system.history_start is not None:
            period = URIRef(self.system_page(system) + "#period")
            g.add((period, RDF.type, DCTERMS.PeriodOfTime))
            g.add((period, DCAT.startDate, _time(system.history_start)))
            g.add((period, DCAT.endDate, _time(system.history_end or system.history_start)))
            g.add((dataset, DCTERMS.temporal, period))
        licence = vocab.licence(g, system.licence, URIRef(self.system_page(system) + "#licence"))
        if licence is not None:
            g.add((dataset, DCTERMS.license, licence))
        g.add((dataset, DCTERMS.accessRights, vocab.access_rights(g, system.access_policy)))
        g.add((dataset, DCAT.contactPoint, self._contact(system)))
        registry = get_registry()
        for entity_type in system.entity_types:
            model = registry.get(entity_type)
            if model is not None:
                g.add((dataset, DCTERMS.conformsTo, vocab.standard(g, model.schema_url, f"Smart Data Model {entity_type}")))
        g.add((dataset, DCTERMS.modified, _time(system.last_change)))
        if system.opened_at is not None:
            g.add((dataset, DCTERMS.issued, _time(system.opened_at)))
        g.add((dataset, DCAT.landingPage, vocab.document(g, self.system_page(system))))
        if system.documentation_url:
            g.add((dataset, FOAF.page, vocab.document(g, system.documentation_url)))
        for distribution in distributions.add_distributions(self, system, licence):
            g.add((dataset, DCAT.distribution, distribution))
        for key in distributions.services_of(system):
            g.add((self.services[key], DCAT.servesDataset, dataset))
        return dataset

    def _description(self, system: PublishedSystem) -> str:
        text = system.description.strip() or f"{system.name}: {system.category_name} information system."
        if system.restricted:
            text += " " + RESTRICTED_NOTE.format(policy=system.access_policy, who=WHO_READS[system.access_policy])
        return text

    def _paging(self) -> None:
        """Hydra paging: the catalogue is the collection; this page a view of it, with its neighbours.
        Typed hydra:PagedCollection too, the class CKAN's DCAT harvester follows `hydra:next` from."""
        g, publication = self.graph, self.publication
        view = self.page.url(publication.page, publication.page_size)
        g.add((self.catalog, RDF.type, HYDRA.Collection))
        g.add((self.catalog, HYDRA.totalItems, Literal(publication.total, datatype=XSD.nonNegativeInteger)))
        g.add((self.catalog, HYDRA.view, view))
        g.add((view, RDF.type, HYDRA.PartialCollectionView))
        g.add((view, RDF.type, HYDRA.PagedCollection))
        g.add((view, HYDRA.totalItems, Literal(publication.total, datatype=XSD.nonNegativeInteger)))
        g.add((view, HYDRA.itemsPerPage, Literal(publication.page_size, datatype=XSD.nonNegativeInteger)))
        g.add((view, HYDRA.first, self.page.url(1, publication.page_size)))
        g.add((view, HYDRA.last, self.page.url(publication.last_page, publication.page_size)))
        if publication.page > 1:
            g.add((view, HYDRA.previous, self.page.url(publication.page - 1, publication.page_size)))
        if publication.page < publication.last_page:
            g.add((view, HYDRA.next, self.page.url(publication.page + 1, publication.page_size)))


def catalog_graph(publication: Publication, page: Page) -> Graph:
    return CatalogGraph(publication, page).build()
