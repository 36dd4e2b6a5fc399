"""The kinds of information system the demo cities open: what each serves, the
parameters or commands it accepts (properties IN) and what it returns
(properties OUT, named as its Smart Data Model names them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def prop(name: str, type_: str, description: str, unit: str | None = None) -> dict[str, Any]:
    declared = {"name": name, "type": type_, "description": description}
    return {**declared, "unit": unit} if unit else declared


@dataclass(frozen=True)
class SystemKind:
    slug: str
    category: str
    entity_type: str
    name: str  # "{city}" is replaced by the city's name
    description: str  # "{city}" and "{operator}" are replaced
    properties_in: list[dict[str, Any]] = field(default_factory=list)
    properties_out: list[dict[str, Any]] = field(default_factory=list)
    device_type: str | None = None  # set for the sensor networks, whose devices are registered
    device_commands: list[dict[str, Any]] = field(default_factory=list)
    other_entity_types: tuple[str, ...] = ()  # served beside entity_type (incident reports: their service types)


PERIOD = prop("dateObserved", "date-time interval", "Period of the readings to return (ISO 8601 interval)")

KINDS = {
    k.slug: k
    for k in [
        SystemKind(
            "air-quality",
            "environment",
            "AirQualityObserved",
            "{city} air quality monitoring network",
            "Hourly concentrations of nitrogen dioxide, particulate matter (PM10, PM2.5), ozone and carbon monoxide "
            "measured by the reference stations that {operator} runs in {city}, with the resulting air quality level.",
            [PERIOD, prop("airQualityLevel", "string", "Only stations at this level: good, moderate, "
                          "unhealthyForSensitiveGroups, unhealthy")],
            [
                prop("name", "string", "Station name"),
                prop("dateObserved", "date-time", "Start of the hour the values refer to (UTC)"),
                prop("no2", "number", "Nitrogen dioxide, hourly mean", "µg/m³"),
                prop("pm10", "number", "Particulate matter below 10 µm", "µg/m³"),
                prop("pm25", "number", "Particulate matter below 2.5 µm", "µg/m³"),
                prop("o3", "number", "Ozone", "µg/m³"),
                prop("co", "number", "Carbon monoxide", "mg/m³"),
                prop("airQualityLevel", "string", "good, moderate, unhealthyForSensitiveGroups or unhealthy"),
            ],
            device_type="AirQualityMonitor",
        ),
        SystemKind(
            "noise",
            "sensor-data",
            "NoiseLevelObserved",
            "{city} noise monitoring network",
            "Sound level meters installed by {operator} on lamp posts and façades across {city}; each reports the "
            "A-weighted equivalent and maximum levels of the past hour.",
            [PERIOD, prop("setReportingPeriod", "command", "Change how often a meter reports, in seconds (60–3600)")],
            [
                prop("name", "string", "Location of the sound level meter"),
                prop("dateObservedFrom", "date-time", "Start of the measured period (UTC)"),
                prop("dateObservedTo", "date-time", "End of the measured period (UTC)"),
                prop("LAeq", "number", "A-weighted equivalent continuous sound level", "dB(A)"),
                prop("LAmax", "number", "Maximum A-weighted sound level", "dB(A)"),
                prop("LAS", "number", "A-weighted sound level, slow time weighting", "dB(A)"),
                prop("sonometerClass", "string", "Class of the sound level meter (IEC 61672)"),
            ],
            device_type="SoundLevelMeter",
            device_commands=[  # declared as the commands API takes them: parameters as a JSON Schema
                {
                    "name": "setReportingPeriod",
                    "description": "Seconds between two reports",
                    "parameters": {
                        "type": "object",
                        "properties": {"seconds": {"type": "integer", "minimum": 60, "maximum": 3600}},
                        "required": ["seconds"],
                        "additionalProperties": False,
                    },
                },
                {
                    "name": "restart",
                    "description": "Restart the meter's firmware",
                    "parameters": {"type": "object", "additionalProperties": False},
                },
            ],
        ),
        SystemKind(
            "parking",
            "transport-mobility",
            "OffStreetParking",
            "{city} public car parks",
            "Occupancy of the public car parks operated by {operator} in {city}, updated every few minutes from the "
            "barrier counters.",
            [prop("availableSpotNumber", "number", "Only car parks with at least this many free spots")],
            [
                prop("name", "string", "Car park name"),
                prop("totalSpotNumber", "number", "Number of spots", "spots"),
                prop("availableSpotNumber", "number", "Free spots now", "spots"),
                prop("occupancy", "number", "Fraction of spots taken, 0 to 1"),
                prop("status", "array", "open, closed, full…"),
                prop("openingHours", "string", "Opening hours (schema.org syntax)"),
                prop("priceCurrency", "string", "Currency of the fees (ISO 4217)"),
                prop("observationDateTime", "date-time", "Time of the last count"),
            ],
        ),
        SystemKind(
            "parking-spots",
            "transport-mobility",
            "ParkingSpot",
            "{city} on-street parking sensors",
            "In-ground sensors laid by {operator} in {city}'s on-street parking bays, reporting whether each bay "
            "is free or occupied.",
            [prop("status", "string", "Only spots in this state: free, occupied")],
            [
                prop("name", "string", "Bay identifier and street"),
                prop("status", "string", "free, occupied or unknown"),
                prop("category", "array", "onStreet, forDisabled…"),
                prop("timeInstant", "date-time", "Time of the last change"),
            ],
        ),
        SystemKind(
            "wifi",
            "wifi",
            "WifiPointOfInterest",
            "{city} public WiFi hotspots",
            "The free municipal WiFi network of {city}, run by {operator}: location, state and load of each hotspot.",
            [prop("wifiStatus", "string", "Only hotspots in this state: up, down")],
            [
                prop("name", "string", "Hotspot name"),
                prop("wifiStatus", "string", "up or down"),
                prop("clientsConnected", "number", "Devices connected now", "devices"),
                prop("areaServed", "string", "District"),
                prop("timeInstant", "date-time", "Time of the last status report"),
            ],
        ),
        SystemKind(
            "ev-charging",
            "energy",
            "EVChargingStation",
            "{city} electric vehicle charging points",
            "Public charging stations for electric vehicles in {city}, operated by {operator}, with their sockets "
            "and how many are free.",
            [prop("availableCapacity", "number", "Only stations with at least this many free sockets")],
            [
                prop("name", "string", "Station name"),
                prop("capacity", "number", "Vehicles that can charge at once", "vehicles"),
                prop("availableCapacity", "number", "Sockets free now", "sockets"),
                prop("socketType", "array", "Type2, CHAdeMO, CCS…"),
                prop("status", "string", "working, outOfService…"),
                prop("operator", "string", "Operator of the station"),
                prop("observationDateTime", "date-time", "Time of the last status report"),
            ],
        ),
        SystemKind(
            "incidents",
            "e-government",
            "service_requests",
            "{city} incident reports",
            "Reports of problems in public space (potholes, broken street lights, graffiti, waste) sent by citizens "
            "to {city} and handled by {operator}, in the Open311 GeoReport shape.",
            [
                prop("service_code", "string", "Kind of problem reported (see the list of services)"),
                prop("description", "string", "What the citizen saw"),
                prop("location", "GeoJSON Point", "Where it is"),
                prop("media_url", "string", "Photo of the problem"),
            ],
            [
                prop("service_request_id", "string", "Number of the report"),
                prop("service_code", "string", "Kind of problem"),
                prop("service_name", "string", "Name of that kind"),
                prop("description", "string", "What the citizen saw"),
                prop("status", "string", "open or closed"),
                prop("status_notes", "string", "What the city did"),
                prop("agency_responsible", "string", "Department in charge"),
                prop("requested_datetime", "string", "When it was reported (ISO 8601)"),
                prop("updated_datetime", "string", "Last change (ISO 8601)"),
                prop("address_string", "string", "Address given by the citizen"),
            ],
            other_entity_types=("services",),
        ),
        SystemKind(
            "points-of-interest",
            "tourism-culture",
            "PointOfInterest",
            "{city} points of interest",
            "Monuments, museums and squares of {city} from the tourism office's register kept by {operator}.",
            [prop("category", "string", "Only points of this category: monument, museum, square, park")],
            [
                prop("name", "string", "Name"),
                prop("description", "string", "Short description"),
                prop("category", "array", "monument, museum, square, park"),
            ],
        ),
        SystemKind(
            "bike-sharing",
            "transport-mobility",
            "BikeHireDockingStation",
            "{city} bike sharing docking stations",
            "Docking stations of {city}'s public bike sharing scheme, operated by {operator}: bikes and free docks "
            "at each station.",
            [prop("availableBikeNumber", "number", "Only stations with at least this many bikes")],
            [
                prop("name", "string", "Station name"),
                prop("stationCode", "string", "Code shown at the station"),
                prop("totalSlotNumber", "number", "Docks", "docks"),
                prop("availableBikeNumber", "number", "Bikes available now", "bikes"),
                prop("freeSlotNumber", "number", "Free docks now", "docks"),
                prop("status", "string", "working, outOfService…"),
                prop("observationDateTime", "date-time", "Time of the last count"),
            ],
        ),
        SystemKind(
            "city-agenda",
            "e-government",
            "Event",
            "{city} City Agenda",
            "The city's agenda of cultural, civic and sports events, published by {operator} as an iCalendar "
            "feed: venue, dates (each occurrence of a recurring event on its own), categories and status.",
            [
                prop("startDate", "date-time interval", "Only events starting in this period"),
                prop("category", "string", "Only events of this category, as the agenda names them (Cultura, "
                     "Infants i famílies, Ciutadania…)"),
            ],
            [
                prop("name", "string", "Title of the event"),
                prop("description", "string", "What it is about"),
                prop("startDate", "date-time", "Start, with the local offset (a date for all-day events)"),
                prop("endDate", "date-time", "End, exclusive, with the local offset"),
                prop("category", "array", "Categories of the agenda"),
                prop("eventStatus", "array", "EventScheduled or EventCancelled"),
                prop("url", "string", "The event's page on the city's website"),
            ],
        ),
        SystemKind(
            "city-map",
            "gis",
            "OSMBoundary",
            "{city} districts and streets",
            "The city's base cartography, kept by {operator}: the outlines of {city}'s districts and its main "
            "streets (ring road, avenues, the street grid of the centre), as GeoJSON shapes.",
            [prop("name", "string", "Only districts or streets whose name contains this text")],
            [
                prop("name", "string", "District or street name"),
                prop("boundaryType", "string", "administrative (a district's outline)"),
                prop("adminLevel", "number", "10: a district of the city"),
                prop("roadClass", "string", "primary, secondary or residential (a street)"),
                prop("length", "number", "Length of the street", "km"),
            ],
            other_entity_types=("Road",),
        ),
        SystemKind(
            "bus-stops",
            "transport-mobility",
            "GtfsStop",
            "{city} bus stops",
            "The stops of {city}'s urban bus and trolleybus network, from the GTFS feed that {operator} publishes.",
            [prop("name", "string", "Only stops whose name contains this text")],
            [
                prop("name", "string", "Stop name"),
                prop("code", "string", "Code shown at the stop"),
                prop("description", "string", "Street or landmark"),
                prop("zoneCode", "string", "Fare zone"),
                prop("wheelChairAccessible", "string", "GTFS wheelchair_boarding: 0 unknown, 1 accessible, 2 not"),
                prop("page", "string", "The stop's page on the operator's website"),
            ],
        ),
        SystemKind(
            "bus-routes",
            "transport-mobility",
            "GtfsRoute",
            "{city} bus lines",
            "The lines of {city}'s urban bus and trolleybus network, from the GTFS feed that {operator} publishes.",
            [prop("routeType", "string", "Only lines of this GTFS route type: 3 bus, 11 trolleybus")],
            [
                prop("shortName", "string", "Line number"),
                prop("name", "string", "Terminus to terminus"),
                prop("description", "string", "The line's path"),
                prop("routeType", "string", "GTFS route type: 3 bus, 11 trolleybus"),
                prop("routeColor", "string", "Line colour (hex)"),
                prop("routeTextColor", "string", "Colour of text on the line colour (hex)"),
                prop("page", "string", "The line's page on the operator's website"),
            ],
        ),
    ]
}
