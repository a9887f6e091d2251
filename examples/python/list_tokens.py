"""List the tokens an API key may see, with the Python standard library only."""
import json
import os
import urllib.error
import urllib.request

URL = os.environ.get("KEYGATE_URL", "http://localhost:8080")
KEY = os.environ["KEYGATE_KEY"]


def get(path):
    req = urllib.request.Request(URL + path, headers={"X-API-Key": KEY})
    try:
        with urllib.request.urlopen(req) as res:
            return json.load(res)
    except urllib.error.HTTPError as err:
        body = json.load(err)
        raise SystemExit(f"{err.code} {body['error']['code']}: {body['error']['message']}")


cursor = None
while True:
    page = get("/api/v1.0/tokens?limit=100" + (f"&cursor={cursor}" if cursor else ""))
    for t in page["items"]:
        print(f"{t['id']}\t{t['keyPrefix']}…\t{t['state']}\t{t['expiresAt'] or 'never'}\t{t['name']}")
    cursor = page["nextCursor"]
    if not cursor:
        break
