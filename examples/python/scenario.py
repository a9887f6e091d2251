"""The examples' scenario in Python, standard library only.

An administrator makes a folder and a token scoped to it; that token works inside the folder (a building,
its children, a second token, the folder's tokens, verifying a key) and is refused outside it.
"""
import json
import os
import sys
import urllib.error
import urllib.request


def setting(name, meaning):
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"{name} is not set: {meaning}")
    return value


URL = setting("KEYGATE_URL", "the keygate server, e.g. http://localhost:8080").rstrip("/")
ADMIN_KEY = setting("KEYGATE_ADMIN_KEY", "an administrator's API key")
ACCOUNT_ID = os.environ.get("KEYGATE_ACCOUNT_ID", "")


class Refused(Exception):
    """keygate said no: the status and its error envelope's code and message."""

    def __init__(self, status, code, message):
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


def api(method, path, key, body=None):
    """Calls the API with a key; answers the parsed body, or raises Refused with the error envelope."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{URL}/api/v1.0{path}", data=data, method=method)
    req.add_header("X-API-Key", key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as res:
            return json.load(res)
    except urllib.error.HTTPError as err:
        error = json.load(err)["error"]
        raise Refused(err.code, error["code"], error["message"]) from None


def main():
    if ACCOUNT_ID:
        account_id = ACCOUNT_ID
        print(f"account: {account_id} (given)")
    else:
        account_id = api("POST", "/resources", ADMIN_KEY, {"type": "account", "name": "Example account"})["id"]
        print(f'account: {account_id} "Example account" (created)')

    folder = api("POST", "/resources", ADMIN_KEY, {"type": "folder", "name": "Example folder", "parentId": account_id})
    print(f'folder: {folder["id"]} "Example folder" in {account_id}')

    # The administrator level holds keys:verify, which POST /verify needs. The key is in this answer only.
    token = api("POST", f"/resources/{folder['id']}/tokens", ADMIN_KEY,
                {"name": "Example folder token", "level": "administrator"})
    folder_key = token.pop("key")
    print(f"folder token: {token['id']} {token['keyPrefix']}... administrator on the folder")

    # From here on, only the folder token acts.
    building = api("POST", "/resources", folder_key,
                   {"type": "building", "name": "Example building", "parentId": folder["id"]})
    print(f'building: {building["id"]} "Example building" in the folder (as the folder token)')

    children = api("GET", f"/resources/{folder['id']}/children", folder_key)["items"]
    print("children: " + ", ".join(f'{r["id"]} {r["type"]} "{r["name"]}"' for r in children))

    reader = api("POST", f"/resources/{folder['id']}/tokens", folder_key,
                 {"name": "Example reader token", "level": "reader"})
    reader_key = reader.pop("key")
    print(f"reader token: {reader['id']} {reader['keyPrefix']}... reader on the folder (as the folder token)")

    tokens = api("GET", f"/resources/{folder['id']}/tokens", folder_key)["items"]
    print("tokens on the folder: " + ", ".join(f"{t['id']} {t['keyPrefix']}..." for t in tokens))

    for permission in ("resources:read", "resources:write"):
        answer = api("POST", "/verify", folder_key,
                     {"key": reader_key, "resourceId": folder["id"], "permission": permission})
        print(f"verify: reader key, {permission} on the folder -> {answer['code']}")

    # Outside the folder: the token cannot even see the account, so keygate answers as if it did not exist.
    try:
        api("POST", "/resources", folder_key, {"type": "building", "name": "Stray building", "parentId": account_id})
    except Refused as refusal:
        print(f"refused: a building in the account -> {refusal.code}: {refusal.message}")
    else:
        sys.exit("error: the folder token created a building in the account")


if __name__ == "__main__":
    try:
        main()
    except Refused as refusal:
        sys.exit(f"error: keygate refused a step: {refusal.status} {refusal}")
    except urllib.error.URLError as err:
        sys.exit(f"error: cannot reach {URL}: {err.reason}")
