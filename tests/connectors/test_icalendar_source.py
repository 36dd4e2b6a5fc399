"""A municipal agenda (iCalendar) over HTTP: recurring events expanded over a window."""

from datetime import date

import pytest

from icity.connectors import SourceError, get_connector, validate_config
from icity.datamodels import get_registry
from icity.datamodels.registry import CORE_KEYS
from icity.errors import ICityError
from icity.harmonise import Mapping, map_record
from tests.connectors.feed_server import FIXTURES, Feed, FeedServer
from tests.connectors.reading import read_feed

# Around the spring clock change (29 March 2026): offsets go from +01:00 to +02:00.
SPRING = {"windowStart": "2026-03-01", "windowEnd": "2026-04-30"}
AGENDA = (FIXTURES / "agenda.ics").read_bytes()
CALENDAR = "text/calendar; charset=utf-8"


def read_agenda(feeds: FeedServer, settings=SPRING):
    return read_feed(feeds.serve_fixture("agenda.ics", CALENDAR), "icalendar", settings)


def starts(records, uid_prefix: str) -> list[str]:
    return [r.data["start"] for r in records if not r.problem and r.data["uid"].startswith(uid_prefix)]


def read_bytes(body: bytes, **settings):
    config = validate_config("icalendar", {**SPRING, **settings})
    return list(get_connector("icalendar").records(config, [body]))


def test_a_weekly_market_is_expanded_with_its_exdate_left_out_across_the_clock_change(feeds: FeedServer):
    records = read_agenda(feeds)
    assert starts(records, "mercat-rambla") == [
        "2026-03-07T09:00:00+01:00",
        "2026-03-14T09:00:00+01:00",
        "2026-03-21T09:00:00+01:00",
        "2026-03-28T09:00:00+01:00",
        # 4 April, Holy Saturday, is an EXDATE
        "2026-04-11T09:00:00+02:00",
        "2026-04-18T09:00:00+02:00",
        "2026-04-25T09:00:00+02:00",
    ]
    first = records[0]
    assert first.number == 1 and first.problem is None
    assert first.data == {
        "uid": "mercat-rambla@agenda.cornella.cat",
        "occurrenceId": "mercat-rambla@agenda.cornella.cat@2026-03-07T09:00:00+01:00",
        "summary": "Mercat setmanal de la Rambla",
        "description": "Parades de fruita, verdura i productes de proximitat. No hi ha mercat el Dissabte Sant.",
        "location": "Rambla de Cornellà",
        "start": "2026-03-07T09:00:00+01:00",
        "end": "2026-03-07T14:00:00+01:00",
        "allDay": False,
        "url": "https://www.cornella.cat/ca/agenda/mercat-setmanal",
        "categories": ["Comerç", "Mercats"],
        "status": "CONFIRMED",
        "organizer": None,
        "lat": None,
        "lon": None,
        "recurring": True,
    }


def test_a_modified_occurrence_replaces_the_one_it_moves_and_keeps_its_id(feeds: FeedServer):
    plenary = [r.data for r in read_agenda(feeds) if r.data["uid"].startswith("ple-municipal")]
    assert [(p["start"], p["end"], p["summary"]) for p in plenary] == [
        # the last Thursday of March (26th) moved to Tuesday 24th at 18:00
        ("2026-03-24T18:00:00+01:00", "2026-03-24T20:00:00+01:00", "Ple municipal ordinari (avançat per Setmana Santa)"),
        ("2026-04-30T19:00:00+02:00", "2026-04-30T21:00:00+02:00", "Ple municipal ordinari"),
    ]
    # The id is the start the rule gave: moving the session again updates the same entity.
    assert plenary[0]["occurrenceId"] == "ple-municipal@agenda.cornella.cat@2026-03-26T19:00:00+01:00"
    assert plenary[0]["organizer"] == "Ajuntament de Cornellà"
    assert all(p["recurring"] for p in plenary)


