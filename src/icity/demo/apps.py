"""The IT partners of the demo and their apps: most certified (so the app portal
has something to show, each app available in the cities that open what it needs),
one waiting in the certification queue and one still a draft.

Written through the services like any developer and platform admin would: the
developers' accounts are created by the platform admin (with a random password:
nobody signs in as them), the apps are submitted, reviewed and certified, and
ParkHere asks London for its `approval` car parks and is granted them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from icity.demo.network import COORDINATOR
from icity.services import access_requests, accounts, apps, certification
from icity.services.authentication import principal_of_user


@dataclass(frozen=True)
class DemoApp:
    name: str
    entity_types: list[str]
    description: str
    functionalities: list[str]
    advantages: list[str]
    platforms: list[dict[str, str]]
    certification: str = "certified"  # certified | submitted | draft
    grants: list[tuple[str, str]] = field(default_factory=list)  # (IS, purpose) the app asks for and is granted


@dataclass(frozen=True)
class Partner:
    organisation: str
    developer: str
    email: str
    apps: list[DemoApp]


PARTNERS = [
    Partner("Citilab Cornellà", "Marta Puig", "marta@citilab.example", [
        DemoApp(
            "Agenda Viva", ["Event"],
            "What is on today near you: the city's workshops, story times, concerts and sports, from the City Agenda.",
            ["events of the day on a map", "reminders for recurring workshops"],
            ["always in step with the city's own agenda", "no account needed"],
            [{"platform": "web", "url": "https://agendaviva.citilab.example/"}],
        ),
        DemoApp(
            "Hotspot Finder", ["WifiPointOfInterest"],
            "The nearest free municipal WiFi hotspot and how busy it is right now.",
            ["nearest hotspot", "load of each hotspot"],
            ["works offline with the last known hotspots"],
            [{"platform": "android", "url": "https://play.example/hotspot-finder"}],
            certification="submitted",
        ),
    ]),
    Partner("Aria Labs Srl", "Giulia Conti", "giulia@arialabs.example", [
        DemoApp(
            "BreatheEasy", ["AirQualityObserved"],
            "Air quality near you from the cities' reference stations, and the cleanest walking route.",
            ["live air quality map", "alerts when nitrogen dioxide rises", "cleanest walking route"],
            ["the same app in every iCity city", "official station data, not estimates"],
            [
                {"platform": "android", "url": "https://play.example/breatheeasy"},
                {"platform": "ios", "url": "https://apps.example/breatheeasy"},
            ],
        ),
        DemoApp(
            "ChargeNear", ["EVChargingStation"],
            "Free charging points for your electric car, with their sockets, wherever you drive.",
            ["free sockets near you", "socket types and power"],
            ["one app across cities and operators"],
            [{"platform": "web", "url": "https://chargenear.arialabs.example/"}],
        ),
    ]),
    Partner("Kerbside Ltd", "Tom Hughes", "tom@kerbside.example", [
        DemoApp(
            "ParkHere", ["OffStreetParking"],
            "Free spaces in public car parks before you set off, and a route to the one with room.",
            ["free spaces per car park", "route to the car park"],
            ["less time circling the block"],
            [{"platform": "android", "url": "https://play.example/parknow"}],
            grants=[("london/parking", "Show drivers the free spaces of Transport for London's car parks.")],
        ),
        DemoApp(
            "Fermata", ["GtfsStop"],
            "Bus stops around you and the lines that call at them.",
            ["stops near you", "lines at each stop"],
            ["works with any city's GTFS feed"],
            [{"platform": "web", "url": "https://fermata.kerbside.example/"}],
        ),
        DemoApp(
            "Pothole Radar", ["service_requests"],
            "Report a pothole in two taps.",
            ["photo report"],
            [],
            [],
            certification="draft",
        ),
    ]),
]  # fmt: skip


def load_apps(session: Session) -> dict[str, int]:
    counts = {"apps": 0, "certified_apps": 0}
    for partner in PARTNERS:
        user = accounts.create_user(
            session, COORDINATOR, email=partner.email, name=partner.developer, password=secrets.token_urlsafe(24),
            role="developer", organisation=partner.organisation,
        )  # fmt: skip
        developer = principal_of_user(session, user)
        for plan in partner.apps:
            fields = {
                "name": plan.name, "description": plan.description, "functionalities": plan.functionalities,
                "advantages": plan.advantages, "platforms": plan.platforms, "entity_types": plan.entity_types,
            }  # fmt: skip
            app_id = apps.create_app(session, developer, fields)["id"]
            counts["apps"] += 1
            for system_id, purpose in plan.grants:
                request = access_requests.request_access(session, developer, app_id=app_id, system_id=system_id, purpose=purpose)
                access_requests.decide(session, COORDINATOR, request["id"], "approve")
            if plan.certification == "draft":
                continue
            certification.submit(session, developer, app_id)
            if plan.certification == "certified":
                certification.review(session, COORDINATOR, app_id, decision="certified")
                counts["certified_apps"] += 1
    return counts
