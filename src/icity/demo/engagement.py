"""The engagement actions of 2014 behind the seed network.

Some next steps are marked done; the follow-ups of the SIG cities towards
opening their first information system are left open (and long past due), so
that the coordinator's "overdue follow-ups" view has content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from icity.demo.network import COORDINATOR
from icity.services import cities

FIA_ATHENS = "Future Internet Assembly, Athens (18–20 March 2014)"
EUROCITIES_FORUM = "EUROCITIES Knowledge Society Forum, Barcelona (2–3 April 2014)"
TALLINN_WORKSHOP = "Smart Cities Platforms workshop, Tallinn (12 June 2014)"

FIRST_IS_FOLLOW_UP = "Follow up towards opening a first information system through iCity"


@dataclass(frozen=True)
class Action:
    city: str
    kind: str
    title: str
    on: date
    outcome: str
    next_step: str | None = None
    due: date | None = None
    done: bool = False


def _sig_path(city: str, sent: date, signed: date, candidate: str, due: date) -> list[Action]:
    """Letter sent, letter signed, then the (still open) follow-up towards a first IS."""
    return [
        Action(city, "letter_sent", "Letter of commitment sent", sent, "Letter and iCity information pack sent",
               "Obtain the signed letter of commitment", signed, done=True),
        Action(city, "letter_signed", "Letter of commitment signed", signed, "The city joins the Special Interest Group",
               f"{FIRST_IS_FOLLOW_UP} ({candidate})", due),
    ]


ACTIONS: list[Action] = [
    # Future Internet Assembly, Athens
    Action("manchester", "event", FIA_ATHENS, date(2014, 3, 18),
           "Contact with Manchester and the Citadel on the move project; interest in portable open-data apps",
           "Send the letter of commitment", date(2014, 4, 15), done=True),
    Action("lamia", "event", FIA_ATHENS, date(2014, 3, 19),
           "Lamía interested in opening its points of interest and incident reports",
           "Send the letter of commitment", date(2014, 3, 31), done=True),
    # EUROCITIES Knowledge Society Forum, Barcelona: a network of about 50 cities
    Action("barcelona", "presentation", EUROCITIES_FORUM, date(2014, 4, 2),
           "iCity presented to about 50 cities of the EUROCITIES network, with Barcelona's open systems as showcase"),
    *[
        Action(city, "event", EUROCITIES_FORUM, date(2014, 4, 3),
               f"{name} interested in the platform; contact made with its smart-city team",
               "Send the iCity information pack and the letter-of-commitment template", due, done)
        for city, name, due, done in [
            ("amsterdam", "Amsterdam", date(2014, 5, 15), True),
            ("bordeaux", "Bordeaux", date(2014, 5, 15), False),
            ("stockholm", "Stockholm", date(2014, 5, 15), True),
            ("oulu", "Oulu", date(2014, 5, 30), False),
            ("helsinki", "Helsinki", date(2014, 5, 30), True),
        ]
    ],
    Action("torino", "event", EUROCITIES_FORUM, date(2014, 4, 3), "Torino asks for the letter of commitment",
           "Send the letter of commitment", date(2014, 4, 15), done=True),
    Action("milano", "event", EUROCITIES_FORUM, date(2014, 4, 3), "Milano interested ahead of Expo 2015",
           "Send the letter of commitment", date(2014, 5, 15), done=True),
    # Smart Cities Platforms workshop, Tallinn
    Action("tallinn", "presentation", TALLINN_WORKSHOP, date(2014, 6, 12),
           "iCity presented next to other smart-city platforms; Tallinn interested in WiFi and transport data",
           "Send the iCity information pack", date(2014, 7, 15)),
    Action("berlin", "presentation", TALLINN_WORKSHOP, date(2014, 6, 12),
           "Berlin agrees to sign the letter of commitment", "Send the letter of commitment", date(2014, 6, 20),
           done=True),
    Action("helsinki", "meeting", TALLINN_WORKSHOP, date(2014, 6, 12),
           "Helsinki Region Infoshare compared with iCity's harmonised entities",
           "Send the letter-of-commitment template", date(2014, 9, 1)),
    # Pilot cities: trials started
    Action("cornella", "trial_started", "Technical trial with the Citilab living lab", date(2014, 6, 2),
           "City Agenda connector running on the platform", "Open the City Agenda to all developers",
           date(2014, 7, 1), done=True),
    Action("lamia", "trial_started", "Technical trial of the points-of-interest connector", date(2014, 9, 22),
           "Points of interest harvested; incident reports in preparation", "Open the incident reports in trial",
           date(2014, 11, 30), done=True),
    # SIG cities: letters, then the follow-up towards a first IS
    *_sig_path("manchester", date(2014, 4, 2), date(2014, 5, 20), "air quality or parking", date(2014, 10, 31)),
    *_sig_path("berlin", date(2014, 6, 20), date(2014, 7, 3), "EV charging", date(2014, 12, 15)),
    *_sig_path("torino", date(2014, 4, 10), date(2014, 4, 28), "WiFi hotspots", date(2014, 9, 30)),
    *_sig_path("viladecans", date(2014, 4, 22), date(2014, 5, 12), "city agenda, as Cornellà", date(2014, 10, 15)),
    *_sig_path("piacenza", date(2014, 5, 6), date(2014, 6, 5), "incident reports", date(2014, 11, 15)),
    *_sig_path("milano", date(2014, 5, 15), date(2014, 6, 24), "bike sharing", date(2014, 12, 1)),
    *_sig_path("reggio-emilia", date(2014, 7, 8), date(2014, 9, 15), "air quality", date(2015, 1, 31)),
]


def load_engagement(session: Session) -> dict[str, int]:
    for action in ACTIONS:
        recorded = cities.add_engagement_action(
            session,
            COORDINATOR,
            action.city,
            kind=action.kind,
            title=action.title,
            happened_on=action.on,
            outcome=action.outcome,
            next_step=action.next_step,
            next_step_due=action.due,
        )
        if action.done:
            cities.complete_next_step(session, COORDINATOR, recorded.id)
    return {"engagement_actions": len(ACTIONS)}
