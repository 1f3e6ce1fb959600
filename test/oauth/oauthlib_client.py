"""requests-oauthlib against Rotor, as its documentation shows it: the
Resource Owner Password Credentials grant (LegacyApplicationClient) and
automatic refresh. Driven by TestRequestsOAuthlib (test/oauth).

    python oauthlib_client.py <issuer> <username> <password>

Prints one JSON line with what happened; exits non-zero on any failure.
"""
import json
import sys
import time

import requests
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

issuer, username, password = sys.argv[1:4]
meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
token_url = meta["token_endpoint"]
client_id = "python-client"
saved = []

session = OAuth2Session(
    client=LegacyApplicationClient(client_id=client_id),
    auto_refresh_url=token_url,
    auto_refresh_kwargs={"client_id": client_id},
    token_updater=saved.append,
)
first = session.fetch_token(token_url=token_url, username=username, password=password, client_id=client_id)
me = session.get(issuer + "/me", timeout=10)
assert me.status_code == 200, (me.status_code, me.text)

# The access token's lifetime is over: the next call refreshes first.
session.token = dict(first, expires_at=time.time() - 60, expires_in=-60)
me_again = session.get(issuer + "/me", timeout=10)
assert me_again.status_code == 200, (me_again.status_code, me_again.text)
assert saved, "token_updater was not called: no automatic refresh"
second = saved[-1]
assert second["refresh_token"] != first["refresh_token"], "the refresh token did not rotate"
assert second["access_token"] != first["access_token"], "no new access token"

print(json.dumps({
    "user": me_again.json()["username"],
    "refreshed": len(saved),
    "first_refresh_token": first["refresh_token"],
    "second_refresh_token": second["refresh_token"],
}))
