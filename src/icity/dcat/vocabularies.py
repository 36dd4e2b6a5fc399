"""The vocabularies a DCAT-AP catalogue speaks, and how iCity's own terms map onto them.

Values from controlled vocabularies (EU authority tables, IANA media types, ADMS) are IRIs; each one
used is typed in the graph with the class DCAT-AP expects of it (the range shapes check classes, and
nothing is fetched to learn them), with its label where the shapes ask for one.
"""

from __future__ import annotations

from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
GEOSPARQL = Namespace("http://www.opengis.net/ont/geosparql#")
EU = "http://publications.europa.eu/resource/authority/"
DATA_THEME = Namespace(EU + "data-theme/")
DATA_THEMES = URIRef(EU + "data-theme")
ACCESS_RIGHT = Namespace(EU + "access-right/")
LICENCE = Namespace(EU + "licence/")
FILE_TYPE = Namespace(EU + "file-type/")
LANGUAGE = Namespace(EU + "language/")
AVAILABILITY = Namespace(EU + "planned-availability/")
IANA = "https://www.iana.org/assignments/media-types/"
PUBLISHER_TYPE = Namespace("http://purl.org/adms/publishertype/")
LICENCE_TYPE = Namespace("http://purl.org/adms/licencetype/")
DCATAP = Namespace("http://data.europa.eu/r5r/")

PREFIXES = {
    "dcat": DCAT, "dct": DCTERMS, "foaf": FOAF, "skos": SKOS, "vcard": VCARD, "hydra": HYDRA,
    "dcatap": DCATAP, "locn": Namespace("http://www.w3.org/ns/locn#"), "gsp": GEOSPARQL, "rdfs": RDFS,
}  # fmt: skip

# EU data themes, with their English labels
THEME_LABELS = {
    "AGRI": "Agriculture, fisheries, forestry and food", "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport", "ENER": "Energy", "ENVI": "Environment",
    "GOVE": "Government and public sector", "HEAL": "Health", "INTR": "International issues",
    "JUST": "Justice, legal system and public safety", "REGI": "Regions and cities",
    "SOCI": "Population and society", "TECH": "Science and technology", "TRAN": "Transport",
}  # fmt: skip
# iCity's categories (services/catalogue.CATEGORIES) → EU data themes
CATEGORY_THEMES = {
    "sensor-data": ("ENVI", "TECH"),  # air, noise, traffic and weather sensors
    "transport-mobility": ("TRAN",),
    "environment": ("ENVI",),
    "e-government": ("GOVE",),
    "tourism-culture": ("EDUC",),  # the EU theme of culture
    "wifi": ("TECH",),
    "gis": ("REGI",),
    "energy": ("ENER",),
}

# Licence names as cities give them in iCity (SPDX-like) → the EU licence authority, its title and ADMS licence types
LICENCES = {
    "cc-by-4.0": ("CC_BY_4_0", "Creative Commons Attribution 4.0 International", ("Attribution",)),
    "cc-by-sa-4.0": ("CC_BYSA_4_0", "Creative Commons Attribution-ShareAlike 4.0 International", ("Attribution", "ShareAlike")),
    "cc0-1.0": ("CC0", "Creative Commons CC0 1.0 Universal", ("PublicDomain",)),
    "cc0": ("CC0", "Creative Commons CC0 1.0 Universal", ("PublicDomain",)),
    "odc-by-1.0": ("ODC_BY", "Open Data Commons Attribution License 1.0", ("Attribution",)),
    "odbl-1.0": ("ODC_BL", "Open Data Commons Open Database License 1.0", ("Attribution", "ShareAlike")),
    "pddl-1.0": ("ODC_PDDL", "Open Data Commons Public Domain Dedication and License 1.0", ("PublicDomain",)),
    "ogl-uk-3.0": ("OGL_3_0", "Open Government Licence 3.0", ("Attribution",)),
}
LICENCE_TYPE_LABELS = {"Attribution": "Attribution", "ShareAlike": "Share alike", "PublicDomain": "Public domain"}

ACCESS_RIGHTS = {"public": "PUBLIC", "registered": "RESTRICTED", "approval": "RESTRICTED"}
ACCESS_RIGHT_LABELS = {"PUBLIC": "Public", "RESTRICTED": "Restricted"}
# an IS on trial may still change; an open one is there to stay
AVAILABILITIES = {"trial": ("EXPERIMENTAL", "Experimental"), "open": ("STABLE", "Stable")}

