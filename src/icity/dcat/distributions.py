"""How an IS's data are reached, in DCAT terms: its downloads (CSV, GeoJSON) and its APIs as
distributions, and the platform's APIs (/api/v1, NGSI-LD, Open311) as data services serving it.

Restricted IS (policy `registered` or `approval`): the same distributions, but with an access URL
only, never a `dcat:downloadURL`. A download URL promises a file anyone can fetch, and a harvester
(or its link checker) would fetch it; these addresses answer only a request carrying the key of an
app allowed to read the IS, so they are access URLs, described as such (dct:rights and a description
say what is needed), and the dataset says RESTRICTED in dct:accessRights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS

from icity.dcat import vocabularies as vocab
from icity.services.publication import PublishedSystem

if TYPE_CHECKING:
    from icity.dcat.graph import CatalogGraph


@dataclass(frozen=True)
class Service:
    key: str
    path: str  # its endpoint, under the public URL
    title: str
    description: str
    description_url: str  # dcat:endpointDescription: under the public URL when it starts with /
    standard: tuple[str, str] | None  # (IRI, title) of the standard it implements
    keyword: str


SERVICES = {
    "api": Service(
        "api", "/api/v1", "iCity API v1",
        "iCity's REST API: the entities of every information system, harmonised on the FIWARE Smart Data Models, "
        "their history, geo-queries, subscriptions and downloads. Public data need no key; restricted data the key "
        "of an app allowed to read them.",
        "/openapi.json", None, "REST API",
    ),
    "ngsi-ld": Service(
        "ngsi-ld", "/ngsi-ld/v1", "iCity NGSI-LD API",
        "The same entities through the NGSI-LD API (ETSI GS CIM 009): what FIWARE apps speak. The NGSILD-Tenant "
        "header narrows a request to a city or to one information system (city/slug).",
        "https://www.etsi.org/deliver/etsi_gs/CIM/001_099/009/01.08.01_60/gs_CIM009v010801p.pdf",
        ("https://www.etsi.org/deliver/etsi_gs/CIM/001_099/009/01.08.01_60/gs_CIM009v010801p.pdf",
         "ETSI GS CIM 009 V1.8.1, Context Information Management (CIM); NGSI-LD API"),
        "NGSI-LD",
    ),
    "open311": Service(
        "open311", "/open311/v2", "iCity Open311 GeoReport v2",
        "Incident reports (service requests) of the cities through Open311 GeoReport v2: report and follow them "
        "with the same client code in every city; jurisdiction_id names the city.",
        "/open311/v2/discovery.json", ("http://wiki.open311.org/GeoReport_v2/", "Open311 GeoReport v2"), "Open311",
    ),
}  # fmt: skip


def services_of(system: PublishedSystem) -> list[str]:
    return ["api", "ngsi-ld", *(["open311"] if system.serves_service_requests else [])]


def add_services(builder: CatalogGraph, coordinator: URIRef) -> None:
    """The platform's data services, on every page (Open311 on a page with incident reports)."""
    g, base = builder.graph, builder.base
    wanted = ["api", "ngsi-ld"]
    if any(system.serves_service_requests for system in builder.publication.systems):
        wanted.append("open311")
    for key in wanted:
        service = SERVICES[key]
        node = URIRef(f"{base}{service.path}#service")
        builder.services[key] = node
        g.add((builder.catalog, DCAT.service, node))
        g.add((node, RDF.type, DCAT.DataService))
        g.add((node, DCTERMS.title, Literal(service.title, lang="en")))
        g.add((node, DCTERMS.description, Literal(service.description, lang="en")))
        g.add((node, DCAT.endpointURL, URIRef(base + service.path)))
        described = base + service.description_url if service.description_url.startswith("/") else service.description_url
        g.add((node, DCAT.endpointDescription, URIRef(described)))
        g.add((node, DCTERMS.publisher, coordinator))
        g.add((node, DCAT.contactPoint, builder.coordinator_contact))
        g.add((node, DCAT.keyword, Literal(service.keyword)))
        if service.standard is not None:
            g.add((node, DCTERMS.conformsTo, vocab.standard(g, *service.standard)))
        served_themes = {theme for system in builder.publication.systems if key in services_of(system)
                         for theme in vocab.themes(g, system.category)}  # fmt: skip
        for theme in sorted(served_themes):
            g.add((node, DCAT.theme, theme))


