"""Usage metering (calls, errors, bytes per app × IS × UTC day) through the real
application, and who sees which usage in GET /api/v1/usage."""

from datetime import date, datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import ApiKey, UsageDay
from icity.services import entity_store
from icity.services.usage import UsageMeter, split_bytes
from tests import people
from tests.network import build_network

S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")


def stored(db_url) -> dict[tuple[int, str], tuple[int, int, int]]:
    """The usage rows of this test's fresh database, summed over their days (a test running across
    midnight UTC counts on two days): (app, IS) → (calls, errors, bytes out)."""
    sums: dict[tuple[int, str], tuple[int, int, int]] = {}
    with new_session(db_url) as session:
        for r in session.scalars(select(UsageDay)):
            calls, errors, bytes_out = sums.get((r.app_id, r.information_system_id), (0, 0, 0))
            sums[(r.app_id, r.information_system_id)] = (calls + r.calls, errors + r.errors, bytes_out + r.bytes_out)
    return sums


@pytest.fixture
def metered(db_url):
    """A fresh network, a developer with a partner-plan key (no limit gets in the
    way), and a client on the application."""
    with transaction(db_url) as session:
        build_network(session)
        developer = people.person(session, "dev@usage.example")
        app, key = people.app_with_key(session, developer, "Meter", plan="partner")
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.app_id == app.id))
    application = create_app(db_url)
    return TestClient(application), application.state.usage_meter, app.id, key_id, {"X-API-Key": key}, developer


def test_a_call_counts_for_the_system_it_served_with_its_bytes(metered, db_url):
    client, meter, app_id, _, key, _ = metered
    response = client.get("/api/v1/entities?type=AirQualityObserved&city=alpha&limit=5", headers=key)
    history = client.get(f"/api/v1/entities/{S0}/history?attribute=no2&limit=3", headers=key)
    one = client.get(f"/api/v1/entities/{S0}", headers=key)
    meter.flush()

    assert response.status_code == history.status_code == one.status_code == 200
    assert history.json()["informationSystem"] == "alpha/air"
    body_bytes = len(response.content) + len(history.content) + len(one.content)
    assert stored(db_url) == {(app_id, "alpha/air"): (3, 0, body_bytes)}


def test_a_call_serving_several_systems_counts_once_for_each_and_splits_its_bytes(metered, db_url):
    client, meter, app_id, _, key, _ = metered
    response = client.get("/api/v1/entities?type=AirQualityObserved&limit=100", headers=key)
    meter.flush()

    systems = sorted({item["informationSystem"] for item in response.json()["items"]})
    assert systems == ["alpha/air", "beta/air", "gamma/air"]
    rows = stored(db_url)
    assert set(rows) == {(app_id, s) for s in systems}
    assert all(calls == 1 and errors == 0 for calls, errors, _ in rows.values())
    shares = sorted((b for _, _, b in rows.values()), reverse=True)
    assert sum(shares) == len(response.content) and shares[0] - shares[-1] <= 1


def test_errors_and_calls_serving_no_system_count_under_none(metered, db_url):
    client, meter, app_id, _, key, _ = metered
    missing = client.get("/api/v1/entities/urn:ngsi-ld:AirQualityObserved:alpha:nope", headers=key)
    bad = client.get("/api/v1/entities?bbox=1,2", headers=key)
    catalogue = client.get("/api/v1/information-systems", headers=key)
    hidden = client.get("/api/v1/entities?city=alpha&type=OffStreetParking", headers=key)  # approval IS, no grant
    meter.flush()

    assert (missing.status_code, bad.status_code, catalogue.status_code) == (404, 400, 200)
    assert hidden.json()["items"] == []
    sizes = sum(len(r.content) for r in (missing, bad, catalogue, hidden))
    assert stored(db_url) == {(app_id, ""): (4, 2, sizes)}


def test_catalogue_and_portability_calls_count_for_their_systems(metered, db_url):
    client, meter, app_id, _, key, _ = metered
    detail = client.get("/api/v1/information-systems/alpha/air", headers=key)
    providers = client.get("/api/v1/information-systems/alpha/air/providers", headers=key)
    devices = client.get("/api/v1/information-systems/beta/air/devices", headers=key)
    where = client.get("/api/v1/where-can-app-run?entityTypes=AirQualityObserved", headers=key)
    meter.flush()

    assert {detail.status_code, providers.status_code, devices.status_code, where.status_code} == {200}
    rows = stored(db_url)
    assert rows[(app_id, "alpha/air")][0] == 3  # detail, providers, where-can-app-run
    assert rows[(app_id, "beta/air")][0] == 2  # devices, where-can-app-run
    assert rows[(app_id, "gamma/air")][0] == 1
    assert sum(b for _, _, b in rows.values()) == sum(len(r.content) for r in (detail, providers, devices, where))


