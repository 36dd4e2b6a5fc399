#!/usr/bin/env bash
# Whole downloads of a public IS of the demo, anonymously (`make run` in another terminal).
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}

# every current entity of Barcelona's air-quality network as CSV, saved under the name the server gives
# (barcelona-air-quality.csv), then as a GeoJSON FeatureCollection
curl -sfOJ --output-dir "${TMPDIR:-/tmp}" "$API/information-systems/barcelona/air-quality/download.csv"
sed -n 1,3p "${TMPDIR:-/tmp}/barcelona-air-quality.csv"
curl -sf "$API/information-systems/barcelona/air-quality/download.geojson" | jq -c '.features[0].geometry, (.features | length)'

# one station's NO2 history as CSV (observedAt,value,unitCode), up to its latest observation
STATION=$(curl -sf "$API/entities?informationSystem=barcelona/air-quality&limit=1" | jq -r '.items[0].id')
LAST=$(curl -sf "$API/entities/$STATION" | jq -r .observedAt)
curl -sfG "$API/entities/$STATION/history.csv" -d attribute=no2 --data-urlencode "to=$LAST" | sed -n 1,4p
