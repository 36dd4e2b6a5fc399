"""The live demo: a background task of `icity serve` that keeps the demo's sensors reporting.

On the demo's database only (`icity.demo.is_demo_database`, the loader's mark) and unless
ICITY_DEMO_SIMULATOR=false, each air-quality station and sound level meter of the demo's
synthetic networks reports at its declared period (Device.reporting_period_s), with the
curves of the generated history (icity.demo.timeseries: traffic peaks, sunshine, drift) and,
now and then, an excursion that the demo's alarm rules raise (a roadside NO2 episode above
the EU hourly limit, a loud night on a noise meter).

It pushes as any provider does, through the platform's own API: a provider token per IS
(issued at start, the secret kept in memory only, the previous run's revoked) and
POST …/observations, so its readings pass the same validation as any push; with
ICITY_MQTT_URL the sound level meters' live readings are published to
icity/<city>/<slug>/<device>/attrs instead. On its first tick, seconds after start, it
catches up from each device's last observation (at most a day back: hourly, as the
history, then at the device's period over the last hour), in batches.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.models import Device, Entity, InformationSystem, Provider, ProviderToken, utcnow
from icity.demo.network import CITIES
from icity.demo.sampling import SEED, iso
from icity.demo.timeseries import Drift, air_quality_reading, is_roadside, noise_reading, traffic
from icity.services import audit, provider_tokens

log = logging.getLogger(__name__)

SIMULATOR = audit.actor_named("demo simulator")
TOKEN_NAME = "demo simulator"
SIMULATED_TYPES = ("AirQualityObserved", "NoiseLevelObserved")
FIRST_TICK_S = 3.0  # `make run` shows the demo moving within seconds
TICK_S = 15.0
SERVER_WAIT_S = 1.0  # between tries while `icity serve` is not yet listening
CATCH_UP = timedelta(days=1)  # the longest gap filled on start
FINE_CATCH_UP = timedelta(hours=1)  # filled at the device's period; earlier, hourly as the history
BATCH_MEASURES = 1000  # per push: 5,000 observations at most, half the API's limit
NO2_EXCURSION_CHANCE = 1 / 60  # a roadside reading starting an episode above 200 µg/m³
NOISE_EXCURSION_CHANCE = 1 / 900  # a reading starting a loud spell above 80 dB(A)


@dataclass
class DeviceState:
    """What a device's next reading continues from."""

    local: Drift
    base: float = 60.0  # a noise meter's LAeq at ordinary traffic
    pm_ratio: float = 0.6
    excursion_left: int = 0


@dataclass
class Reading:
    system_id: str
    device: str
    observed_at: datetime
    values: dict[str, Any]
    live: bool  # False: catching up a gap


@dataclass
class TickResult:
    pushed: int = 0  # readings accepted over HTTP
    published: int = 0  # readings published over MQTT (the platform's MQTT ingest stores them)
    refused: list[str] = field(default_factory=list)  # what the API said of a refused batch


def simulator_enabled(session: Session, setting: bool) -> bool:
    """On when the setting allows it and only on the demo's own database."""
    from icity.demo import is_demo_database

    return setting and is_demo_database(session)