def test_calls_to_routes_needing_no_principal_are_limited_and_metered_too(metered, db_url):
    client, meter, app_id, _, key, _ = metered
    responses = [client.get(path, headers=key) for path in ("/api/v1/cities", "/api/v1/categories", "/api/v1/cities/alpha")]
    meter.flush()

    assert {r.status_code for r in responses} == {200}
    assert all("RateLimit-Remaining" in r.headers for r in responses)
    assert stored(db_url) == {(app_id, ""): (3, 0, sum(len(r.content) for r in responses))}
    assert client.get("/api/v1/cities", headers={"X-API-Key": "ick_12345678_wrong"}).status_code == 401


def test_calls_without_a_key_are_not_metered(metered, db_url):
    client, meter, _, _, _, developer = metered
    client.get("/api/v1/entities?limit=1")
    client.get("/api/v1/entities?limit=1", headers=developer.headers)
    client.get("/api/v1/entities?limit=1", headers={"X-API-Key": "ick_not_a_real_key"})

    assert meter.pending() == {}
    assert meter.flush() == 0
    assert stored(db_url) == {}


def test_refused_calls_count_as_errors(db_url):
    with transaction(db_url) as session:
        build_network(session)
        app, key = people.app_with_key(session, people.person(session, "dev@busy.example"), plan="free")
    application = create_app(db_url)
    client = TestClient(application)
    statuses = [client.get("/api/v1/entities?limit=1", headers={"X-API-Key": key}).status_code for _ in range(12)]
    application.state.usage_meter.flush()

    assert statuses.count(429) == 2
    rows = stored(db_url)
    assert rows[(app.id, "")][:2] == (2, 2)  # the refusals served no system
    assert rows[(app.id, "alpha/air")][:2] == (10, 0)


def test_flushing_is_idempotent_and_adds_to_the_stored_rows(metered, db_url):
    client, meter, app_id, key_id, key, _ = metered
    client.get("/api/v1/entities?type=AirQualityObserved&city=alpha&limit=1", headers=key)
    assert meter.flush() == 1
    first = stored(db_url)
    assert meter.flush() == 0
    assert stored(db_url) == first

    client.get("/api/v1/entities?type=AirQualityObserved&city=alpha&limit=1", headers=key)
    meter.flush()
    calls, errors, size = stored(db_url)[(app_id, "alpha/air")]
    assert (calls, errors, size) == (2, 0, 2 * first[(app_id, "alpha/air")][2])


def test_workers_flushing_the_same_rows_add_up(metered, db_url):
    _, _, app_id, key_id, _, _ = metered
    workers = [UsageMeter(db_url) for _ in range(3)]
    for i, worker in enumerate(workers):
        for _ in range(i + 1):
            worker.record(app_id, key_id, ["alpha/air", "beta/air"], 200, 101)
        worker.record(app_id, key_id, None, 503, 7)
    for worker in workers:
        worker.flush()

    assert stored(db_url) == {
        (app_id, "alpha/air"): (6, 0, 6 * 51),
        (app_id, "beta/air"): (6, 0, 6 * 50),
        (app_id, ""): (3, 3, 21),
    }


def test_a_failed_flush_keeps_the_sums_for_the_next_one(metered, db_url, tmp_path):
    _, _, app_id, key_id, _, _ = metered
    broken = UsageMeter(f"sqlite:///{tmp_path}/missing/nothing-here.db")
    broken.record(app_id, key_id, ["alpha/air"], 200, 10)
    with pytest.raises(Exception):
        broken.flush()
    broken.record(app_id, key_id, ["alpha/air"], 200, 10)

    assert sum(row.calls for key, row in broken.pending().items() if key[:2] == (app_id, "alpha/air")) == 2
    broken.database_url = db_url  # the database is back
    broken.flush()
    assert stored(db_url) == {(app_id, "alpha/air"): (2, 0, 20)}


