"""Request bodies and response shapes of offers and statements. Amounts travel as strings
(exact decimals: "12.50"); a body may send them as JSON numbers or strings."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from icity.api.schemas import example

Amount = Annotated[Decimal | str, Field(examples=["49.00"])]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class OfferIn(Body):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {"currency": "EUR", "monthlyFee": "49.00", "pricePer1000": "0.50", "freeCalls": 10000,
                 "terms": "Fair use; data under CC BY 4.0.", "termsUrl": "https://city.example/terms"}
            ]
        },
    )  # fmt: skip
    # loose types: the service checks every field and answers 422 naming each wrong one
    currency: str | None = Field(None, description="ISO 4217 code, e.g. EUR, GBP, JPY.")
    monthly_fee: Amount = Field("0", alias="monthlyFee", description="Charged each month the app holds an acceptance; at most the currency's decimals.")
    price_per_1000: Amount = Field("0", alias="pricePer1000", description="Per 1,000 calls beyond the free allowance.")
    free_calls: int | float | str = Field(0, alias="freeCalls", description="Calls per app and month before anything is billed.")
    terms: str = Field("", description="Terms of use (a priced offer needs terms or termsUrl).")
    terms_url: str | None = Field(None, alias="termsUrl", description="Where the full terms are, http(s).")

    def as_body(self) -> dict:
        return self.model_dump(by_alias=True)


OFFER_EXAMPLE = {"informationSystem": "london/parking", "version": 2, "effectiveFrom": "2027-01-01", "currency": "GBP",
     "monthlyFee": "49.00", "pricePer1000": "0.50", "freeCalls": 10000, "terms": "Fair use.",
     "termsUrl": "https://london.example/terms", "priced": True, "createdAt": "2026-12-06T02:00:00+00:00"}


class OfferPublic(BaseModel):
    model_config = example(OFFER_EXAMPLE)
    informationSystem: str
    version: int
    effectiveFrom: str
    currency: str
    monthlyFee: str
    pricePer1000: str
    freeCalls: int
    terms: str
    termsUrl: str | None
    priced: bool
    createdAt: str


class OfferSummary(BaseModel):
    model_config = example(
        {"informationSystem": "london/parking", "current": None, "next": None, "free": True, "acceptUrl": "/api/v1/apps/{appId}/offers"}
    )
    informationSystem: str
    current: OfferPublic | None = Field(description="The version in effect this month; none: free.")
    next: OfferPublic | None = Field(description="The version announced for a later month.")
    free: bool
    acceptUrl: str


class AcceptanceIn(Body):
    information_system: str = Field(alias="informationSystem", examples=["london/parking"])
    version: int | str = Field(examples=[1], description="The version in effect, or the next one.")


class AcceptancePublic(BaseModel):
    model_config = example({"app": 7, "informationSystem": "london/parking", "version": 2, "acceptedAt": "2026-12-06T02:10:00+00:00"})
    app: int
    informationSystem: str
    version: int
    acceptedAt: str


class Publisher(BaseModel):
    kind: str = Field(description="city or owner")
    id: str
    name: str


class StatementApp(BaseModel):
    id: int
    name: str
    organisation: int
    organisationName: str


STATEMENT_PARTS = {
    "month": "2026-12",
    "publisher": {"kind": "city", "id": "london", "name": "London"},
    "app": {"id": 7, "name": "Park Me", "organisation": 3, "organisationName": "Acme Apps"},
    "totals": [{"currency": "GBP", "amount": "15.67"}],
    "url": "/api/v1/statements/city/london/7?month=2026-12",
}
LINE_EXAMPLE = {"informationSystem": "london/parking", "informationSystemName": "Car parks", "offerVersion": 2, "accepted": True,
     "currency": "GBP", "calls": 12345, "freeCalls": 1000, "billableCalls": 11345, "pricePer1000": "0.50",
     "usageAmount": "5.67", "monthlyFee": "10.00", "amount": "15.67"}


class StatementLine(BaseModel):
    model_config = example(LINE_EXAMPLE)
    informationSystem: str
    informationSystemName: str
    offerVersion: int
    accepted: bool
    currency: str
    calls: int
    freeCalls: int
    billableCalls: int
    pricePer1000: str
    usageAmount: str
    monthlyFee: str
    amount: str


class CurrencyTotal(BaseModel):
    currency: str
    amount: str


class Statement(BaseModel):
    model_config = example({**STATEMENT_PARTS, "lines": [LINE_EXAMPLE]})
    month: str
    publisher: Publisher
    app: StatementApp
    lines: list[StatementLine]
    totals: list[CurrencyTotal]
    url: str


class StatementSummary(BaseModel):
    model_config = example({**STATEMENT_PARTS, "informationSystems": 1})
    month: str
    publisher: Publisher
    app: StatementApp
    informationSystems: int
    totals: list[CurrencyTotal]
    url: str


class StatementList(BaseModel):
    model_config = example({"month": "2026-12", "items": [{**STATEMENT_PARTS, "informationSystems": 1}]})
    month: str
    items: list[StatementSummary]
