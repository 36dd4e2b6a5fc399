# The two commands a newcomer needs: `make run` and `make test`.
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTHON   ?= python3
PG_URL   ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: install clients chromium tools run test test-postgres test-topology bench bench-smoke bench-scale clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# The portal's browser libraries (Leaflet, Chart.js, world-atlas, topojson-client) from npm, at the
# versions of the committed lockfile; again only when the lockfile changed.
ASSETS   := src/icity/web/assets
$(ASSETS)/node_modules/.installed: $(ASSETS)/package-lock.json
	npm ci --prefix $(ASSETS) --no-audit --no-fund
	touch $@

install: $(STAMP) $(ASSETS)/node_modules/.installed

# Independent NGSI-LD clients from PyPI, unmodified, each in a venv of its own (ngsildclient pins old httpx/requests
# libraries that conflict with ours; FiLiP brings pandas &c.); the NGSI-LD tests run them against a real server (tests/ngsi_ld/).
NGSILDCLIENT       := .venv-ngsildclient
NGSILDCLIENT_PIN   := ngsildclient==0.5.2
NGSILDCLIENT_STAMP := $(NGSILDCLIENT)/.installed-$(subst ==,-,$(NGSILDCLIENT_PIN))
$(NGSILDCLIENT_STAMP):
	rm -rf $(NGSILDCLIENT)
	$(PYTHON) -m venv $(NGSILDCLIENT)
	$(NGSILDCLIENT)/bin/pip install --quiet '$(NGSILDCLIENT_PIN)'
	touch $@

FILIP       := .venv-filip
FILIP_PIN   := filip==0.8.1
FILIP_STAMP := $(FILIP)/.installed-$(subst ==,-,$(FILIP_PIN))
$(FILIP_STAMP):
	rm -rf $(FILIP)
	$(PYTHON) -m venv $(FILIP)
	$(FILIP)/bin/pip install --quiet '$(FILIP_PIN)'
	touch $@

# Independent Open311 GeoReport v2 clients from PyPI, unmodified, in a venv of their own (georeport brings
# requests and xmltodict; civicbot is stdlib only); the Open311 tests run them against a real server (tests/open311/).
OPEN311CLIENTS      := .venv-open311clients
OPEN311CLIENTS_PINS := georeport==0.3.1 civicbot==0.4.0
OPEN311CLIENTS_STAMP := $(OPEN311CLIENTS)/.installed-georeport-0.3.1-civicbot-0.4.0
$(OPEN311CLIENTS_STAMP):
	rm -rf $(OPEN311CLIENTS)
	$(PYTHON) -m venv $(OPEN311CLIENTS)
	$(OPEN311CLIENTS)/bin/pip install --quiet $(OPEN311CLIENTS_PINS)
	touch $@

# datasette, the generic SQL-over-HTTP server the query benchmark measures beside iCity (same rows, same SQL),
# in a venv of its own: a benchmark peer, never a dependency of iCity's.
DATASETTE       := .venv-datasette
DATASETTE_PIN   := datasette==0.65.5
DATASETTE_STAMP := $(DATASETTE)/.installed-$(subst ==,-,$(DATASETTE_PIN))
$(DATASETTE_STAMP):
	rm -rf $(DATASETTE)
	$(PYTHON) -m venv $(DATASETTE)
	$(DATASETTE)/bin/pip install --quiet '$(DATASETTE_PIN)'
	touch $@

clients: $(NGSILDCLIENT_STAMP) $(FILIP_STAMP) $(OPEN311CLIENTS_STAMP)

# Browser tests drive Debian's Chromium; installed with apt when missing (no browser download).
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# The README's walk-throughs (run by the tests) use curl and jq; installed with apt when missing.
tools:
	@command -v jq >/dev/null && command -v curl >/dev/null || (apt-get update -qq && apt-get install -y -qq jq curl)

run: install  ## migrate, load the demo network the first time, serve on http://127.0.0.1:8000
	$(BIN)/icity db upgrade
	$(BIN)/icity demo load
	$(BIN)/icity serve

