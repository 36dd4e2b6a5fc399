#!/usr/bin/env bash
# A priced offer, its acceptance and the month's statement, on the demo network (`make run` in another terminal).
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}
I=${ICITY_CLI:-.venv/bin/icity}
ADMIN_EMAIL=billing@city.example
ADMIN_PASSWORD='a long billing passphrase'
DEV_EMAIL=grace@hopper.example
DEV_PASSWORD='a long passphrase'
IS=bologna/air-quality

# 0. a platform admin (it manages every IS, as Bologna's admins would manage Bologna's) and a developer with a key
printf '%s\n%s\n' "$ADMIN_PASSWORD" "$ADMIN_PASSWORD" | $I admin create --email "$ADMIN_EMAIL" --name "Billing"
ADMIN_TOKEN=$(curl -sf -X POST "$API/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$ADMIN_EMAIL\", \"password\": \"$ADMIN_PASSWORD\"}" | jq -r .token)
curl -sf -X POST "$API/registrations" -H 'Content-Type: application/json' -d "{
  \"name\": \"Grace Hopper\", \"email\": \"$DEV_EMAIL\", \"password\": \"$DEV_PASSWORD\",
  \"organisation\": {\"name\": \"Compilers SRL\", \"country\": \"IT\"},
  \"app\": {\"name\": \"AirNow\", \"entityTypes\": [\"AirQualityObserved\"]}}" > /dev/null
MAIL_ID=$($I outbox --to "$DEV_EMAIL" --limit 1 | awk 'NR == 1 {print $1}')
VERIFY_TOKEN=$($I outbox show "$MAIL_ID" | grep -o 'token=[^[:space:]]*' | head -1 | cut -d= -f2-)
curl -sf "$API/registrations/verify?token=$VERIFY_TOKEN" > /dev/null
$I user approve "$DEV_EMAIL"
DEV_TOKEN=$(curl -sf -X POST "$API/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$DEV_EMAIL\", \"password\": \"$DEV_PASSWORD\"}" | jq -r .token)
APP_ID=$(curl -sf "$API/apps" -H "Authorization: Bearer $DEV_TOKEN" | jq -r '.items[] | select(.name == "AirNow") | .id')
DEV_KEY=$(curl -sf -X POST "$API/apps/$APP_ID/keys" -H "Authorization: Bearer $DEV_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name": "laptop"}' | jq -r .key)

# 1. the publisher prices the IS: 3 free calls a month, then 0.50 EUR per 1,000, and 10.00 EUR a month
#    (an IS's first offer applies this month; a change applies from the next one)
curl -sf -X PUT "$API/information-systems/$IS/offer" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"currency": "EUR", "monthlyFee": "10.00", "pricePer1000": "0.50",
  "freeCalls": 3, "terms": "Attribution to the city; no resale.", "termsUrl": "https://bologna.example/terms"}'
curl -sf "$API/information-systems/$IS/offer" | jq .current

# 2. the key reads the free allowance, then gets 402 with a problem naming the offer to accept
for _ in 1 2 3; do curl -sf -o /dev/null "$API/entities?informationSystem=$IS&limit=1" -H "X-API-Key: $DEV_KEY"; done
STATUS=$(curl -s -o refused.json -w '%{http_code}' "$API/entities?informationSystem=$IS&limit=1" -H "X-API-Key: $DEV_KEY")
jq . refused.json
test "$STATUS" = 402

# 3. the developer accepts version 1 for the app; the key reads again
VERSION=$(jq -r .offerVersion refused.json)
curl -sf -X POST "$API/apps/$APP_ID/offers" -H "Authorization: Bearer $DEV_TOKEN" \
  -H 'Content-Type: application/json' -d "{\"informationSystem\": \"$IS\", \"version\": $VERSION}"
curl -sf -o /dev/null "$API/entities?informationSystem=$IS&limit=1" -H "X-API-Key: $DEV_KEY"

# 4. the month's statement, as JSON and CSV (the server writes its call counts every 5 s)
sleep 6
curl -sf "$API/statements" -H "Authorization: Bearer $DEV_TOKEN" | jq '.items[] | {publisher, totals, url}'
curl -sf "$API/statements/city/bologna/$APP_ID" -H "Authorization: Bearer $DEV_TOKEN" | jq '.lines[0], .totals'
curl -sf "$API/statements/city/bologna/$APP_ID.csv" -H "Authorization: Bearer $DEV_TOKEN"
TOTAL=$(curl -sf "$API/statements/city/bologna/$APP_ID" -H "Authorization: Bearer $DEV_TOKEN" | jq -r '.totals[0].amount')
test "$TOTAL" = "10.00"  # 4 calls beyond 3 free: 0.0005 EUR, rounded to the cent, on top of the fee
