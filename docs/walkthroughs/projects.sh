#!/usr/bin/env bash
# Public-interest projects on the demo network: which member city runs which app, and what each still has to open,
# computed live (`make run` in another terminal).
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}
I=${ICITY_CLI:-.venv/bin/icity}
login() {
  curl -sf -X POST "$API/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\": \"$1\", \"password\": \"$2\"}" | jq -r .token
}
PROJECT="$API/projects/clean-air-for-schools"

# 1. anyone reads the projects, then one: where each app runs, and each member city's work list
curl -sf "$API/projects" | jq -c '.items[] | {slug, memberCount, invitedCount, appCount}'
curl -sf "$PROJECT" | jq -c '.apps[] | {name, runsIn}'
curl -sf "$PROJECT" | jq -c '.members[] | {city, workList: [.workList[] | {entityType, status}]}'

# 2. Lamía's city admin opens its air-quality network (a draft in the demo): Lamía runs BreatheEasy at once
LAMIA_EMAIL=admin@lamia.example
LAMIA_PASSWORD='a Lamia admin passphrase'
$I user list | grep -q "$LAMIA_EMAIL" || printf '%s\n%s\n' "$LAMIA_PASSWORD" "$LAMIA_PASSWORD" | \
  $I user create --role city_admin --city lamia --email "$LAMIA_EMAIL" --name "Lamía city admin"
LAMIA=$(login "$LAMIA_EMAIL" "$LAMIA_PASSWORD")
if [ "$(curl -sf "$API/information-systems/lamia/air-quality" -H "Authorization: Bearer $LAMIA" | jq -r .status)" = draft ]; then
  curl -sf -X PUT "$API/information-systems/lamia/air-quality/status" -H "Authorization: Bearer $LAMIA" \
    -H 'Content-Type: application/json' -d '{"status": "trial"}' | jq -c '{id, status}'
fi
curl -sf "$PROJECT" | jq -c '.members[] | select(.city == "lamia") | {canRun, stillToOpen: [.workList[].entityType]}'
test "$(curl -sf "$PROJECT" | jq '.apps[] | select(.name == "BreatheEasy") | .runsIn | index("lamia") != null')" = true

# 3. as a member city's admin, Lamía's manages the project: a prospect can only be invited (409, a problem saying why)
curl -s -X POST "$PROJECT/members" -H "Authorization: Bearer $LAMIA" -H 'Content-Type: application/json' \
  -d '{"city": "oulu"}' | jq -r .detail
if ! curl -sf "$PROJECT" | jq -e '.invited[] | select(.city == "oulu")' >/dev/null; then
  curl -sf -X POST "$PROJECT/members" -H "Authorization: Bearer $LAMIA" -H 'Content-Type: application/json' \
    -d '{"city": "oulu", "role": "invited"}' | jq -c .
fi

# 4. a new project, started by Lamía's admin, and a developer attaching a certified app of their organisation
if ! curl -sf "$API/projects/ev-charging-corridor" >/dev/null; then
  curl -sf -X POST "$API/projects" -H "Authorization: Bearer $LAMIA" -H 'Content-Type: application/json' \
    -d '{"slug": "ev-charging-corridor", "name": "EV charging corridor", "entityTypes": ["EVChargingStation"],
         "description": "Charge points along the routes between member cities.", "city": "lamia"}' | jq -c '{slug, members: [.members[].city]}'
  for city in barcelona genova london; do
    curl -sf -X POST "$API/projects/ev-charging-corridor/members" -H "Authorization: Bearer $LAMIA" \
      -H 'Content-Type: application/json' -d "{\"city\": \"$city\"}" | jq -c '{city, role, joinedOn}'
  done
fi
DEV_EMAIL=giulia@arialabs.example  # Aria Labs' developer in the demo, whose ChargeNear is certified
DEV_PASSWORD='an Aria Labs passphrase'
printf '%s\n' "$DEV_PASSWORD" | $I user set-password "$DEV_EMAIL"
DEV=$(login "$DEV_EMAIL" "$DEV_PASSWORD")
CHARGE_NEAR=$(curl -sf "$API/apps" -H "Authorization: Bearer $DEV" | jq -r '.items[] | select(.name == "ChargeNear") | .id')
if ! curl -sf "$API/projects/ev-charging-corridor" | jq -e ".apps[] | select(.id == $CHARGE_NEAR)" >/dev/null; then
  curl -sf -X POST "$API/projects/ev-charging-corridor/apps" -H "Authorization: Bearer $DEV" \
    -H 'Content-Type: application/json' -d "{\"app\": $CHARGE_NEAR}" | jq -c .
fi
# ChargeNear runs in Barcelona, London and Genova (there through Voltia, an owner; Genova's own is a draft); Lamía has none
curl -sf "$API/projects/ev-charging-corridor" | jq -c '.apps[0].cities[] | {city, canRun, types: [.entityTypes[] | {entityType, status}]}'
test "$(curl -sf "$API/projects/ev-charging-corridor" | jq -c '.apps[0].runsIn | sort')" = '["barcelona","genova","london"]'
# the page for people: /projects/ev-charging-corridor