def test_records_follow_the_document_order_and_the_window(feeds: FeedServer):
    records = read_agenda(feeds)
    assert [r.number for r in records] == list(range(1, 14))
    uids = [r.data["uid"].split("@")[0] for r in records]
    assert uids == ["mercat-rambla"] * 7 + ["ple-municipal"] * 2 + [
        "concert-castell-2026-03",
        "taller-robotica",
        "festa-primavera-2026",
        "xerrada-aigua",
    ]  # the Festa Major (June) is outside the window


def test_an_all_day_festival_has_dates_and_an_event_with_geo_has_coordinates(feeds: FeedServer):
    by_uid = {r.data["uid"]: r.data for r in read_agenda(feeds) if not r.problem}
    festival = by_uid["festa-primavera-2026@agenda.cornella.cat"]
    assert (festival["start"], festival["end"], festival["allDay"]) == ("2026-04-18", "2026-04-20", True)
    assert festival["occurrenceId"] == "festa-primavera-2026@agenda.cornella.cat@2026-04-18"
    assert festival["recurring"] is False
    concert = by_uid["concert-castell-2026-03@agenda.cornella.cat"]
    assert (concert["lat"], concert["lon"]) == (41.355012, 2.074381)
    assert concert["description"] == "Cicle «Música al Castell»: obres de Tàrrega i Albéniz."
    assert concert["organizer"] == "Servei de Cultura"
    talk = by_uid["xerrada-aigua@agenda.cornella.cat"]
    assert (talk["end"], talk["status"]) == ("2026-04-08T20:00:00+02:00", "CANCELLED")  # from DURATION:PT1H30M


def test_a_vevent_without_dtstart_is_rejected_alone(feeds: FeedServer):
    records = read_agenda(feeds)
    flagged = [(r.number, r.data, r.problem) for r in records if r.problem]
    assert flagged == [
        (
            11,
            {"uid": "taller-robotica@citilab.eu", "summary": "Taller de robòtica per a famílies"},
            "the VEVENT 'taller-robotica@citilab.eu' has no DTSTART",
        )
    ]
    assert len([r for r in records if not r.problem]) == 12


def test_a_malformed_date_rejects_that_event_only():
    body = AGENDA.replace(b"DTSTART;TZID=Europe/Madrid:20260314T200000", b"DTSTART;TZID=Europe/Madrid:dissabte")
    records = read_bytes(body)
    flagged = [(r.number, r.problem) for r in records if r.problem]
    assert len(flagged) == 2
    assert flagged[0][0] == 10 and "'concert-castell-2026-03@agenda.cornella.cat' has a malformed DTSTART" in flagged[0][1]
    assert len(records) == 13 - 1 + 1  # the concert's one occurrence became one rejected record


def test_a_relative_window_moves_with_the_day_of_the_run():
    config = validate_config("icalendar", {"pastDays": 7, "futureDays": 30})
    assert config.window(today=date(2026, 4, 1)) == (date(2026, 3, 25), date(2026, 5, 1))
    assert validate_config("icalendar", {}).window(today=date(2026, 4, 1)) == (date(2026, 4, 1), date(2027, 4, 1))
    # an absolute end wins over futureDays; the start stays relative
    config = validate_config("icalendar", {"windowEnd": "2026-04-30", "pastDays": 31})
    assert config.window(today=date(2026, 4, 1)) == (date(2026, 3, 1), date(2026, 4, 30))


def test_a_one_day_window_includes_that_whole_day():
    records = read_bytes(AGENDA, windowStart="2026-04-18", windowEnd="2026-04-18")
    assert [r.data["occurrenceId"] for r in records if not r.problem] == [
        "mercat-rambla@agenda.cornella.cat@2026-04-18T09:00:00+02:00",
        "festa-primavera-2026@agenda.cornella.cat@2026-04-18",
    ]


def test_an_html_page_fails_the_run(feeds: FeedServer):
    url = feeds.serve_fixture("error.html", "text/html")
    with pytest.raises(SourceError, match="HTML page"):
        read_feed(url, "icalendar", SPRING)


