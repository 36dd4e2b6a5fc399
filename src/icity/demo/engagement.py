"""The engagement actions of 2014 behind the seed network, and today's.

The 2014 record stays as it happened, dated, its next steps done. The pipeline's
open work is dated relative to the day the demo is loaded (`RECENT`): a few
recent contacts with their next steps, one of them a few days overdue, so
that the coordinator's "overdue follow-ups" view has content without showing a
decade of red.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

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
    """Letter sent, letter signed, then the follow-up towards a first IS (done in its time)."""
    return [
        Action(city, "letter_sent", "Letter of commitment sent", sent, "Letter and iCity information pack sent",
               "Obtain the signed letter of commitment", signed, done=True),
        Action(city, "letter_signed", "Letter of commitment signed", signed, "The city joins the Special Interest Group",
               f"{FIRST_IS_FOLLOW_UP} ({candidate})", due, done=True),
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
               "Send the iCity information pack and the letter-of-commitment template", due, done=True)
        for city, name, due in [
            ("amsterdam", "Amsterdam", date(2014, 5, 15)),
            ("bordeaux", "Bordeaux", date(2014, 5, 15)),
            ("stockholm", "Stockholm", date(2014, 5, 15)),
            ("oulu", "Oulu", date(2014, 5, 30)),
            ("helsinki", "Helsinki", date(2014, 5, 30)),
        ]
    ],
    Action("torino", "event", EUROCITIES_FORUM, date(2014, 4, 3), "Torino asks for the letter of commitment",
           "Send the letter of commitment", date(2014, 4, 15), done=True),
    Action("milano", "event", EUROCITIES_FORUM, date(2014, 4, 3), "Milano interested ahead of Expo 2015",
           "Send the letter of commitment", date(2014, 5, 15), done=True),
    # Smart Cities Platforms workshop, Tallinn
    Action("tallinn", "presentation", TALLINN_WORKSHOP, date(2014, 6, 12),
           "iCity presented next to other smart-city platforms; Tallinn interested in WiFi and transport data",
           "Send the iCity information pack", date(2014, 7, 15), done=True),
    Action("berlin", "presentation", TALLINN_WORKSHOP, date(2014, 6, 12),
           "Berlin agrees to sign the letter of commitment", "Send the letter of commitment", date(2014, 6, 20),
           done=True),
    Action("helsinki", "meeting", TALLINN_WORKSHOP, date(2014, 6, 12),
           "Helsinki Region Infoshare compared with iCity's harmonised entities",
           "Send the letter-of-commitment template", date(2014, 9, 1), done=True),
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


# The open work, as (days before the load, days from then to the due date): (-24, 20) was 24 days
# ago and is 4 days overdue; the others are due in the coming weeks.
RECENT: list[tuple[Action, int, int]] = [
    (Action("manchester", "call", "Call with Manchester's open-data team",
            date.min, "Parking and air quality chosen as Manchester's first information systems",
            f"{FIRST_IS_FOLLOW_UP}: send the air-quality connector's set-up guide"), 24, 20),
    (Action("torino", "meeting", "Online meeting on Torino's WiFi hotspots", date.min,
            "Torino's WiFi data team ready to register its hotspots as an information system",
            "Review Torino's draft WiFi information system with its team"), 9, 21),
    (Action("oulu", "event", "Nordic Smart City Network meeting", date.min,
            "Oulu asks how its sensor network could join the platform",
            "Send Oulu the letter-of-commitment template"), 5, 14),
    (Action("reggio-emilia", "call", "Follow-up call on Reggio Emilia's air-quality stations", date.min,
            "ARPAE's feed for Reggio Emilia identified; the city wants it in trial first",
            "Set up Reggio Emilia's air quality in trial"), 2, 30),
]  # fmt: skip


def recent_actions(today: date) -> list[Action]:
    """The open work dated relative to `today`."""
    return [
        Action(a.city, a.kind, a.title, today - timedelta(days=ago), a.outcome, a.next_step,
               today - timedelta(days=ago) + timedelta(days=due_after))
        for a, ago, due_after in RECENT
    ]  # fmt: skip


def load_engagement(session: Session, today: date) -> dict[str, int]:
    actions = [*ACTIONS, *recent_actions(today)]
    for action in actions:
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
    return {"engagement_actions": len(actions)}