# (EU file type, IANA media type) of each format iCity serves
FORMATS = {
    "csv": ("CSV", "text/csv"),
    "geojson": ("GEOJSON", "application/geo+json"),
    "json": ("JSON", "application/json"),
    "jsonld": ("JSON_LD", "application/ld+json"),
}


def label(graph: Graph, node: URIRef, text: str) -> None:
    graph.add((node, SKOS.prefLabel, Literal(text, lang="en")))


def concept(graph: Graph, node: URIRef, text: str, scheme: URIRef | None = None) -> URIRef:
    graph.add((node, RDF.type, SKOS.Concept))
    label(graph, node, text)
    if scheme is not None:
        graph.add((node, SKOS.inScheme, scheme))
    return node


def themes(graph: Graph, category: str) -> list[URIRef]:
    nodes = []
    for code in CATEGORY_THEMES.get(category, ()):
        nodes.append(concept(graph, DATA_THEME[code], THEME_LABELS[code], DATA_THEMES))
    return nodes


def theme_taxonomy(graph: Graph) -> URIRef:
    graph.add((DATA_THEMES, RDF.type, SKOS.ConceptScheme))
    graph.add((DATA_THEMES, DCTERMS.title, Literal("Data theme", lang="en")))
    return DATA_THEMES


def licence(graph: Graph, name: str, fallback: URIRef) -> URIRef | None:
    """The licence document of an iCity licence name: the EU authority's where known; else
    `fallback` (an IRI of the platform's own) titled with the name as the city gave it."""
    if not name.strip():
        return None
    known = LICENCES.get(name.strip().lower())
    if known is None:
        graph.add((fallback, RDF.type, DCTERMS.LicenseDocument))
        graph.add((fallback, DCTERMS.title, Literal(name.strip())))
        return fallback
    code, title, kinds = known
    node = LICENCE[code]
    graph.add((node, RDF.type, DCTERMS.LicenseDocument))
    graph.add((node, DCTERMS.title, Literal(title, lang="en")))
    for kind in kinds:
        graph.add((node, DCTERMS.type, concept(graph, LICENCE_TYPE[kind], LICENCE_TYPE_LABELS[kind])))
    return node


def access_rights(graph: Graph, policy: str) -> URIRef:
    code = ACCESS_RIGHTS[policy]
    node = ACCESS_RIGHT[code]
    graph.add((node, RDF.type, DCTERMS.RightsStatement))
    graph.add((node, RDFS.label, Literal(ACCESS_RIGHT_LABELS[code], lang="en")))
    return node


def availability(graph: Graph, status: str) -> URIRef | None:
    if status not in AVAILABILITIES:
        return None
    code, text = AVAILABILITIES[status]
    return concept(graph, AVAILABILITY[code], text)


def file_format(graph: Graph, key: str) -> tuple[URIRef, URIRef]:
    """(dct:format, dcat:mediaType) of one of iCity's formats, both typed."""
    file_type, media_type = FORMATS[key]
    format_node, media_node = FILE_TYPE[file_type], URIRef(IANA + media_type)
    graph.add((format_node, RDF.type, DCTERMS.MediaTypeOrExtent))
    graph.add((media_node, RDF.type, DCTERMS.MediaType))
    return format_node, media_node


def english(graph: Graph) -> URIRef:
    node = LANGUAGE["ENG"]
    graph.add((node, RDF.type, DCTERMS.LinguisticSystem))
    return node


def local_authority(graph: Graph) -> URIRef:
    return concept(graph, PUBLISHER_TYPE["LocalAuthority"], "Local Authority")


# ADMS publisher types of infrastructure owners: a campus is academia; the others are companies
# (public transport operators and utilities owned by a city are still companies in ADMS's sense)
OWNER_PUBLISHER_TYPES = {"campus": ("Academia-ScientificOrganisation", "Academia/Scientific organisation")}


def owner_type(graph: Graph, kind: str) -> URIRef:
    name, label = OWNER_PUBLISHER_TYPES.get(kind, ("Company", "Company"))
    return concept(graph, PUBLISHER_TYPE[name], label)


def document(graph: Graph, url: str) -> URIRef:
    node = URIRef(url)
    graph.add((node, RDF.type, FOAF.Document))
    return node


def standard(graph: Graph, url: str, title: str) -> URIRef:
    node = URIRef(url)
    graph.add((node, RDF.type, DCTERMS.Standard))
    graph.add((node, DCTERMS.title, Literal(title)))
    return node


def bind_prefixes(graph: Graph) -> None:
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)

