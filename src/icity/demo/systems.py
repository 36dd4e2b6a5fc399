"""The information systems the consortium and pilot cities open, their
providers and devices, and the entities each yields.

Air quality is open and public in the four consortium cities, with three weeks
of synthetic hourly history: the same app runs on all of them (the portability
showcase, and the query benchmark's workload). A few systems are `registered`
or `approval`, and a couple stay in `draft`.

Most systems get deterministic synthetic entities at load time. Those listed in
`icity.demo.connected` (Cornellà's City Agenda and air quality, Bologna's bus
stops and lines, Lamía's incident reports) get a connector and a schedule
instead, reading feeds in the style of the city's own systems, and are filled by
the harvest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from icity.demo import connected, synthetic
from icity.demo.kinds import KINDS, SystemKind
from icity.demo.network import CITIES, COORDINATOR
from icity.services import alarms, catalogue, entity_store


@dataclass(frozen=True)
class SystemPlan:
    city: str
    kind: str  # a key of KINDS
    status: str  # draft | trial | open
    access_policy: str
    operator: str
    licence: str
    documentation_url: str


ENTITY_COUNTS = {
    "air-quality": 5,
    "noise": 4,
    "parking": 8,
    "parking-spots": 30,
    "wifi": 20,
    "ev-charging": 10,
    "incidents": 25,
    "points-of-interest": 6,
    "bike-sharing": 15,
    "city-map": 0,  # the city's districts decide
}
MANUFACTURERS = {"air-quality": "Teledyne API", "noise": "CESVA Instruments"}
# seconds between two reports: an air-quality station's 10-minute means, a noise meter's minute
REPORTING_PERIODS_S = {"air-quality": 600, "noise": 60}
# the alarm rules the cities set on their sensor networks (the demo simulator's excursions raise them)
ALARM_RULES = {
    "air-quality": {
        "name": "NO2 above the EU hourly limit (200 µg/m³)", "kind": "threshold", "entityType": "AirQualityObserved",
        "attribute": "no2", "operator": "above", "threshold": 200, "severity": "high",
    },
    "noise": {
        "name": "Noise above 80 dB(A)", "kind": "threshold", "entityType": "NoiseLevelObserved",
        "attribute": "LAeq", "operator": "above", "threshold": 80, "severity": "medium",
    },
}  # fmt: skip


def _plans(city: str, portal: str, licence: str, rows: list[tuple[str, str, str, str]]) -> list[SystemPlan]:
    return [SystemPlan(city, kind, status, policy, operator, licence, portal) for kind, status, policy, operator in rows]


PLANS: list[SystemPlan] = [
    *_plans("barcelona", "https://opendata-ajuntament.barcelona.cat/", "CC-BY-4.0", [
        ("air-quality", "open", "public", "Generalitat de Catalunya – XVPCA air quality network"),
        ("noise", "open", "registered", "Ajuntament de Barcelona – Ecologia Urbana"),
        ("parking", "open", "public", "B:SM – Barcelona de Serveis Municipals"),
        ("wifi", "open", "public", "Barcelona WiFi – Institut Municipal d'Informàtica"),
        ("ev-charging", "open", "public", "Endolla Barcelona (B:SM)"),
        ("incidents", "trial", "registered", "IRIS – Ajuntament de Barcelona"),
        ("points-of-interest", "open", "public", "Turisme de Barcelona"),
        ("bike-sharing", "open", "public", "Bicing (B:SM)"),
        ("city-map", "open", "public", "Institut Municipal d'Informàtica – Cartografia"),
    ]),
    *_plans("genova", "https://dati.comune.genova.it/", "CC-BY-4.0", [
        ("air-quality", "open", "public", "ARPAL – Agenzia Regionale per la Protezione dell'Ambiente Ligure"),
        ("noise", "trial", "public", "Comune di Genova – Direzione Ambiente"),
        ("parking", "open", "public", "Genova Parcheggi S.p.A."),
        ("wifi", "open", "public", "Comune di Genova – Sistemi Informativi"),
        ("incidents", "open", "registered", "Comune di Genova – Segnalazioni"),
        ("points-of-interest", "open", "public", "Comune di Genova – Turismo"),
        ("city-map", "open", "public", "Comune di Genova – Sistema Informativo Territoriale"),
        ("ev-charging", "draft", "public", "Comune di Genova – Mobilità"),
    ]),
    *_plans("london", "https://data.london.gov.uk/", "OGL-UK-3.0", [
        ("air-quality", "open", "public", "London Air Quality Network (Imperial College London)"),
        ("noise", "open", "public", "Greater London Authority – Environment"),
        ("parking", "open", "approval", "Transport for London"),
        ("ev-charging", "open", "registered", "Transport for London"),
        ("bike-sharing", "open", "public", "Santander Cycles (Transport for London)"),
        ("wifi", "trial", "public", "City of London Corporation"),
        ("points-of-interest", "open", "public", "London & Partners"),
        ("city-map", "open", "public", "Greater London Authority – City Intelligence Unit"),
    ]),
    *_plans("bologna", "https://opendata.comune.bologna.it/", "CC-BY-4.0", [
        ("air-quality", "open", "public", "ARPAE Emilia-Romagna"),
        ("noise", "open", "public", "Comune di Bologna – Ambiente"),
        ("parking-spots", "trial", "approval", "Comune di Bologna – Mobilità"),
        ("wifi", "open", "public", "Iperbole WiFi – Comune di Bologna"),
        ("ev-charging", "open", "public", "Comune di Bologna – Mobilità sostenibile"),
        ("incidents", "open", "public", "Comune di Bologna – Relazioni con il pubblico"),
        ("points-of-interest", "open", "public", "Bologna Welcome"),
        ("bus-stops", "open", "public", "TPER – Trasporto Passeggeri Emilia-Romagna"),
        ("bus-routes", "open", "public", "TPER – Trasporto Passeggeri Emilia-Romagna"),
        ("city-map", "open", "public", "Comune di Bologna – Sistema Informativo Territoriale"),
    ]),
    *_plans("cornella", "https://www.cornella.cat/", "CC-BY-4.0", [
        ("city-agenda", "open", "public", "Ajuntament de Cornellà de Llobregat, with the Citilab living lab"),
        ("wifi", "trial", "public", "Ajuntament de Cornellà de Llobregat"),
        ("air-quality", "trial", "public", "Ajuntament de Cornellà de Llobregat – Medi Ambient"),
        ("incidents", "draft", "registered", "Ajuntament de Cornellà de Llobregat"),
        ("city-map", "open", "public", "Ajuntament de Cornellà de Llobregat – Cartografia"),
    ]),
    *_plans("lamia", "https://www.lamia.gr/", "CC-BY-4.0", [
        ("points-of-interest", "open", "public", "Municipality of Lamía – Tourism office"),
        ("incidents", "trial", "registered", "Municipality of Lamía"),
        ("air-quality", "draft", "public", "Municipality of Lamía – Environment"),
        ("city-map", "trial", "public", "Municipality of Lamía – Technical services"),
    ]),
]


def _open(session: Session, system_id: str, status: str) -> None:
    # through trial to open, as a city would
    catalogue.set_status(session, system_id, "trial")
    if status == "open":
        catalogue.set_status(session, system_id, "open")


def _add_devices(session: Session, system_id: str, kind: SystemKind, entities: list[dict[str, Any]]) -> int:
    manufacturer = catalogue.add_provider(session, system_id, name=MANUFACTURERS[kind.slug], kind="manufacturer")
    for entity in entities:
        lon, lat = entity["location"]["coordinates"]
        catalogue.add_device(
            session,
            system_id,
            local_id=entity["id"].rsplit(":", 1)[1],
            provider_id=manufacturer.id,
            name=entity["name"],
            device_type=kind.device_type,
            lon=lon,
            lat=lat,
            entity_id=entity["id"],
            commands=kind.device_commands,
            reporting_period_s=REPORTING_PERIODS_S[kind.slug],
            last_seen_at=datetime.fromisoformat(entity["observedAt"]),  # its latest synthetic observation
        )
    return len(entities)


def load_systems(session: Session, today: date, feeds_url: str) -> dict[str, int]:
    """Create every planned IS; fill the synthetic ones, give the connected ones their source
    (read from `feeds_url`, the base URL the demo feeds are served at)."""
    counts = {
        "information_systems": 0, "providers": 0, "devices": 0, "entities": 0, "observations": 0, "sources": 0,
    }
    for plan in PLANS:
        kind, city = KINDS[plan.kind], CITIES[plan.city]
        system = catalogue.create_information_system(
            session,
            city_id=city.id,
            slug=kind.slug,
            name=kind.name.format(city=city.name),
            category=kind.category,
            entity_types=[kind.entity_type, *kind.other_entity_types],
            description=kind.description.format(city=city.name, operator=plan.operator),
            access_policy=plan.access_policy,
            licence=plan.licence,
            provider=plan.operator,
            documentation_url=plan.documentation_url,
            properties_in=kind.properties_in,
            properties_out=kind.properties_out,
        )
        catalogue.add_provider(session, system.id, name=plan.operator, kind="operator", url=plan.documentation_url)
        counts["information_systems"] += 1
        counts["providers"] += 1
        if plan.status == "draft":
            continue  # registered, not yet connected: no data
        _open(session, system.id, plan.status)
        source = connected.BY_SYSTEM.get(system.id)
        if source is not None:
            connected.configure(session, source, feeds_url)  # the harvest fills it
            counts["sources"] += 1
            continue
        generated = synthetic.generate(plan.kind, city, ENTITY_COUNTS[plan.kind], today, plan.operator)
        entity_store.upsert_entities(session, system.id, generated.entities)
        entity_store.add_observations(session, generated.history)
        counts["entities"] += len(generated.entities)
        counts["observations"] += len(generated.history)
        if kind.device_type:
            counts["devices"] += _add_devices(session, system.id, kind, generated.entities)
            counts["providers"] += 1
            alarms.create_rule(session, COORDINATOR, system.id, ALARM_RULES[kind.slug])
    return counts
