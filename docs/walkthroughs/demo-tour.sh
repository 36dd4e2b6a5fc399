#!/usr/bin/env bash
# The demo network through the read API, anonymously (`make run` in another terminal).
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}

# the network, by level; one city with its dated level history and engagement actions
curl -sf "$API/cities" | jq -r '.items[] | "\(.id) \(.level)"'     # the 13 members; ?level=pilot, ?level=prospect, ?level=all
curl -sf "$API/cities/cornella" | jq '{name, level}'
# started engagements whose next step is overdue
curl -sf "$API/cities/follow-ups" | jq -c '.[0]'

# the catalogue
curl -sf "$API/information-systems?category=environment" | jq -r '.items[].id'

# portability: which cities can run an air-quality app, and through which IS?
curl -sf "$API/where-can-app-run?entityTypes=AirQualityObserved" | jq -r '.cities[] | "\(.city): \([.provides[].informationSystems[].id] | join(", "))"'

# one query, the same shape in every city
curl -sf "$API/entities?type=AirQualityObserved&q=no2>25;airQualityLevel==good" | jq -r '.items[].id'
curl -sf "$API/entities?near=41.3874,2.1686,500" | jq -r '.items[].id'          # lat,lon,metres
curl -sf "$API/entities?city=barcelona&bbox=2.15,41.37,2.20,41.40" \
     -H 'Accept: application/geo+json' | jq '.features | length'                 # a FeatureCollection

# hourly averages of one station's NO2, up to its latest observation
STATION=$(curl -sf "$API/entities?type=AirQualityObserved&city=barcelona&limit=1" | jq -r '.items[0].id')
LAST=$(curl -sf "$API/entities/$STATION" | jq -r .observedAt)
curl -sfG "$API/entities/$STATION/history" --data-urlencode "to=$LAST" \
  -d attribute=no2 -d aggregate=avg -d interval=1h | jq -c '.buckets[-3:]'
test "$(curl -sf "$API/entities/$STATION/history?attribute=no2&aggregate=avg&interval=1h" | jq '.buckets | length')" -gt 0
