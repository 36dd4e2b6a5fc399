#!/usr/bin/env bash
# The same entities through NGSI-LD (ETSI GS CIM 009): what an app written for a FIWARE city speaks.
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}
I=${ICITY_CLI:-.venv/bin/icity}
LD=${API%/api/v1}/ngsi-ld/v1
# iCity's @context: the core's terms and every Smart Data Models type and attribute (never fetched)
CONTEXT=$LD/contexts/icity.jsonld
LINK="<$CONTEXT>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\""

# one entity, normalized (Property, GeoProperty, observedAt); application/json: the context in a Link header
STATION=urn:ngsi-ld:AirQualityObserved:barcelona:aq-01
curl -sf "$LD/entities/$STATION" -H "Link: $LINK" -H 'Accept: application/json' | jq '{id, type, no2, location}'

# a query: type, q (the NGSI-LD query language), georel (2 km around Plaça Catalunya), count=true;
# keyValues for short answers; the total in the NGSILD-Results-Count header
curl -sfG "$LD/entities" -H "Link: $LINK" -D headers.txt \
  -d type=AirQualityObserved -d 'q=no2>0;(airQualityLevel=="good"|airQualityLevel=="moderate")' \
  -d 'georel=near;maxDistance==2000' -d geometry=Point -d 'coordinates=[2.1686,41.3874]' \
  -d count=true -d options=keyValues -d limit=3 | jq -c '.[] | {id, no2, airQualityLevel}'
grep -i '^ngsild-results-count' headers.txt
# the station's history through the temporal API: yesterday's hourly average and maximum of NO2, in SQL
YESTERDAY=$(date -u -d yesterday +%Y-%m-%dT00:00:00Z 2>/dev/null || date -u -v-1d +%Y-%m-%dT00:00:00Z)
TODAY=$(date -u +%Y-%m-%dT00:00:00Z)
curl -sfG "$LD/temporal/entities/$STATION" -H "Link: $LINK" -d attrs=no2 \
  -d timerel=between -d "timeAt=$YESTERDAY" -d "endTimeAt=$TODAY" \
  -d options=aggregatedValues -d aggrMethods=avg,max -d aggrPeriodDuration=PT1H > hourly.json
jq -c '.no2.avg[:2]' hourly.json   # [[value, period start, period end], …]
test "$(jq '.no2.max | length' hourly.json)" -gt 0
# the same area as GeoJSON, for a map
curl -sfG "$LD/entities" -H 'Accept: application/geo+json' -d type=AirQualityObserved \
  -d georel=within -d geometry=Polygon -d 'coordinates=[[[2.10,41.35],[2.22,41.35],[2.22,41.42],[2.10,41.42],[2.10,41.35]]]' \
  | jq '{type, features: (.features | length)}'

# the city's IoT agent writes with its provider token: application/ld+json, the @context in the body
TOKEN=$($I provider-token create barcelona/air-quality --provider 1 --name "NGSI-LD agent")
EARLIER=$(date -u -d '2 minutes ago' +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -v-2M +%Y-%m-%dT%H:%M:%SZ)
NEW=urn:ngsi-ld:AirQualityObserved:barcelona:ngsi-01
curl -sf -X POST "$LD/entities" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/ld+json' -d "{
  \"@context\": \"$CONTEXT\", \"id\": \"$NEW\", \"type\": \"AirQualityObserved\",
  \"location\": {\"type\": \"GeoProperty\", \"value\": {\"type\": \"Point\", \"coordinates\": [2.17, 41.387]}},
  \"no2\": {\"type\": \"Property\", \"value\": 38.5, \"unitCode\": \"GQ\", \"observedAt\": \"$EARLIER\"}}"
curl -sf -X PATCH "$LD/entities/$NEW/attrs" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H "Link: $LINK" -d "{\"no2\": {\"type\": \"Property\", \"value\": 41.5, \"observedAt\": \"$EARLIER\"}}"
# one store: /api/v1 shows what NGSI-LD wrote, and ld+json answers carry their @context in the body
test "$(curl -sf "$API/entities/$NEW" | jq .no2)" = 41.5
curl -sf "$LD/entities/$NEW" -H 'Accept: application/ld+json' | jq -c '{"@context", no2}'
curl -sf -X DELETE "$LD/entities/$NEW" -H "Authorization: Bearer $TOKEN"
test "$(curl -s -o /dev/null -w '%{http_code}' "$LD/entities/$NEW")" = 404