def add_distributions(builder: CatalogGraph, system: PublishedSystem, licence: URIRef | None) -> list[URIRef]:
    base = builder.base
    api = f"{base}/api/v1/information-systems/{quote(system.city_id)}/{quote(system.slug)}"
    made = [
        _distribution(builder, system, licence, "csv", "csv", f"{api}/download.csv", download=True,
                      title="Current entities (CSV)", text="Every current entity of the information system, one row each."),
        _distribution(builder, system, licence, "geojson", "geojson", f"{api}/download.geojson", download=True,
                      title="Current entities (GeoJSON)", text="Every current entity of the information system as a GeoJSON feature."),
        _distribution(builder, system, licence, "api", "json",
                      f"{base}/api/v1/entities?{urlencode({'informationSystem': system.id})}", service="api",
                      title="Entities through the iCity API", text="The entities, queried and paged through the iCity API v1."),
        _distribution(builder, system, licence, "ngsi-ld", "jsonld",
                      f"{base}/ngsi-ld/v1/entities?{urlencode({'type': ','.join(system.entity_types)})}", service="ngsi-ld",
                      title="Entities through NGSI-LD",
                      text=f"The entities through the NGSI-LD API; send the header NGSILD-Tenant: {system.id} to keep to this information system."),
    ]  # fmt: skip
    if system.serves_service_requests:
        made.append(_distribution(
            builder, system, licence, "open311", "json",
            f"{base}/open311/v2/requests.json?{urlencode({'jurisdiction_id': system.city_id})}", service="open311",
            title="Service requests through Open311", text="The city's service requests through Open311 GeoReport v2 (JSON; XML at requests.xml).",
        ))  # fmt: skip
    return made


def _distribution(
    builder: CatalogGraph, system: PublishedSystem, licence: URIRef | None, name: str, file_format: str, url: str, *,
    title: str, text: str, download: bool = False, service: str | None = None,
) -> URIRef:  # fmt: skip
    g = builder.graph
    node = URIRef(f"{builder.system_page(system)}#distribution-{name}")
    g.add((node, RDF.type, DCAT.Distribution))
    g.add((node, DCTERMS.title, Literal(title, lang="en")))
    g.add((node, DCAT.accessURL, URIRef(url)))
    if download and not system.restricted:
        g.add((node, DCAT.downloadURL, URIRef(url)))
    if system.restricted:
        rights = URIRef(f"{builder.system_page(system)}#rights")
        g.add((rights, RDF.type, DCTERMS.RightsStatement))
        g.add((rights, RDFS.label, Literal(_needs_key(system), lang="en")))
        g.add((node, DCTERMS.rights, rights))
        text = f"{text} {_needs_key(system)}"
    g.add((node, DCTERMS.description, Literal(text, lang="en")))
    format_node, media_type = vocab.file_format(g, file_format)
    g.add((node, DCTERMS.format, format_node))
    g.add((node, DCAT.mediaType, media_type))
    if licence is not None:
        g.add((node, DCTERMS.license, licence))
    availability = vocab.availability(g, system.status)
    if availability is not None:
        g.add((node, vocab.DCATAP.availability, availability))
    if service is not None:
        g.add((node, DCAT.accessService, builder.services[service]))
    return node


def _needs_key(system: PublishedSystem) -> str:
    if system.access_policy == "registered":
        return "Restricted: answers only requests with the API key of an approved developer's app."
    return "Restricted: answers only requests with the API key of an app whose access request the city approved."
