"""Hourly history of the sensor networks (air quality, noise).

Values follow the city's traffic: two rush-hour peaks on weekdays, quieter
nights and weekends, a slow multi-day "weather" drift and hour-to-hour noise.
The entity's current attributes are the last hour of its history.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

from icity.demo.network import DemoCity
from icity.demo.places import DISTRICTS
from icity.demo.sampling import (
    Generated,
    geo_point,
    history_hours,
    iso,
    point_near_centre,
    rng_for,
)
from icity.services.entity_store import entity_urn, observation_row

# Typical means (µg/m³) of NO2, PM10 and O3 at an urban background site.
AIR_BASELINES = {"london": (42, 20, 45), "barcelona": (38, 26, 55), "genova": (34, 22, 62), "bologna": (32, 29, 55)}
DEFAULT_BASELINE = (28, 24, 58)
AIR_LEVELS = ("good", "moderate", "unhealthyForSensitiveGroups", "unhealthy")


def traffic(moment: datetime, city: DemoCity) -> float:
    """Relative traffic intensity, about 0.4 at night to 1.5 at the morning peak."""
    local = moment + timedelta(hours=city.utc_offset_h)
    hour = local.hour
    peaks = math.exp(-((hour - 8) ** 2) / 3) + 0.9 * math.exp(-((hour - 19) ** 2) / 4)
    level = 0.45 + (0.25 if 6 <= hour <= 22 else 0) + 0.8 * peaks
    return level * (0.75 if local.weekday() >= 5 else 1.0)


def sunshine(moment: datetime, city: DemoCity) -> float:
    hour = (moment + timedelta(hours=city.utc_offset_h)).hour
    return max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 0.0


class Drift:
    """A mean-reverting random walk: persistence close to 1 gives slow drift."""

    def __init__(self, rng: random.Random, persistence: float, step: float):
        self.rng, self.persistence, self.step, self.value = rng, persistence, step, 0.0

    def next(self) -> float:
        self.value = self.persistence * self.value + self.rng.gauss(0, self.step)
        return self.value


def air_quality_level(no2: float, pm10: float) -> str:
    by_no2 = 0 if no2 <= 40 else 1 if no2 <= 90 else 2 if no2 <= 120 else 3
    by_pm10 = 0 if pm10 <= 40 else 1 if pm10 <= 50 else 2 if pm10 <= 100 else 3
    return AIR_LEVELS[max(by_no2, by_pm10)]


def is_roadside(index: int) -> bool:
    """Every other station of a network stands by a road (aq-01, aq-03…), the others in the background."""
    return index % 2 == 0


def air_quality_reading(
    city: DemoCity, at_roadside: bool, moment: datetime, local: float, weather: float, pm_ratio: float, rng: random.Random
) -> dict[str, float]:
    """One station's readings at `moment`: its city's traffic and sunshine, moved by the station's own
    drift (`local`) and the city's weather (both about ±0.1); the history and the live demo share it."""
    base_no2, base_pm10, base_o3 = AIR_BASELINES.get(city.id, DEFAULT_BASELINE)
    site = 1.45 if at_roadside else 0.8
    load = traffic(moment, city)
    no2 = round(max(3.0, base_no2 * site * load * (1 + local + weather)), 1)
    pm10 = round(max(4.0, base_pm10 * (0.75 + 0.25 * load) * (1 + 1.5 * weather + 0.5 * local)), 1)
    return {
        "no2": no2,
        "pm10": pm10,
        "pm25": round(pm10 * pm_ratio, 1),
        "o3": round(max(2.0, base_o3 * (0.5 + 0.7 * sunshine(moment, city)) * (1 - 0.5 * weather) - 0.25 * no2), 1),
        "co": round(max(0.1, 0.15 + 0.006 * no2 + rng.gauss(0, 0.03)), 2),
    }


def noise_reading(city: DemoCity, base: float, moment: datetime, rng: random.Random) -> dict[str, float]:
    """One sound level meter's levels at `moment`; `base` is its site's LAeq at ordinary traffic (58–68 dB(A))."""
    laeq = round(base + 9 * (traffic(moment, city) - 1) + rng.gauss(0, 1.2), 1)
    return {
        "LAeq": laeq,
        "LAmax": round(laeq + 12 + abs(rng.gauss(0, 4)), 1),
        "LAS": round(laeq - 1 + rng.gauss(0, 1.5), 1),
    }


def air_quality(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    rng = rng_for(city.id, "air-quality")
    districts = DISTRICTS.get(city.id, [city.name])
    weather = Drift(rng, 0.98, 0.025)  # shared by the city's stations
    hours = history_hours(today)
    weather_by_hour = [weather.next() for _ in hours]
    generated = Generated()
    for index in range(count):
        at_roadside = is_roadside(index)
        entity_id = entity_urn("AirQualityObserved", city.id, f"aq-{index + 1:02d}")
        local, level = Drift(rng, 0.85, 0.08), None
        pm_ratio = rng.uniform(0.55, 0.7)
        for moment, w in zip(hours, weather_by_hour):  # after the loop, values and level are the last hour's
            values = air_quality_reading(city, at_roadside, moment, local.next(), w, pm_ratio, rng)
            generated.history += [observation_row(entity_id, name, moment, v) for name, v in values.items()]
            new_level = air_quality_level(values["no2"], values["pm10"])
            if new_level != level:  # text is kept when it changes, as entity_store does
                generated.history.append(observation_row(entity_id, "airQualityLevel", moment, new_level))
                level = new_level
        district = districts[index % len(districts)]
        generated.entities.append(
            {
                "id": entity_id,
                "type": "AirQualityObserved",
                "location": geo_point(point_near_centre(rng, city, spread=0.12)),
                "observedAt": iso(hours[-1]),
                "name": f"{district} – {'traffic' if at_roadside else 'urban background'} station",
                "areaServed": district,
                "typeofLocation": "outdoor",
                "dataProvider": operator,
                "dateObserved": iso(hours[-1]),
                **values,
                "airQualityLevel": level,
            }
        )
    return generated


def noise(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    rng = rng_for(city.id, "noise")
    districts = DISTRICTS.get(city.id, [city.name])
    hours = history_hours(today)
    last, until = hours[-1], hours[-1] + timedelta(hours=1)
    generated = Generated()
    for index in range(count):
        entity_id = entity_urn("NoiseLevelObserved", city.id, f"noise-{index + 1:02d}")
        base = rng.uniform(58, 68)  # a quiet square to a busy avenue
        for moment in hours:  # after the loop, values are the last hour's
            values = noise_reading(city, base, moment, rng)
            generated.history += [observation_row(entity_id, name, moment, v) for name, v in values.items()]
        district = districts[(index * 3) % len(districts)]
        generated.entities.append(
            {
                "id": entity_id,
                "type": "NoiseLevelObserved",
                "location": geo_point(point_near_centre(rng, city, spread=0.12)),
                "observedAt": iso(last),
                "name": f"{district} sound level meter",
                "areaServed": district,
                "sonometerClass": "1",
                "dataProvider": operator,
                "dateObserved": f"{iso(last)}/{iso(until)}",
                "dateObservedFrom": iso(last),
                "dateObservedTo": iso(until),
                **values,
            }
        )
    return generated