def test_a_document_that_is_not_a_calendar_fails_the_run(feeds: FeedServer):
    url = feeds.serve("/agenda.json", Feed(b'{"events": []}', "application/json"))
    with pytest.raises(SourceError, match="not an iCalendar document: it does not start with BEGIN:VCALENDAR"):
        read_feed(url, "icalendar", SPRING)


def test_a_truncated_calendar_fails_the_run(feeds: FeedServer):
    url = feeds.serve("/truncated.ics", Feed(AGENDA[: len(AGENDA) // 2], CALENDAR))
    with pytest.raises(SourceError, match="not a valid iCalendar document \\(truncated or malformed\\)"):
        read_feed(url, "icalendar", SPRING)


def test_latin1_bytes_fail_the_run_saying_where(feeds: FeedServer):
    body = AGENDA.decode("utf-8").encode("latin-1")
    url = feeds.serve("/latin1.ics", Feed(body, "text/calendar; charset=iso-8859-1"))
    with pytest.raises(SourceError) as raised:
        read_feed(url, "icalendar", SPRING)
    at = body.index("à".encode("latin-1"))  # the 'à' of 'Cornellà' in PRODID
    assert str(raised.value) == f"The iCalendar source is not valid UTF-8 at byte {at} (line 3), as RFC 5545 requires."


@pytest.mark.parametrize(
    ("settings", "path", "detail"),
    [
        ({"windowStart": "2026-05-01", "windowEnd": "2026-04-01"}, "connector.windowEnd", "ends (2026-04-01) before it starts"),
        ({"windowStart": "2026-01-01", "windowEnd": "2040-01-01"}, "connector.windowEnd", "longer than 3660 days"),
        ({"windowStart": "1 de març"}, "connector.windowStart", "date"),
        ({"pastDays": -1}, "connector.pastDays", "greater than or equal to 0"),
        ({"futureDays": 100000}, "connector.futureDays", "less than or equal to 3660"),
        ({"window": 30}, "connector.window", "Unknown setting"),
    ],
)
def test_bad_settings_are_refused_with_their_path(settings, path, detail):
    with pytest.raises(ICityError) as raised:
        validate_config("icalendar", settings)
    assert raised.value.status == 422
    problems = {problem.path: problem.detail for problem in raised.value.errors}
    assert list(problems) == [path]
    assert detail in problems[path]


def test_the_default_mapping_gives_valid_event_entities(feeds: FeedServer):
    connector = get_connector("icalendar")
    config = validate_config("icalendar", SPRING)
    mapping = Mapping.parse(connector.default_mapping(config))
    good = [r for r in read_agenda(feeds) if not r.problem]
    entities = [map_record(mapping, r.data, "cornella") for r in good]
    assert len(entities) == len(good) == 12
    model = get_registry().get("Event")
    for entity in entities:
        assert model.validate({k: v for k, v in entity.items() if k not in CORE_KEYS}) == []
    by_id = {e["id"]: e for e in entities}
    concert = by_id["urn:ngsi-ld:Event:cornella:concert-castell-2026-03@agenda.cornella.cat@2026-03-14T20:00:00+01:00"]
    assert concert["name"] == "Concert de guitarra clàssica al Castell"
    assert concert["startDate"] == "2026-03-14T20:00:00+01:00"
    assert concert["category"] == ["Música", "Cultura"]
    assert concert["eventStatus"] == ["EventScheduled"]
    assert concert["location"] == {"type": "Point", "coordinates": [2.074381, 41.355012]}
    festival = next(e for e in entities if e["name"].startswith("Festa de la Primavera"))
    assert (festival["startDate"], festival["endDate"]) == ("2026-04-18", "2026-04-20")
    assert "location" not in festival
    talk = next(e for e in entities if e["name"].startswith("Xerrada"))
    assert talk["eventStatus"] == ["EventCancelled"]
    assert len(by_id) == 12  # occurrence ids are unique
