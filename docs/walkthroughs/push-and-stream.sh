#!/usr/bin/env bash
# A provider pushes observations; an app watches them arrive as Server-Sent Events.
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}
I=${ICITY_CLI:-.venv/bin/icity}
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# the city issues the operator of Barcelona's air-quality network a token for that one IS (shown once)
PROVIDER_TOKEN=$($I provider-token create barcelona/air-quality --provider 1 --name "XVPCA gateway")

# push a measurement of now (no time in the future is accepted; an older one than the station's latest,
# which the demo's simulator sends every 10 minutes, only joins the history); the entity shows it
curl -sf -X POST "$API/information-systems/barcelona/air-quality/observations" \
  -H "Authorization: Bearer $PROVIDER_TOKEN" -H 'Content-Type: application/json' \
  -d "{\"measures\": [{\"device\": \"aq-01\", \"observedAt\": \"$NOW\", \"values\": {\"no2\": 41.2, \"pm10\": 18.5}}]}"
ENTITY=urn:ngsi-ld:AirQualityObserved:barcelona:aq-01
curl -sf "$API/entities/$ENTITY" | jq '{observedAt, no2, pm10}'
test "$(curl -sf "$API/entities/$ENTITY" | jq .no2)" = 41.2

# an approved developer (created by the platform admin at the terminal, the password on stdin)
# with an app and its key
DEV_EMAIL=grace@breathe.example
DEV_PASSWORD='another long passphrase'
printf '%s\n%s\n' "$DEV_PASSWORD" "$DEV_PASSWORD" | \
  $I user create --role developer --organisation "Breathe SL" --email "$DEV_EMAIL" --name "Grace Hopper"
DEV_TOKEN=$(curl -sf -X POST "$API/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$DEV_EMAIL\", \"password\": \"$DEV_PASSWORD\"}" | jq -r .token)
APP_ID=$(curl -sf -X POST "$API/apps" -H "Authorization: Bearer $DEV_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name": "NO2 Alert", "entityTypes": ["AirQualityObserved"]}' | jq -r .id)
APP_KEY=$(curl -sf -X POST "$API/apps/$APP_ID/keys" -H "Authorization: Bearer $DEV_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name": "server"}' | jq -r .key)

# the app subscribes to high NO2 in Barcelona's centre
SUBSCRIPTION_ID=$(curl -sf -X POST "$API/subscriptions" -H "X-API-Key: $APP_KEY" \
  -H 'Content-Type: application/json' -d '{"name": "NO2 in the centre",
    "entityTypes": ["AirQualityObserved"], "city": "barcelona", "q": "no2>40",
    "area": {"near": "41.3874,2.1686,5000"}, "attributes": ["no2", "airQualityLevel"]}' | jq -r .id)

# it watches the stream for 10 s (curl --max-time) while a matching value of now is pushed
curl -sN --max-time 10 "$API/subscriptions/$SUBSCRIPTION_ID/events" -H "X-API-Key: $APP_KEY" > events.txt || true &
sleep 2
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
curl -sf -X POST "$API/information-systems/barcelona/air-quality/observations" \
  -H "Authorization: Bearer $PROVIDER_TOKEN" -H 'Content-Type: application/json' \
  -d "{\"measures\": [{\"device\": \"aq-01\", \"observedAt\": \"$NOW\", \"values\": {\"no2\": 44.0}}]}"
wait
cat events.txt          # id: …  event: notification  data: {… "no2": 44.0 …}
grep -q '"no2": *44' events.txt