test: install clients chromium tools  ## the whole suite on the embedded SQLite database (with the portal's browser tests)
	$(BIN)/pytest -q

test-postgres: install clients  ## storage, service, API, NGSI-LD, Open311 and DCAT-AP tests again on PostgreSQL
	ICITY_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/pytest -q tests/db tests/services tests/api tests/demo tests/ngsi_ld tests/open311 tests/dcat

bench-scale: install  ## PostgreSQL at city scale (not in CI; ~20 GB of disk, ~30 min): 100,000 entities, 100,000,000 observations generated server-side, then (a) bbox, (b) near, (c) 30 days of hourly averages p50/p99, HTTP ingest beside a raw COPY while queries run, disk per million observations; on the PostgreSQL server PG_URL (it makes databases of its own)
	$(BIN)/python bench/scale.py --database-url $(PG_URL)

test-topology: install  ## 2 `icity serve` + 2 `icity worker` processes on PostgreSQL, Redis and Mosquitto; one worker killed mid-run
	ICITY_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/pytest -q -m topology tests/topology

bench: install $(DATASETTE_STAMP)  ## query benchmark (API beside hand-written SQL and datasette), harvest benchmark (rows/s, peak memory), then HTTP ingest (obs/s beside a raw insert), then real time (MQTT messages/s beside a bare subscriber, SSE latency p50/p99 with 100 subscribers), then load (50 clients, 10 pushing, on SQLite and PostgreSQL), then downloads (100,000 entities streamed as CSV and GeoJSON: rows/s, server memory growth beside plain SQL + csv.writer)
	$(BIN)/python bench/query.py
	$(BIN)/python bench/query.py --database-url $(PG_URL)
	$(BIN)/python bench/harvest.py
	$(BIN)/python bench/harvest.py --database-url $(PG_URL)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ingest.py --database-url $(PG_URL)
	$(BIN)/python bench/realtime.py
	$(BIN)/python bench/realtime.py --database-url $(PG_URL)
	$(BIN)/python bench/load.py --database-url $(PG_URL)
	$(BIN)/python bench/download.py
	$(BIN)/python bench/download.py --database-url $(PG_URL)

# CI runs every benchmark on tiny inputs: a script that broke fails here, not at the next `make bench`.
bench-smoke: install $(DATASETTE_STAMP)  ## each benchmark once, on tiny inputs (figures meaningless)
	$(BIN)/python bench/query.py --quick --workers 1 --clients 1 --kinds a,c --access-rounds 1
	$(BIN)/python bench/query.py --quick --workers 1 --clients 1 --kinds a,c --access-rounds 1 --database-url $(PG_URL)
	$(BIN)/python bench/harvest.py --sizes 1000,2000
	$(BIN)/python bench/harvest.py --sizes 1000,2000 --database-url $(PG_URL)
	$(BIN)/python bench/ingest.py --batches 5 --clients 1 --no-profile
	$(BIN)/python bench/ingest.py --batches 5 --clients 1 --no-profile --database-url $(PG_URL)
	$(BIN)/python bench/realtime.py --messages 500 --subscribers 5 --apps 2 --pushes 10 --rate 20
	$(BIN)/python bench/realtime.py --messages 500 --subscribers 5 --apps 2 --pushes 10 --rate 20 --database-url $(PG_URL)
	$(BIN)/python bench/load.py --clients 10 --pushers 3 --duration 10 --database-url $(PG_URL)
	$(BIN)/python bench/download.py --sizes 1000,2000
	$(BIN)/python bench/download.py --sizes 1000,2000 --database-url $(PG_URL)
	$(BIN)/python bench/scale.py --tiny --database-url $(PG_URL)

clean:
	rm -rf $(VENV) $(NGSILDCLIENT) $(FILIP) $(OPEN311CLIENTS) $(DATASETTE) var bench/out $(ASSETS)/node_modules
