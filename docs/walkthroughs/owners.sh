#!/usr/bin/env bash
# An infrastructure owner opens an IS located in a city; the city is told and may object (demo network).
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}
I=${ICITY_CLI:-.venv/bin/icity}
login() { curl -sf -X POST "$API/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$1\", \"password\": \"$2\"}" | jq -r .token; }
PASSWORD='a long owner passphrase'

# 0. a platform admin and Genova's city admin (once: a second run says they exist)
printf '%s\n' "$PASSWORD" | $I user create --role admin --email coordinator@network.example --name Coordinator || true
printf '%s\n' "$PASSWORD" | $I user create --role city_admin --city genova --email mobility@genova.example --name "Genova mobility" || true
ADMIN=$(login coordinator@network.example "$PASSWORD")
CITY=$(login mobility@genova.example "$PASSWORD")

# 1. the platform admin records the owner as an applicant, then a member on its letter of commitment
curl -s -o /dev/null -X POST "$API/owners" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"id": "porto-energia", "name": "Porto Energia", "kind": "port_authority", "country": "IT"}'
curl -s -o /dev/null -X POST "$API/owners/porto-energia/membership" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' \
  -d '{"membership": "member", "evidenceKind": "letter_of_commitment", "evidence": "Letter signed by the port president"}'
curl -sf "$API/owners/porto-energia" | jq -c '{name, membership, history: [.history[] | {to, evidenceKind}]}'

# 2. its admin (a new role, scoped to the owner) registers its charge points, located in Genova
printf '%s\n' "$PASSWORD" | $I user create --role owner_admin --owner porto-energia \
  --email it@porto-energia.example --name "Porto Energia IT" || true
OWNER=$(login it@porto-energia.example "$PASSWORD")
curl -s -o /dev/null -X POST "$API/owners/porto-energia/information-systems" -H "Authorization: Bearer $OWNER" \
  -H 'Content-Type: application/json' -d '{"city": "genova", "slug": "port-charging", "name": "Port EV charging",
  "category": "energy", "entityTypes": ["EVChargingStation"], "accessPolicy": "registered"}'

# 3. it asks to open it: the IS stays closed while Genova may object (ICITY_OWNER_OBJECTION_DAYS, 14 by default)
curl -s -X PUT "$API/information-systems/genova/port-charging/status" -H "Authorization: Bearer $OWNER" \
  -H 'Content-Type: application/json' -d '{"status": "open"}' | jq -c '{status, publisher, openingNotice}'

# 4. Genova's admins got a message, and see the notice
curl -sf "$API/messages" -H "Authorization: Bearer $CITY" | jq -r '.items[].subject' | grep 'Porto Energia opens'
NOTICE=$(curl -sf "$API/opening-notices" -H "Authorization: Bearer $CITY" \
  | jq -r '[.[] | select(.informationSystem == "genova/port-charging")][0].id')

# 5. the city objects, with its reason: the owner cannot open it until the city lifts the objection
curl -s -X POST "$API/opening-notices/$NOTICE/object" -H "Authorization: Bearer $CITY" \
  -H 'Content-Type: application/json' -d '{"reason": "The quay is closed to cars until spring."}' | jq -c '{status, objection}'
curl -s -X PUT "$API/information-systems/genova/port-charging/status" -H "Authorization: Bearer $OWNER" \
  -H 'Content-Type: application/json' -d '{"status": "open"}' | jq -r .detail
curl -sf -X POST "$API/opening-notices/$NOTICE/lift" -H "Authorization: Bearer $CITY" | jq -c '{status}'

# 6. the catalogue names the publisher, and filters by it (an owner's id, or a city's)
curl -sf "$API/information-systems?publisher=genova" | jq -c '[.items[] | {id, publisher: .publisher.name}] | .[:3]'
curl -sf "$API/owners" | jq -c '[.[] | {id, kind, cities}]'
