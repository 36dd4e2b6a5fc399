#!/usr/bin/env bash
# Report a problem to a city and follow it, with any Open311 GeoReport v2 client: the same store, the same keys.
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}
I=${ICITY_CLI:-.venv/bin/icity}
O311=${API%/api/v1}/open311/v2

# discovery: the jurisdictions are the cities' iCity ids
curl -sf "$O311/discovery.json" | jq -c '[.jurisdictions[].jurisdiction_id]'
# Bologna's service types and what a pothole report asks for (XML is the spec's required format)
curl -sfG "$O311/services.json" -d jurisdiction_id=bologna | jq -c '.[] | {service_code, service_name, metadata}'
curl -sfG "$O311/services/pothole.xml" -d jurisdiction_id=bologna
echo
# the open requests of the last 90 days (the spec's default window), a page of 3
curl -sfG "$O311/requests.json" -d jurisdiction_id=bologna -d status=open -d page_size=3 \
  | jq -c '.[] | {service_request_id, service_code, requested_datetime, address}'

# reporting needs an app key: an approved developer, an app, its key
DEV_EMAIL=linus@potholes.example
DEV_PASSWORD='a pothole passphrase'
printf '%s\n%s\n' "$DEV_PASSWORD" "$DEV_PASSWORD" | \
  $I user create --role developer --organisation "Potholes SL" --email "$DEV_EMAIL" --name "Linus Pothole"
DEV_TOKEN=$(curl -sf -X POST "$API/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$DEV_EMAIL\", \"password\": \"$DEV_PASSWORD\"}" | jq -r .token)
APP_ID=$(curl -sf -X POST "$API/apps" -H "Authorization: Bearer $DEV_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name": "Fix My Street", "entityTypes": ["service_requests"]}' | jq -r .id)
KEY=$(curl -sf -X POST "$API/apps/$APP_ID/keys" -H "Authorization: Bearer $DEV_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name": "server"}' | jq -r .key)

# report a pothole: form-encoded, the attributes its definition asks for, a location
ID=$(curl -sf -X POST "$O311/requests.json" -d jurisdiction_id=bologna -d api_key="$KEY" \
  -d service_code=pothole -d 'attribute[depth]=deep' -d 'attribute[lane_blocked]=yes' \
  -d lat=44.4949 -d long=11.3426 -d 'description=Deep hole by the bus stop' | jq -r '.[0].service_request_id')
# follow it: one request (an array of one, as the spec has it), open, requested now
curl -sf "$O311/requests/$ID.json?jurisdiction_id=bologna" | jq -c '.[0] | {service_request_id, status, requested_datetime}'
test "$(curl -sf "$O311/requests/$ID.json?jurisdiction_id=bologna" | jq -r '.[0].status')" = open
# the same report is an entity of the city's incident IS, for every other API and subscriber
curl -sf "$API/entities/urn:ngsi-ld:service_requests:bologna:$ID" | jq -c '{id, status, attributes}'
# Lamía's incidents come from its own Open311 server: its services are read through from there, and a
# report would be forwarded there (its `registered` IS: any approved app's key reads it)
LAMIA=$(curl -sfG "$O311/services.json" -d jurisdiction_id=lamia -d api_key="$KEY" | jq -c '[.[].service_code]')
echo "$LAMIA"
test "$LAMIA" != "[]"
# a report missing what the service requires gets the spec's error array, and nothing is stored
test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$O311/requests.json" -d jurisdiction_id=bologna \
  -d api_key="$KEY" -d service_code=pothole -d lat=44.49 -d long=11.34)" = 400
curl -s -X POST "$O311/requests.xml" -d jurisdiction_id=bologna -d api_key=ick_wrong -d service_code=pothole \
  -d lat=44.49 -d long=11.34
echo
