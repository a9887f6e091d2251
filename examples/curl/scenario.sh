#!/usr/bin/env bash
# The examples' scenario with curl: an administrator makes a folder and a token scoped to it; that token
# works inside the folder (children, a building, a second token, tokens, verify) and is refused outside it.
# Needs bash, curl >= 7.76 (--fail-with-body) and python3 (to read JSON: jq is not everywhere).
set -euo pipefail

if [ -z "${KEYGATE_URL:-}" ]; then echo "KEYGATE_URL is not set: the keygate server, e.g. http://localhost:8080" >&2; exit 2; fi
if [ -z "${KEYGATE_ADMIN_KEY:-}" ]; then echo "KEYGATE_ADMIN_KEY is not set: an administrator's API key" >&2; exit 2; fi
API="${KEYGATE_URL%/}/api/v1.0"

# api METHOD PATH KEY [JSON]: prints the answer's body; fails (with the body printed) on an HTTP error.
# The key goes in a header read from a file descriptor, so it never shows in the process list.
api() {
  local args=(--silent --show-error --fail-with-body -X "$1")
  if [ $# -ge 4 ]; then args+=(-H 'content-type: application/json' --data-binary "$4"); fi
  curl "${args[@]}" -H @<(printf 'X-API-Key: %s\n' "$3") "$API$2"
}

# Reads a JSON document on stdin and prints a Python expression over it, `d`.
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

# Builds a JSON object from name=value pairs (values are strings), escaping them properly.
body() { python3 -c 'import json, sys; print(json.dumps(dict(a.split("=", 1) for a in sys.argv[1:])))' "$@"; }

# An error the scenario did not expect: say what failed, from the error envelope, and stop.
die() { echo "error: $1: $(json 'd["error"]["code"] + ": " + d["error"]["message"]' <<<"$2" 2>/dev/null || echo "$2")" >&2; exit 1; }

if [ -n "${KEYGATE_ACCOUNT_ID:-}" ]; then
  account_id=$KEYGATE_ACCOUNT_ID
  echo "account: $account_id (given)"
else
  out=$(api POST /resources "$KEYGATE_ADMIN_KEY" "$(body type=account name='Example account')") || die "create the account" "$out"
  account_id=$(json 'd["id"]' <<<"$out")
  echo "account: $account_id \"Example account\" (created)"
fi

out=$(api POST /resources "$KEYGATE_ADMIN_KEY" "$(body type=folder name='Example folder' parentId="$account_id")") \
  || die "create the folder" "$out"
folder_id=$(json 'd["id"]' <<<"$out")
echo "folder: $folder_id \"Example folder\" in $account_id"

# The administrator level holds keys:verify, which POST /verify needs. The key is in this answer only.
out=$(api POST "/resources/$folder_id/tokens" "$KEYGATE_ADMIN_KEY" "$(body name='Example folder token' level=administrator)") \
  || die "create the folder token" "$out"
folder_token_id=$(json 'd["id"]' <<<"$out")
folder_key=$(json 'd["key"]' <<<"$out")
echo "folder token: $folder_token_id $(json 'd["keyPrefix"]' <<<"$out")... administrator on the folder"

# From here on, only the folder token acts.
out=$(api POST /resources "$folder_key" "$(body type=building name='Example building' parentId="$folder_id")") \
  || die "create the building" "$out"
echo "building: $(json 'd["id"]' <<<"$out") \"Example building\" in the folder (as the folder token)"

out=$(api GET "/resources/$folder_id/children" "$folder_key") || die "list the folder's children" "$out"
echo "children: $(json '", ".join(r["id"] + " " + r["type"] + " \"" + r["name"] + "\"" for r in d["items"])' <<<"$out")"

out=$(api POST "/resources/$folder_id/tokens" "$folder_key" "$(body name='Example reader token' level=reader)") \
  || die "create the reader token" "$out"
reader_token_id=$(json 'd["id"]' <<<"$out")
reader_key=$(json 'd["key"]' <<<"$out")
echo "reader token: $reader_token_id $(json 'd["keyPrefix"]' <<<"$out")... reader on the folder (as the folder token)"

out=$(api GET "/resources/$folder_id/tokens" "$folder_key") || die "list the folder's tokens" "$out"
echo "tokens on the folder: $(json '", ".join(t["id"] + " " + t["keyPrefix"] + "..." for t in d["items"])' <<<"$out")"

for permission in resources:read resources:write; do
  out=$(api POST /verify "$folder_key" "$(body key="$reader_key" resourceId="$folder_id" permission="$permission")") \
    || die "verify the reader key" "$out"
  echo "verify: reader key, $permission on the folder -> $(json 'd["code"]' <<<"$out")"
done

# Outside the folder: the token cannot even see the account, so keygate answers as if it did not exist.
# (curl's own "returned error: 404" line is silenced: the envelope says more.)
if out=$(api POST /resources "$folder_key" "$(body type=building name='Stray building' parentId="$account_id")" 2>/dev/null); then
  echo "error: the folder token created a building in the account" >&2
  exit 1
fi
echo "refused: a building in the account -> $(json 'd["error"]["code"] + ": " + d["error"]["message"]' <<<"$out")"