def test_the_key_last_used_time_moves_at_flush(metered, db_url):
    client, meter, _, key_id, key, _ = metered
    before = datetime.now(timezone.utc)
    client.get("/api/v1/entities?limit=1", headers=key)
    with new_session(db_url) as session:
        assert session.get(ApiKey, key_id).last_used_at is None  # requests write nothing
    meter.flush()

    with new_session(db_url) as session:
        used = session.get(ApiKey, key_id).last_used_at
    assert used is not None and before <= used <= datetime.now(timezone.utc)


def test_the_lifespan_flushes_at_shutdown(metered, db_url):
    _, _, app_id, _, key, _ = metered
    application = create_app(db_url)
    with TestClient(application) as client:
        client.get("/api/v1/entities?type=AirQualityObserved&city=alpha&limit=1", headers=key)
        assert stored(db_url) == {}
    assert stored(db_url)[(app_id, "alpha/air")][0] == 1


def test_bytes_are_split_evenly_and_add_up():
    assert split_bytes(10, 3) == [4, 3, 3]
    assert split_bytes(2, 3) == [1, 1, 0]
    assert split_bytes(0, 2) == [0, 0]


# ---- GET /api/v1/usage: who sees what -------------------------------------------------


@pytest.fixture
def usage_world(db_url):
    """Usage of three apps of two organisations over three days, written through a meter."""
    with transaction(db_url) as session:
        build_network(session)
        organisation = people.organisation(session, "Alpha Apps")
        dev_a = people.person(session, "a@usage.example", org=organisation)
        colleague = people.person(session, "a2@usage.example", org=organisation)
        dev_b = people.person(session, "b@usage.example")
        app_a, _ = people.app_with_key(session, dev_a, "Alpha air")
        app_a2, _ = people.app_with_key(session, colleague, "Alpha air 2")
        app_b, _ = people.app_with_key(session, dev_b, "Beta air")
        alpha_admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
        beta_admin = people.person(session, "admin@beta.example", role="city_admin", cities=("beta",))
        admin = people.person(session, "root@icity.example", role="admin")
        pending = people.person(session, "pending@usage.example", status="pending")
        _, key_b = people.app_with_key(session, dev_b, "Keyed")
        ids = {"a": app_a.id, "a2": app_a2.id, "b": app_b.id}
    meter = UsageMeter(db_url)
    day = lambda d: datetime(2024, 5, d, 12, tzinfo=timezone.utc)  # noqa: E731
    meter.record(ids["a"], None, ["alpha/air"], 200, 1000, at=day(1))
    meter.record(ids["a"], None, ["alpha/air", "beta/air"], 200, 600, at=day(2))
    meter.record(ids["a"], None, None, 404, 100, at=day(2))
    meter.record(ids["a2"], None, ["alpha/noise"], 200, 50, at=day(3))
    meter.record(ids["b"], None, ["beta/air"], 200, 70, at=day(1))
    meter.record(ids["b"], None, ["beta/air"], 500, 30, at=day(3))
    meter.flush()
    people_ = {
        "dev_a": dev_a, "colleague": colleague, "dev_b": dev_b, "alpha_admin": alpha_admin,
        "beta_admin": beta_admin, "admin": admin, "pending": pending,
    }  # fmt: skip
    return TestClient(create_app(db_url)), people_, ids, {"X-API-Key": key_b}


def rows_of(body) -> set[tuple]:
    return {(r["app"], r["informationSystem"], r["day"], r["calls"], r["errors"], r["bytesOut"]) for r in body["items"]}


def test_developers_see_their_organisations_apps(usage_world):
    client, who, ids, _ = usage_world
    a, a2, b = ids["a"], ids["a2"], ids["b"]
    mine = client.get("/api/v1/usage", headers=who["dev_a"].headers)
    theirs = client.get("/api/v1/usage", headers=who["dev_b"].headers)

    assert mine.status_code == 200
    assert rows_of(mine.json()) == {
        (a, "alpha/air", "2024-05-01", 1, 0, 1000),
        (a, "alpha/air", "2024-05-02", 1, 0, 300),
        (a, "beta/air", "2024-05-02", 1, 0, 300),
        (a, None, "2024-05-02", 1, 1, 100),
        (a2, "alpha/noise", "2024-05-03", 1, 0, 50),
    }
    assert mine.json()["totals"] == {"calls": 5, "errors": 1, "bytesOut": 1750}
    assert client.get("/api/v1/usage", headers=who["colleague"].headers).json() == mine.json()
    assert rows_of(theirs.json()) == {(b, "beta/air", "2024-05-01", 1, 0, 70), (b, "beta/air", "2024-05-03", 1, 1, 30)}
    assert [r["day"] for r in mine.json()["items"]] == sorted((r["day"] for r in mine.json()["items"]), reverse=True)
    assert {r["appName"] for r in mine.json()["items"]} == {"Alpha air", "Alpha air 2"}


