"""Request bodies and response shapes of app certification and the app portal."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from icity.api.access_schemas import Body
from icity.api.schemas import example

Note = Annotated[str, StringConstraints(max_length=2000)]

CHECKLIST_EXAMPLE = [
    {
        "check": "dataUse",
        "label": "Declared data use matches its grants",
        "passed": True,
        "findings": [],
        "readable": {"AirQualityObserved": ["barcelona/air-quality", "cornella/air-quality"]},
        "grants": [],
    },
    {"check": "links", "label": "Working links", "passed": True, "findings": [], "probed": False},
    {"check": "description", "label": "Description complete", "passed": True, "findings": []},
]
REVIEW_EXAMPLE = {
    "id": 3,
    "trigger": "developer",
    "submittedAt": "2026-11-25T09:40:00+00:00",
    "submittedBy": {"id": 7, "name": "Ada Lovelace"},
    "note": "First release.",
    "decision": "certified",
    "decidedAt": "2026-11-25T11:02:00+00:00",
    "reviewer": {"id": 1, "name": "Network coordinator"},
    "checklist": [{**check, "computed": True, "note": ""} for check in CHECKLIST_EXAMPLE],
    "comments": None,
}
APP_SUMMARY_EXAMPLE = {
    "id": 1,
    "name": "BreatheEasy",
    "organisation": {"id": 3, "name": "Analytical Engines SL"},
    "entityTypes": ["AirQualityObserved"],
}


class SubmissionIn(Body):
    note: Note | None = Field(None, description="A word to the reviewer.", examples=["First release: Android only."])


class Verdict(Body):
    passed: bool | None = Field(None, description="Your verdict; omitted: the computed one.")
    note: Note = Field("", description="Needed when your verdict differs from the computed one.")


class ChecklistIn(Body):
    data_use: Verdict | None = Field(None, alias="dataUse")
    links: Verdict | None = None
    description: Verdict | None = None


class ReviewIn(Body):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "decision": "returned",
                    "comments": "The Android link answers 404.",
                    "checklist": {"links": {"passed": False, "note": "The Play store page is gone."}},
                }
            ]
        },
    )
    decision: Literal["certified", "returned"]
    comments: Annotated[str, StringConstraints(max_length=5000)] | None = Field(
        None, description="Needed to return an app: what to fix."
    )
    checklist: ChecklistIn | None = None

    def verdicts(self) -> dict[str, dict]:
        return self.checklist.model_dump(by_alias=True, exclude_none=True) if self.checklist else {}


class CertificationOut(BaseModel):
    model_config = example(
        {"app": APP_SUMMARY_EXAMPLE, "status": "certified", "checklist": CHECKLIST_EXAMPLE, "reviews": [REVIEW_EXAMPLE]}
    )
    app: dict
    status: str = Field(description="draft, submitted, certified or returned")
    checklist: list[dict] = Field(description="The checks as computed now.")
    reviews: list[dict] = Field(description="Submissions and decisions, newest first.")


class QueueItem(BaseModel):
    model_config = example(
        {
            "app": APP_SUMMARY_EXAMPLE,
            "review": {**REVIEW_EXAMPLE, "decision": None, "decidedAt": None, "reviewer": None, "checklist": [], "comments": None},
            "checklist": CHECKLIST_EXAMPLE,
        }
    )
    app: dict
    review: dict = Field(description="The pending submission.")
    checklist: list[dict]


class PortalApp(BaseModel):
    model_config = example(
        {
            "id": 1,
            "name": "BreatheEasy",
            "description": "Air quality near you, and the cleanest walking route.",
            "developer": {"id": 3, "name": "Analytical Engines SL", "website": "https://analytical.example"},
            "functionalities": ["live air quality map", "alerts"],
            "advantages": ["works in every iCity city"],
            "platforms": [{"platform": "android", "url": "https://play.example/breatheeasy"}],
            "entityTypes": ["AirQualityObserved"],
            "cities": [
                {"id": "barcelona", "name": "Barcelona", "level": "consortium",
                 "publishers": [{"kind": "city", "id": "barcelona", "name": "Barcelona"}]}
            ],
            "certifiedAt": "2026-11-25T11:02:00+00:00",
        }
    )
    id: int
    name: str
    description: str
    developer: dict
    functionalities: list[str]
    advantages: list[str]
    platforms: list[dict] = Field(description="Download or launch links.")
    entityTypes: list[str]
    cities: list[dict] = Field(
        description="Where the app works: the cities that open every entity type it needs to it, each with the "
        "`publishers` of what it reads there (the city itself, or infrastructure owners opening IS in it)."
    )
    certifiedAt: str | None
