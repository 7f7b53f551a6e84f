"""Every route × anonymous and each role: deny by default, allow only what the table says."""
from __future__ import annotations

import pytest

from tests.access_table import ANYONE, ROLES, ROUTES, SIGNED_IN, TOKEN
from tests.conftest import csrf_token_from

PEOPLE = ("anonymous", *ROLES)


def test_every_registered_route_has_an_entry(app):
    registered = {rule.endpoint for rule in app.url_map.iter_rules()}
    listed = {route.endpoint for route in ROUTES}
    assert registered - listed == set(), "routes missing from tests/access_table.py"
    assert listed - registered == set(), "table lists routes the app does not have"


def test_every_view_declares_an_access_rule(app):
    undeclared = [endpoint for endpoint, view in app.view_functions.items()
                  if endpoint != "static" and getattr(view, "_access", None) is None]
    assert undeclared == []


def _may(route, who: str) -> bool:
    if route.allowed in (ANYONE, TOKEN):
        return True
    if who == "anonymous":
        return False
    if route.allowed == SIGNED_IN:
        return True
    return who in route.allowed


@pytest.mark.parametrize("who", PEOPLE)
def test_route_matrix(app, client, make_person, login, who):
    if who != "anonymous":
        login(make_person(f"R-{who}", roles=(who,)))
    token = csrf_token_from(client, "/login" if who == "anonymous" else "/")
    failures = []
    for route in ROUTES:
        if route.allowed == TOKEN:
            continue  # machine endpoints have their own token tests
        if route.method == "GET":
            response = client.get(route.url)
        else:
            response = client.post(route.url, data={"csrf_token": token})
        response.close()
        to_login = response.status_code == 302 and "/login" in response.headers.get("Location", "")
        # Signing out sends a signed-in person to /login too: that is success, not denial.
        denied = response.status_code in (401, 403) or (
            to_login and (who == "anonymous" or route.endpoint != "auth.logout")
        )
        if _may(route, who) == denied:
            failures.append(f"{route.method} {route.url}: {response.status_code} for {who}")
        if who != "anonymous" and route.endpoint == "auth.logout":
            login(make_person(f"R2-{who}-{len(failures)}", roles=(who,)))
            token = csrf_token_from(client, "/")
    assert failures == []
