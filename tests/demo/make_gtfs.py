"""Build src/icity/demo/feeds/bologna-tper-gtfs.zip: the demo's GTFS feed, in the style of
the one TPER publishes for Bologna's urban buses and trolleybuses (stops along the lines
that cross the centre, their routes, one weekday trip each way). Run it again after
changing a table:

    .venv/bin/python tests/demo/make_gtfs.py

The zip is written byte for byte the same every time (fixed timestamps); a test checks
that the shipped zip is what this script builds.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta

from icity.demo.feeds import DEMO_FEEDS

FEED = DEMO_FEEDS / "bologna-tper-gtfs.zip"

# stop_id: (stop_code, stop_name, stop_desc, lat, lon, wheelchair_boarding)
STOPS: dict[str, tuple[str, str, str, float, float, str]] = {
    "1001": ("1001", "Stazione Centrale", "Piazza delle Medaglie d'Oro", 44.505620, 11.343020, "1"),
    "1002": ("1002", "Autostazione", "Viale Pietramellara", 44.504580, 11.346790, "1"),
    "1003": ("1003", "Indipendenza - Montegrappa", "Via dell'Indipendenza", 44.498460, 11.344110, "1"),
    "1004": ("1004", "Ugo Bassi", "Via Ugo Bassi, verso Piazza Maggiore", 44.494470, 11.340530, "1"),
    "1005": ("1005", "Rizzoli - Due Torri", "Via Rizzoli", 44.494230, 11.345460, "1"),
    "1006": ("1006", "Piazza Malpighi", "", 44.494180, 11.338040, "1"),
    "1007": ("1007", "Porta San Felice", "Viale Vicini", 44.497520, 11.326030, "1"),
    "1008": ("1008", "Porta Saragozza", "Viale Aldo Moro", 44.489510, 11.328540, "2"),
    "1009": ("1009", "Porta Santo Stefano", "Viale Carducci", 44.485790, 11.356020, "1"),
    "1010": ("1010", "Porta San Vitale", "Viale Ercolani", 44.492030, 11.357910, "1"),
    "1011": ("1011", "Porta Mascarella", "Viale Masini", 44.501030, 11.351040, "1"),
    "1012": ("1012", "Ospedale Sant'Orsola", "Via Massarenti, ingresso padiglione 5", 44.492480, 11.363210, "1"),
    "1013": ("1013", "Mazzini", "Via Mazzini", 44.489020, 11.372030, "1"),
    "1014": ("1014", "San Lazzaro - Caselle", "Via Emilia, San Lazzaro di Savena", 44.472960, 11.405110, "1"),
    "1015": ("1015", "Ospedale Maggiore", "Largo Nigrisoli", 44.501590, 11.313820, "1"),
    "1016": ("1016", "Borgo Panigale", "Via Marco Emilio Lepido", 44.517020, 11.283040, "0"),
    "1017": ("1017", "Casteldebole", "Via Caduti di Casteldebole", 44.499040, 11.274010, "1"),
    "1018": ("1018", "Stadio - Andrea Costa", "Via Andrea Costa", 44.492480, 11.309550, "1"),
    "1019": ("1019", "Fiera - Piazza Costituzione", "", 44.518490, 11.361240, "1"),
    "1020": ("1020", "Arcoveggio", "Via di Corticella", 44.524020, 11.350030, "1"),
    "1021": ("1021", "Corticella", "Piazza Corticella", 44.533080, 11.356010, "2"),
    "1022": ("1022", "Giardini Margherita", "Viale Gozzadini", 44.483020, 11.352080, "1"),
    "1023": ("1023", "Ospedale Bellaria", "Via Altura", 44.471540, 11.381520, "1"),
    "1024": ("1024", "Pilastro", "Via Pirandello", 44.512020, 11.396030, "1"),
}

# route_id: (short name, long name, description, route_type, colour, stops one way)
ROUTES: dict[str, tuple[str, str, str, str, str, list[str]]] = {
    "13": ("13", "Borgo Panigale - Ospedale Bellaria", "Filobus: Ospedale Maggiore, centro, Porta Santo Stefano",
           "11", "E2001A", ["1016", "1015", "1006", "1004", "1005", "1009", "1022", "1023"]),
    "14": ("14", "Casteldebole - Pilastro", "Filobus: Stadio, Porta Saragozza, Due Torri, Sant'Orsola",
           "11", "0069B4", ["1017", "1018", "1008", "1006", "1005", "1010", "1012", "1024"]),
    "19": ("19", "Casteldebole - San Lazzaro", "Via Emilia, attraverso il centro storico",
           "3", "F39200", ["1017", "1015", "1007", "1004", "1005", "1010", "1012", "1013", "1014"]),
    "27": ("27", "Corticella - Mazzini", "Fiera, Stazione Centrale, via dell'Indipendenza, Sant'Orsola",
           "3", "009640", ["1021", "1020", "1019", "1011", "1001", "1003", "1005", "1012", "1013"]),
    "32": ("32", "Circolare destra", "Filobus: giro dei viali in senso orario",
           "11", "95C11F", ["1001", "1011", "1010", "1009", "1022", "1008", "1007", "1002"]),
    "35": ("35", "Stazione Centrale - Arcoveggio", "Navetta Stazione, Fiera, Arcoveggio",
           "704", "7B2182", ["1002", "1001", "1011", "1019", "1020"]),
}

HEADER = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone,agency_lang,agency_phone,agency_fare_url",
    "feed_info.txt": "feed_publisher_name,feed_publisher_url,feed_lang,feed_start_date,feed_end_date,feed_version",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date",
    "stops.txt": "stop_id,stop_code,stop_name,stop_desc,stop_lat,stop_lon,zone_id,stop_url,location_type,"
    "parent_station,wheelchair_boarding",
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_desc,route_type,route_url,route_color,"
    "route_text_color,route_sort_order",
    "trips.txt": "route_id,service_id,trip_id,trip_headsign,direction_id,wheelchair_accessible",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence",
}


def _csv_field(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ',"\n') else value


def _line(*values: object) -> str:
    return ",".join(_csv_field(str(v)) for v in values)


def tables() -> dict[str, str]:
    rows: dict[str, list[str]] = {name: [header] for name, header in HEADER.items()}
    rows["agency.txt"].append(_line("TPER", "TPER - Trasporto Passeggeri Emilia-Romagna", "https://www.tper.it",
                                    "Europe/Rome", "it", "+39 051 290290", "https://www.tper.it/titoli-di-viaggio"))
    rows["feed_info.txt"].append(_line("TPER", "https://www.tper.it", "it", "20260914", "20270613", "2026-09-14"))
    rows["calendar.txt"].append(_line("FER", 1, 1, 1, 1, 1, 0, 0, "20260914", "20270613"))
    for stop_id, (code, name, desc, lat, lon, wheelchair) in STOPS.items():
        rows["stops.txt"].append(_line(stop_id, code, name, desc, f"{lat:.6f}", f"{lon:.6f}", "URB",
                                       f"https://www.tper.it/fermate/{code}", 0, "", wheelchair))
    for order, (route_id, (short, long, desc, route_type, colour, stops)) in enumerate(ROUTES.items(), start=1):
        rows["routes.txt"].append(_line(route_id, "TPER", short, long, desc, route_type,
                                        f"https://www.tper.it/linee/{route_id}", colour, "FFFFFF", order))
        for direction, sequence in ((0, stops), (1, stops[::-1])):
            trip_id = f"{route_id}-FER-{direction}-0730"
            headsign = STOPS[sequence[-1]][1]
            rows["trips.txt"].append(_line(route_id, "FER", trip_id, headsign, direction, 1))
            moment = datetime(2026, 9, 14, 7, 30)
            for number, stop_id in enumerate(sequence, start=1):
                time = moment.strftime("%H:%M:%S")
                rows["stop_times.txt"].append(_line(trip_id, time, time, stop_id, number))
                moment += timedelta(minutes=3)
    return {name: "\r\n".join(lines) + "\r\n" for name, lines in rows.items()}


def build() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in tables().items():
            info = zipfile.ZipInfo(name, date_time=(2026, 9, 14, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


if __name__ == "__main__":
    FEED.write_bytes(build())
    print(f"wrote {FEED} ({len(STOPS)} stops, {len(ROUTES)} routes)")
