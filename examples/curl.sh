#!/usr/bin/env bash
# Who am I, my tokens, and a new token on a resource — with the key in the X-API-Key header.
set -euo pipefail
: "${KEYGATE_KEY:?set KEYGATE_KEY to an API key}"
URL=${KEYGATE_URL:-http://localhost:8080}

curl -fsS -H "X-API-Key: $KEYGATE_KEY" "$URL/api/v1.0/me"; echo
curl -fsS -H "X-API-Key: $KEYGATE_KEY" "$URL/api/v1.0/tokens?state=active"; echo

if [ -n "${RESOURCE_ID:-}" ]; then
  # The response holds the new key once; keep it somewhere safe (here: a file only you can read).
  umask 077
  curl -fsS -H "X-API-Key: $KEYGATE_KEY" -H 'content-type: application/json' \
       -d '{"name":"nightly export","level":"reader","expiresIn":"30d"}' \
       "$URL/api/v1.0/resources/$RESOURCE_ID/tokens" > new-token.json
  echo "new token written to new-token.json"
fi
