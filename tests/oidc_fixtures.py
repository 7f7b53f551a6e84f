"""A real OpenID provider for the SSO tests, and a browser-like walk through its pages.

The provider is tests/oidc_provider/provider.js: the OpenID Certified npm package `oidc-provider`
(pinned by its package-lock.json) run by Debian's Node. `npm ci` installs it on first use. Without
node or npm the SSO tests are skipped, saying so, except in CI (CI set), where that fails the run.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
#: The portal's address as the provider knows it (the test client answers on any host).
PORTAL_BASE_URL = "https://portal.test"
CLIENT_ID = "portal-test"
#: The provider re-signs this client's ID tokens for another audience (see provider.js).
AUDIENCE_SWAP_CLIENT_ID = "portal-aud-test"


@dataclass
class Provider:
    """The running provider: its issuer URL and its log."""

    issuer: str
    log: Path

    def discovery(self) -> dict:
        """The provider's discovery document."""
        return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5).json()


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI never skips the SSO tests", pytrace=False)
    pytest.skip(f"OpenID Connect tests SKIPPED: {reason}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _install(npm: str) -> None:
    """npm ci from the lockfile, once (node_modules is not in git)."""
    if (PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(PROVIDER_DIR)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        _unavailable(f"npm ci in {PROVIDER_DIR} failed: {result.stderr.strip()[-500:]}")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory) -> Provider:
    """The provider on a free port for the whole session; stopped at the end."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("node and npm are not installed (Debian packages: nodejs npm)")
    _install(npm)
    # Older Authlib releases refuse plain-http endpoints without this (tests only; 1.9 exempts loopback).
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    port = _free_port()
    log = tmp_path_factory.mktemp("oidc-provider") / "provider.log"
    with log.open("w") as output:
        process = subprocess.Popen([node, "provider.js", str(port)], cwd=PROVIDER_DIR, stdout=output,
                                   stderr=subprocess.STDOUT)
    provider = Provider(f"http://127.0.0.1:{port}", log)
    try:
        _wait_for_discovery(provider, process)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_for_discovery(provider: Provider, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the OpenID provider exited: {provider.log.read_text()[-2000:]}", pytrace=False)
        try:
            if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)  # waiting for a process to listen, not for the clock
    pytest.fail(f"the OpenID provider did not answer: {provider.log.read_text()[-2000:]}", pytrace=False)


def oidc_settings(provider: Provider, client_id: str = CLIENT_ID, **more) -> dict:
    """App overrides that point the portal at the provider."""
    return {"PORTAL_OIDC_ISSUER": provider.issuer, "PORTAL_OIDC_CLIENT_ID": client_id,
            "PORTAL_OIDC_CLIENT_SECRET": f"{client_id}-secret", "PORTAL_BASE_URL": PORTAL_BASE_URL, **more}


class ProviderBrowser:
    """A person's browser at the provider: follows its redirects and fills in its sign-in page."""

    def __init__(self):
        self.http = requests.Session()
        #: The provider pages the last walk went through (login, consent), in order.
        self.pages: list[str] = []

    def sign_in(self, authorize_url: str, login: str, password: str = "any password", *,
                cancel: bool = False) -> str:
        """Walk from the authorization URL to the portal's callback URL, signing in as `login` on the way.

        With cancel=True the person presses the sign-in page's Cancel link instead.
        """
        response = self.http.get(authorize_url, allow_redirects=False, timeout=10)
        for _ in range(12):
            location = response.headers.get("Location")
            if location:
                target = urljoin(response.url, location)
                if target.startswith(PORTAL_BASE_URL) or not target.startswith("http://127.0.0.1"):
                    return target
                response = self.http.get(target, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, (response.status_code, response.text[:500])
            action = re.search(r'<form[^>]*action="([^"]+)"', response.text).group(1)
            found = re.search(r'name="prompt" value="(\w+)"', response.text)
            if found is None:  # a page whose script submits its form at once (e.g. ending another account's session)
                fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', response.text))
                response = self.http.post(urljoin(response.url, action), data=fields, allow_redirects=False,
                                          timeout=10)
                continue
            prompt = found.group(1)
            self.pages.append(prompt)
            if cancel:
                abort = re.search(r'href="([^"]*/abort)"', response.text).group(1)
                response = self.http.get(urljoin(response.url, abort), allow_redirects=False, timeout=10)
                continue
            data = {"prompt": prompt, **({"login": login, "password": password} if prompt == "login" else {})}
            response = self.http.post(urljoin(response.url, action), data=data, allow_redirects=False, timeout=10)
        raise AssertionError("the provider never sent the browser back to the portal")

    def end_session(self, end_session_url: str) -> str:
        """Follow the portal's sign-out to the provider, confirm "Yes, sign me out"; return where it sends us."""
        page = self.http.get(end_session_url, allow_redirects=False, timeout=10)
        assert page.status_code == 200, (page.status_code, page.text[:300])
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        done = self.http.post(urljoin(page.url, action), data={**fields, "logout": "yes"}, allow_redirects=False,
                              timeout=10)
        return urljoin(done.url, done.headers["Location"])


def local_path(url: str) -> str:
    """The path and query of a portal URL, for the Flask test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_of(url: str) -> dict[str, str]:
    """A URL's query parameters (single values)."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def start_company_sign_in(client, next_path: str | None = None) -> str:
    """Press 「社内アカウントでログイン」: the provider URL the portal sends the browser to."""
    response = client.get("/auth/oidc/login" + (f"?next={next_path}" if next_path else ""))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def sso_sign_in(client, at_provider: ProviderBrowser, login: str, next_path: str | None = None):
    """The whole company sign-in: portal → provider's page → the portal's callback; returns its response."""
    callback = at_provider.sign_in(start_company_sign_in(client, next_path), login)
    return client.get(local_path(callback))


@pytest.fixture
def at_provider() -> ProviderBrowser:
    """A fresh browser at the provider (no provider session yet)."""
    browser = ProviderBrowser()
    yield browser
    browser.http.close()