class DemoSimulator:
    """start()/stop() like the platform's other background tasks; tick() is one round (tests drive it)."""

    def __init__(
        self,
        database_url: str | None,
        base_url: str,
        mqtt_url: str | None = None,
        *,
        mqtt_prefix: str = "icity",
        first_tick_s: float = FIRST_TICK_S,
        tick_s: float = TICK_S,
        rng: random.Random | None = None,
    ) -> None:
        self.database_url = database_url
        self.base_url = base_url.rstrip("/")
        self.mqtt_url, self.mqtt_prefix = mqtt_url, mqtt_prefix
        self.first_tick_s, self.tick_s = first_tick_s, tick_s
        self.rng = rng or random.Random(f"{SEED}:simulator")
        self.tokens: dict[str, str] = {}  # IS → provider token secret (never logged)
        self.states: dict[int, DeviceState] = {}
        self.weather: dict[str, tuple[Drift, datetime | None, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mqtt = None

    # -- tokens ---------------------------------------------------------------------------------

    def issue_tokens(self) -> None:
        """A provider token per simulated IS (for its devices' maker); the previous run's are revoked."""
        from icity.db.engine import write_transaction

        with write_transaction(self.database_url) as session:
            for system_id in _simulated_systems(session):
                for old in session.scalars(
                    select(ProviderToken).where(
                        ProviderToken.information_system_id == system_id,
                        ProviderToken.name == TOKEN_NAME,
                        ProviderToken.revoked_at.is_(None),
                    )
                ):
                    provider_tokens.revoke_token(session, SIMULATOR, system_id, old.id)
                provider = session.scalar(
                    select(Provider.id)
                    .where(Provider.information_system_id == system_id, Provider.kind == "manufacturer")
                    .order_by(Provider.id)
                )
                if provider is not None:
                    issued = provider_tokens.create_token(session, SIMULATOR, system_id, provider, TOKEN_NAME)
                    self.tokens[system_id] = issued["token"]

    # -- one round ------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickResult:
        """Push every reading due by `now` (default: the current time); what was accepted or refused."""
        now = now or utcnow()
        if not self.tokens:
            self.issue_tokens()
        result = TickResult()
        live_mqtt: list[Reading] = []
        by_system: dict[str, list[Reading]] = defaultdict(list)
        for reading in self.due_readings(now):
            if reading.live and self._mqtt_carries(reading):
                live_mqtt.append(reading)
            else:
                by_system[reading.system_id].append(reading)
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            for system_id, group in by_system.items():
                for start in range(0, len(group), BATCH_MEASURES):
                    self.push(client, system_id, group[start : start + BATCH_MEASURES], result)
        for reading in live_mqtt:
            self._publish(reading)
            result.published += 1
        return result

    def push(self, client: httpx.Client, system_id: str, readings: list[Reading], result: TickResult) -> None:
        """One batch through POST …/observations, as any provider pushes."""
        body = {
            "measures": [
                {"device": r.device, "observedAt": iso(r.observed_at), "values": r.values} for r in readings
            ]
        }
        response = client.post(
            f"/api/v1/information-systems/{system_id}/observations",
            content=orjson.dumps(body),
            headers={"Authorization": f"Bearer {self.tokens.get(system_id, '')}", "Content-Type": "application/json"},
        )
        if response.status_code == 200:
            result.pushed += len(readings)
            return
        if response.status_code == 401:  # its token was revoked: new ones next round
            self.tokens = {}
        detail = response.json().get("detail", "") if "json" in response.headers.get("content-type", "") else ""
        result.refused.append(f"{system_id}: {response.status_code} {detail}".strip())
        log.warning("demo simulator: a push to %s was refused (%s)", system_id, response.status_code)

    def due_readings(self, now: datetime) -> list[Reading]:
        from icity.db.engine import new_session

        readings: list[Reading] = []
        with new_session(self.database_url) as session:
            rows = session.execute(
                select(Device, Entity.type, Entity.attributes, InformationSystem.city_id)
                .join(Entity, Entity.id == Device.entity_id)
                .join(InformationSystem, InformationSystem.id == Device.information_system_id)
                .where(Device.information_system_id.in_(list(self.tokens)), Entity.type.in_(SIMULATED_TYPES))
                .order_by(Device.id)
            ).all()
            for device, entity_type, attributes, city_id in rows:
                city = CITIES.get(city_id)
                if city is None:
                    continue
                state = self.states.get(device.id) or self._state_from(device, entity_type, attributes, city)
                self.states[device.id] = state
                for moment, live in _due_moments(device.last_seen_at, device.reporting_period_s or 3600, now):
                    values = self._reading(entity_type, device.local_id, state, city, moment)
                    readings.append(Reading(device.information_system_id, device.local_id, moment, values, live))
        return readings

    # -- the curves -----------------------------------------------------------------------------

    def _state_from(self, device: Device, entity_type: str, attributes: dict[str, Any], city) -> DeviceState:
        """Carry on from the device's latest values, so the live curve joins the history's."""
        state = DeviceState(local=Drift(self.rng, 0.85, 0.08))
        moment = device.last_seen_at or utcnow()
        if entity_type == "NoiseLevelObserved" and isinstance(attributes.get("LAeq"), (int, float)):
            state.base = attributes["LAeq"] - 9 * (traffic(moment, city) - 1)
        if entity_type == "AirQualityObserved":
            pm10, pm25 = attributes.get("pm10"), attributes.get("pm25")
            if isinstance(pm10, (int, float)) and isinstance(pm25, (int, float)) and pm10 > 0:
                state.pm_ratio = min(0.9, max(0.4, pm25 / pm10))
        return state

    def _reading(self, entity_type: str, local_id: str, state: DeviceState, city, moment: datetime) -> dict[str, Any]:
        if entity_type == "NoiseLevelObserved":
            values = noise_reading(city, state.base, moment, self.rng)
            if state.excursion_left or self.rng.random() < NOISE_EXCURSION_CHANCE:
                state.excursion_left = state.excursion_left - 1 if state.excursion_left else self.rng.randint(2, 5)
                loud = round(self.rng.uniform(81, 88), 1)  # street works, a late concert
                values = {"LAeq": loud, "LAmax": round(loud + 10 + abs(self.rng.gauss(0, 3)), 1), "LAS": round(loud - 1, 1)}
            return values
        index = int(local_id.rsplit("-", 1)[-1]) - 1 if local_id.rsplit("-", 1)[-1].isdigit() else 1
        values = air_quality_reading(
            city, is_roadside(index), moment, state.local.next(), self._weather(city.id, moment), state.pm_ratio, self.rng
        )
        if is_roadside(index) and (state.excursion_left or self.rng.random() < NO2_EXCURSION_CHANCE):
            # a pollution episode: a stalled inversion over a jammed road, for two or three readings
            state.excursion_left = state.excursion_left - 1 if state.excursion_left else self.rng.randint(1, 2)
            values["no2"] = round(self.rng.uniform(205, 260), 1)
            values["co"] = round(0.15 + 0.006 * values["no2"], 2)
        return values

    def _weather(self, city_id: str, moment: datetime) -> float:
        """The city's weather drift, shared by its stations: one step per reporting time, not per station."""
        drift, at, value = self.weather.get(city_id) or (Drift(self.rng, 0.98, 0.025), None, 0.0)
        if at != moment:
            at, value = moment, drift.next()
        self.weather[city_id] = (drift, at, value)
        return value

    # -- MQTT -----------------------------------------------------------------------------------

    def _mqtt_carries(self, reading: Reading) -> bool:
        """With a broker, the sound level meters publish their live readings over MQTT."""
        return self._mqtt is not None and self._mqtt.is_connected() and reading.system_id.endswith("/noise")

    def _publish(self, reading: Reading) -> None:
        from icity.realtime.mqtt import publish_properties

        payload = orjson.dumps({**reading.values, "TimeInstant": iso(reading.observed_at)})
        topic = f"{self.mqtt_prefix}/{reading.system_id}/{reading.device}/attrs"
        self._mqtt.publish(topic, payload, qos=1, properties=publish_properties(self.tokens[reading.system_id]))

    def connect_broker(self) -> None:
        """Connect to ICITY_MQTT_URL's broker in the background (start() does)."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from icity.realtime.mqtt import broker_address

        address = broker_address(self.mqtt_url)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"icity-demo-simulator-{SEED}", protocol=mqtt.MQTTv5)
        if address["username"]:
            client.username_pw_set(address["username"], address["password"])
        if address["tls"]:
            client.tls_set()
        client.connect_async(address["host"], address["port"], keepalive=30)
        client.loop_start()
        self._mqtt = client

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        wait = self.first_tick_s
        while not self._stop.wait(wait):
            wait = self.tick_s
            try:
                result = self.tick()
                if result.pushed or result.published:
                    log.info("demo simulator: %d readings pushed, %d published", result.pushed, result.published)
            except httpx.TransportError:  # the server is still starting: try again in a moment
                wait = SERVER_WAIT_S
            except Exception:  # the next round tries again
                log.exception("demo simulator: a round failed")

    def start(self) -> None:
        from icity.db.engine import background_thread

        if self.mqtt_url:
            self.connect_broker()
        self._thread = background_thread(self._run, name="demo simulator")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._mqtt is not None:
            self._mqtt.disconnect()
            self._mqtt.loop_stop()


def _simulated_systems(session: Session) -> list[str]:
    """The IS whose devices report into an air-quality or noise entity: the demo's sensor networks."""
    return list(
        session.scalars(
            select(Device.information_system_id)
            .join(Entity, Entity.id == Device.entity_id)
            .where(Entity.type.in_(SIMULATED_TYPES))
            .distinct()
            .order_by(Device.information_system_id)
        )
    )


def _due_moments(last_seen: datetime | None, period_s: int, now: datetime) -> list[tuple[datetime, bool]]:
    """The times a device reports at after `last_seen` up to `now`, each with whether it is live
    (the last one) or catching up: at most CATCH_UP back, hourly then at its period over the last hour."""
    period = timedelta(seconds=period_s)
    start = max(last_seen or now - period, now - CATCH_UP)
    moments: list[datetime] = []
    moment = start + period
    fine_from = now - FINE_CATCH_UP
    while moment <= now:
        moments.append(moment)
        step = period if moment >= fine_from else max(period, timedelta(hours=1))
        moment += step
    return [(m, i == len(moments) - 1) for i, m in enumerate(moments)]
