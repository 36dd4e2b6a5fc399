"""Response shape of "where can this app run": the cities that open what an app needs, and through which IS."""

from typing import Any

from pydantic import BaseModel

from icity.api.schemas import example


class CityOffer(BaseModel):
    city: str
    name: str
    level: str
    provides: list[dict[str, Any]]


class WhereCanAppRun(BaseModel):
    model_config = example(
        {
            "entityTypes": ["AirQualityObserved"],
            "categories": [],
            "cities": [
                {
                    "city": "barcelona",
                    "name": "Barcelona",
                    "level": "consortium",
                    "provides": [
                        {
                            "requirement": {"entityType": "AirQualityObserved"},
                            "informationSystems": [
                                {
                                    "id": "barcelona/air-quality",
                                    "name": "Air quality monitoring network",
                                    "category": "environment",
                                    "publisher": {"kind": "city", "id": "barcelona", "name": "Barcelona"},
                                    "entityTypes": ["AirQualityObserved"],
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    )
    entityTypes: list[str]
    categories: list[str]
    cities: list[CityOffer]
