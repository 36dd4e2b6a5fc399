#!/usr/bin/env bash
# From sign-up to restricted data, on the demo network (`make run` in another terminal).
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}
I=${ICITY_CLI:-.venv/bin/icity}
ADMIN_EMAIL=admin@city.example
ADMIN_PASSWORD='a long admin passphrase'
DEV_EMAIL=ada@analytical.example
DEV_PASSWORD='a long passphrase'

# 0. the platform admin (once; it asks for the password twice, here given on stdin)
printf '%s\n%s\n' "$ADMIN_PASSWORD" "$ADMIN_PASSWORD" | $I admin create --email "$ADMIN_EMAIL" --name "Network coordinator"
ADMIN_TOKEN=$(curl -sf -X POST "$API/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$ADMIN_EMAIL\", \"password\": \"$ADMIN_PASSWORD\"}" | jq -r .token)

# 1. a developer registers (with an organisation and a first app)
curl -sf -X POST "$API/registrations" -H 'Content-Type: application/json' -d "{
  \"name\": \"Ada Lovelace\", \"email\": \"$DEV_EMAIL\", \"password\": \"$DEV_PASSWORD\",
  \"organisation\": {\"name\": \"Analytical Engines SL\", \"country\": \"ES\"},
  \"app\": {\"name\": \"ParkNow\", \"entityTypes\": [\"OffStreetParking\"]}}"

# 2. verify the email: the mail's link opens /verify-email?token=…; a program sends the token to the API
$I outbox --to "$DEV_EMAIL"
MAIL_ID=$($I outbox --to "$DEV_EMAIL" --limit 1 | awk 'NR == 1 {print $1}')
VERIFY_TOKEN=$($I outbox show "$MAIL_ID" | grep -o 'token=[^[:space:]]*' | head -1 | cut -d= -f2-)
curl -sf "$API/registrations/verify?token=$VERIFY_TOKEN"

# 3. the platform admin approves the account (on /admin/developers, or at the terminal)
$I user list --status pending
$I user approve "$DEV_EMAIL"

# 4. the developer logs in and creates an API key for the app (the secret is shown once)
DEV_TOKEN=$(curl -sf -X POST "$API/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$DEV_EMAIL\", \"password\": \"$DEV_PASSWORD\"}" | jq -r .token)
APP_ID=$(curl -sf "$API/apps" -H "Authorization: Bearer $DEV_TOKEN" | jq -r '.items[] | select(.name == "ParkNow") | .id')
DEV_KEY=$(curl -sf -X POST "$API/apps/$APP_ID/keys" -H "Authorization: Bearer $DEV_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name": "laptop"}' | jq -r .key)

# 5. London's car parks need the city's approval: without it the key reads none of them
curl -sf "$API/information-systems?accessPolicy=approval" -H "X-API-Key: $DEV_KEY" | jq -r '.items[].id'
test "$(curl -sf "$API/entities?informationSystem=london/parking" -H "X-API-Key: $DEV_KEY" | jq '.items | length')" = 0
REQUEST_ID=$(curl -sf -X POST "$API/access-requests" -H "Authorization: Bearer $DEV_TOKEN" \
  -H 'Content-Type: application/json' \
  -d "{\"app\": $APP_ID, \"informationSystem\": \"london/parking\", \"purpose\": \"Show free car parks near the user.\"}" | jq -r .id)

# 6. the city (here the platform admin: London has no city admin in the demo) approves
$I access list
curl -sf -X POST "$API/access-requests/$REQUEST_ID/approve" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{}'

# 7. the key now reads London's car parks (Authorization: Bearer works too)
PARKS=$(curl -sf "$API/entities?informationSystem=london/parking" -H "X-API-Key: $DEV_KEY" | jq '.items | length')
echo "car parks readable: $PARKS"
test "$PARKS" -gt 0