def test_a_city_admin_sees_the_use_of_its_own_systems_by_every_app(usage_world):
    client, who, ids, _ = usage_world
    alpha = client.get("/api/v1/usage", headers=who["alpha_admin"].headers).json()
    beta = client.get("/api/v1/usage", headers=who["beta_admin"].headers).json()

    assert {(r["app"], r["informationSystem"], r["day"]) for r in alpha["items"]} == {
        (ids["a"], "alpha/air", "2024-05-01"),
        (ids["a"], "alpha/air", "2024-05-02"),
        (ids["a2"], "alpha/noise", "2024-05-03"),
    }
    assert {(r["app"], r["informationSystem"], r["day"]) for r in beta["items"]} == {
        (ids["a"], "beta/air", "2024-05-02"),
        (ids["b"], "beta/air", "2024-05-01"),
        (ids["b"], "beta/air", "2024-05-03"),
    }
    assert beta["totals"] == {"calls": 3, "errors": 1, "bytesOut": 400}


def test_the_platform_admin_sees_everything_and_filters_it(usage_world):
    client, who, ids, _ = usage_world
    headers = who["admin"].headers

    everything = client.get("/api/v1/usage", headers=headers).json()
    assert len(everything["items"]) == 7 and everything["totals"] == {"calls": 7, "errors": 2, "bytesOut": 1850}
    by_app = client.get(f"/api/v1/usage?app={ids['b']}", headers=headers).json()
    assert {r["app"] for r in by_app["items"]} == {ids["b"]} and by_app["totals"]["calls"] == 2
    by_system = client.get("/api/v1/usage?informationSystem=beta/air", headers=headers).json()
    assert by_system["totals"] == {"calls": 3, "errors": 1, "bytesOut": 400}
    by_city = client.get("/api/v1/usage?city=alpha", headers=headers).json()
    assert {r["informationSystem"] for r in by_city["items"]} == {"alpha/air", "alpha/noise"}
    window = client.get("/api/v1/usage?from=2024-05-02&to=2024-05-02", headers=headers).json()
    assert {r["day"] for r in window["items"]} == {"2024-05-02"} and window["totals"]["calls"] == 3


def test_usage_pages_keep_the_totals_of_every_row(usage_world):
    client, who, _, _ = usage_world
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/usage", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=who["admin"].headers)
        assert page.status_code == 200
        body = page.json()
        assert body["totals"]["calls"] == 7
        seen += body["items"]
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert len(seen) == 7 and len({(r["app"], r["informationSystem"], r["day"]) for r in seen}) == 7


def test_a_developer_filtering_on_another_organisations_app_gets_nothing(usage_world):
    client, who, ids, _ = usage_world
    body = client.get(f"/api/v1/usage?app={ids['b']}", headers=who["dev_a"].headers).json()
    assert body["items"] == [] and body["totals"] == {"calls": 0, "errors": 0, "bytesOut": 0}


@pytest.mark.parametrize(
    "query, param",
    [("from=yesterday", "from"), ("to=2024-13-01", "to"), ("from=2024-05-03&to=2024-05-01", "from"), ("app=seven", "app")],
)
def test_bad_usage_filters_are_a_400_naming_the_parameter(usage_world, query, param):
    client, who, _, _ = usage_world
    response = client.get(f"/api/v1/usage?{query}", headers=who["admin"].headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["param"] == param


def test_usage_needs_an_approved_account_and_a_session(usage_world):
    client, who, _, key = usage_world
    anonymous = client.get("/api/v1/usage")
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    assert client.get("/api/v1/usage", headers=key).status_code == 403
    pending = client.get("/api/v1/usage", headers=who["pending"].headers)
    assert pending.status_code == 403 and pending.json()["type"].endswith("/account-not-approved")


def test_the_usage_date_is_the_utc_day():
    meter = UsageMeter("sqlite://")
    meter.record(1, None, ["x/y"], 200, 1, at=datetime(2024, 5, 1, 23, 59, 59, tzinfo=timezone.utc))
    meter.record(1, None, ["x/y"], 200, 1, at=datetime(2024, 5, 2, 0, 0, 0, tzinfo=timezone.utc))
    assert sorted(day for _, _, day in meter.pending()) == [date(2024, 5, 1), date(2024, 5, 2)]
