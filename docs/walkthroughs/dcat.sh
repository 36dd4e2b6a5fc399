#!/usr/bin/env bash
# The catalogue as DCAT-AP 3.0.1: what an open-data portal (CKAN with ckanext-dcat, data.europa.eu) harvests.
set -euo pipefail
API=${ICITY_API:-http://127.0.0.1:8000/api/v1}
BASE=${API%/api/v1}

# the network's catalogue in Turtle: each IS on trial or open is a dcat:Dataset
curl -sf "$BASE/catalog.ttl" -o catalog.ttl
grep -c 'a dcat:Dataset' catalog.ttl
# one city's, as JSON-LD (its @context is in the document: nothing to fetch) or by Accept on /catalog
curl -sf "$BASE/cities/barcelona/catalog.jsonld" -o barcelona.jsonld
jq -c '[."@graph"[] | select(."@type" == "dcat:Dataset") | ."dct:identifier"] | sort' barcelona.jsonld
curl -sf "$BASE/cities/barcelona/catalog" -H 'Accept: application/rdf+xml' -o barcelona.rdf
grep -c '<dcat:Dataset\|rdf:resource="http://www.w3.org/ns/dcat#Dataset"' barcelona.rdf
test "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/catalog" -H 'Accept: text/html')" = 406

# a restricted IS (Barcelona's noise network: any approved developer's key) is found, with its
# access rights, but with no download URL: its data need a key
curl -sf "$BASE/cities/barcelona/catalog.ttl" -o barcelona.ttl
grep -A3 'information-systems/barcelona/noise#dataset> a dcat:Dataset' barcelona.ttl | head -4
grep -q 'access-right/RESTRICTED' barcelona.ttl
if grep -q 'dcat:downloadURL <[^>]*barcelona/noise/download' barcelona.ttl; then exit 1; fi

# Hydra paging: follow the Link header (or hydra:next in the graph) to the last page
URL="$BASE/catalog.ttl?page_size=20"; PAGES=0
while [ -n "$URL" ]; do
  PAGES=$((PAGES + 1))
  URL=$(curl -sf -D - -o /dev/null "$URL" | tr -d '\r' | sed -n 's/^link: .*<\([^>]*\)>; rel="next".*/\1/Ip')
done
echo "$PAGES pages"; test "$PAGES" -gt 1
# a harvester's next run asks only for what changed since its last one
curl -sfG "$BASE/catalog.ttl" -d modified_since=2100-01-01T00:00:00Z | grep 'hydra:totalItems'
