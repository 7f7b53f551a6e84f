"""Company SSO over OpenID Connect: the provider's client, the ID-token checks and the claim rules.

Authlib's Flask client does discovery (`<issuer>/.well-known/openid-configuration`), builds the
authorization URL (PKCE S256, state, nonce) and exchanges the code. The ID token is then checked
here, against the portal's clock: signature (the provider's JWKS), iss, aud, exp, iat, nonce and
at_hash. A state, nonce or jti seen twice is a replay (portal/auth/models.py). The decisions on
claims are pure functions at the end of this module.
"""
from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from authlib.oidc.core import CodeIDToken
from flask import Flask, current_app, session, url_for
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from requests import RequestException
from sqlalchemy import delete

from portal.auth.models import OidcUsedValue
from portal.core import timeutil
from portal.core.refusals import Refusal
from portal.extensions import db

#: Session keys: the flow under way, and after sign-in the ID token (for RP-initiated logout) and subject.
PENDING_KEY = "oidc_pending"
ID_TOKEN_KEY = "oidc_id_token"
SUBJECT_KEY = "oidc_sub"
#: An ID token larger than this is not kept in the cookie session (logout then names the client instead).
MAX_KEPT_ID_TOKEN = 2000
#: Clock skew tolerated on exp, iat and nbf, in seconds.
ID_TOKEN_LEEWAY = 30
#: Only asymmetric signatures are accepted (never "none", never the shared client secret).
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
#: How long used values are remembered: far beyond any code's, state's or ID token's life.
REMEMBER_USED = timedelta(days=2)
_CLIENT_KEY = "portal_oidc_client"
_client_lock = threading.Lock()


class SsoRefused(Refusal):
    """The provider's answer cannot sign anyone in; `code` is the audit reason, `details` extra facts."""


@dataclass(frozen=True)
class OidcSettings:
    """The PORTAL_OIDC_* settings."""

    issuer: str
    client_id: str
    client_secret: str
    employee_claim: str
    scopes: str


@dataclass(frozen=True)
class VerifiedIdentity:
    """What a checked ID token says about the person who signed in at the provider."""

    subject: str
    #: The employee-number claim, cleaned; "" when the token has none.
    employee_no: str
    auth_time: int | None
    #: sha256 of the token's jti (or sid, or the whole token when it has neither).
    token_hash: str
    id_token: str
    #: The token's own id, "" when the provider sets none.
    jti: str = ""


def settings_from(config) -> OidcSettings | None:
    """The OIDC settings, None when SSO is off (no issuer); ValueError when they are incomplete."""
    issuer = (config.get("PORTAL_OIDC_ISSUER") or "").strip()
    if not issuer:
        return None
    settings = OidcSettings(issuer, (config.get("PORTAL_OIDC_CLIENT_ID") or "").strip(),
                            config.get("PORTAL_OIDC_CLIENT_SECRET") or "",
                            (config.get("PORTAL_OIDC_EMPLOYEE_CLAIM") or "employee_no").strip(),
                            " ".join((config.get("PORTAL_OIDC_SCOPES") or "openid").split()))
    if not settings.client_id or not settings.client_secret:
        raise ValueError("PORTAL_OIDC_ISSUER is set: PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET "
                         "are needed too")
    if "openid" not in settings.scopes.split():
        raise ValueError("PORTAL_OIDC_SCOPES must include openid")
    return settings


def is_enabled() -> bool:
    """True when company SSO is configured."""
    return bool((current_app.config.get("PORTAL_OIDC_ISSUER") or "").strip())


def _settings() -> OidcSettings:
    settings = settings_from(current_app.config)
    if settings is None:
        raise SsoRefused("not_configured")
    return settings


def provider_client():
    """This app's Authlib client of the provider (made once per app; discovery is cached on it)."""
    app: Flask = current_app._get_current_object()
    client = app.extensions.get(_CLIENT_KEY)
    if client is None:
        with _client_lock:
            client = app.extensions.get(_CLIENT_KEY)
            if client is None:
                settings = _settings()
                client = OAuth(app).register(
                    "company", client_id=settings.client_id, client_secret=settings.client_secret,
                    server_metadata_url=settings.issuer.rstrip("/") + "/.well-known/openid-configuration",
                    client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256", "default_timeout": 10},
                )
                app.extensions[_CLIENT_KEY] = client
    return client


def provider_metadata() -> dict:
    """The discovery document; SsoRefused("unavailable") when it cannot be read or names another issuer."""
    try:
        metadata = provider_client().load_server_metadata()
    except (RequestException, ValueError) as error:
        raise SsoRefused("unavailable", error=type(error).__name__) from error
    if metadata.get("issuer") != _settings().issuer:
        raise SsoRefused("unavailable", error="issuer_mismatch")
    return metadata


def provider_origins() -> list[str]:
    """Origins the browser is sent to (issuer, authorization and logout endpoints), without any network call."""
    issuer = (current_app.config.get("PORTAL_OIDC_ISSUER") or "").strip()
    if not issuer:
        return []
    urls = [issuer]
    client = current_app.extensions.get(_CLIENT_KEY)
    if client is not None:
        urls += [client.server_metadata.get(name) or "" for name in ("authorization_endpoint", "end_session_endpoint")]
    origins = []
    for url in urls:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""
        if origin and origin not in origins:
            origins.append(origin)
    return origins


def callback_url() -> str:
    """The redirect URI registered at the provider: PORTAL_BASE_URL + /auth/oidc/callback."""
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + url_for("auth.oidc_callback")


def authorization_url(purpose: str, *, locale: str, next_url: str | None = None, handler: str | None = None,
                      intent: dict | None = None, return_to: str | None = None) -> str:
    """Start a flow: remember it in the session and return the provider's URL to send the browser to.

    purpose "login" signs in; purpose "reauth" asks the provider to authenticate the person again
    right now (prompt=login, max_age=0), then hands the result to the named handler with `intent`
    (`return_to` is the page a refusal links back to).
    """
    provider_metadata()
    extra = {"prompt": "login", "max_age": 0} if purpose == "reauth" else {}
    try:
        created = provider_client().create_authorization_url(redirect_uri=callback_url(), ui_locales=locale, **extra)
    except (RequestException, AuthlibBaseError, RuntimeError) as error:
        raise SsoRefused("unavailable", error=type(error).__name__) from error
    session[PENDING_KEY] = {
        "state": created["state"], "nonce": created["nonce"], "verifier": created["code_verifier"],
        "purpose": purpose, "next": next_url, "handler": handler, "intent": intent, "return_to": return_to,
        "started_at": timeutil.utcnow().timestamp(),
    }
    return created["url"]


def finish_flow(args, pending: dict | None) -> VerifiedIdentity:
    """The provider's answer (the callback's query) checked end to end; SsoRefused says why not."""
    settings = _settings()
    now = timeutil.utcnow()
    state = args.get("state") or ""
    if not state:
        raise SsoRefused("invalid_state")
    if not _first_use("state", state, now):
        raise SsoRefused("replayed", value="state")
    if not pending or not hmac.compare_digest(str(pending.get("state", "")), state):
        raise SsoRefused("invalid_state")
    if args.get("error"):
        raise SsoRefused("provider_error", error=str(args["error"])[:80],
                         description=str(args.get("error_description") or "")[:200])
    if args.get("iss") and args["iss"] != settings.issuer:  # RFC 9207: an answer from another provider
        raise SsoRefused("wrong_issuer")
    token = _exchange_code(args.get("code") or "", pending)
    identity = _verify(token, settings, pending, int(now.timestamp()))
    if not _first_use("nonce", pending["nonce"], now):
        raise SsoRefused("replayed", value="nonce")
    if identity.jti and not _first_use("jti", identity.jti, now):
        raise SsoRefused("replayed", value="jti")
    return identity


def _exchange_code(code: str, pending: dict) -> dict:
    try:
        token = provider_client().fetch_access_token(redirect_uri=callback_url(), code=code,
                                                     code_verifier=pending["verifier"])
    except AuthlibBaseError as error:
        raise SsoRefused("provider_error", error=str(getattr(error, "error", "") or "")[:80],
                         description=str(getattr(error, "description", "") or "")[:200]) from error
    except (RequestException, ValueError) as error:
        raise SsoRefused("unavailable", error=type(error).__name__) from error
    if not token.get("id_token"):
        raise SsoRefused("invalid_token", error="no_id_token")
    return token


def _decode(id_token: str, metadata: dict):
    allowed = [alg for alg in metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
               if alg in SIGNING_ALGORITHMS]
    registry = JWSRegistry(algorithms=allowed, strict_check_header=False)
    client = provider_client()
    try:
        return jwt.decode(id_token, key=KeySet.import_key_set(client.fetch_jwk_set()), registry=registry)
    except InvalidKeyIdError:  # the provider rotated its keys since they were fetched
        return jwt.decode(id_token, key=KeySet.import_key_set(client.fetch_jwk_set(force=True)), registry=registry)


def _verify(token: dict, settings: OidcSettings, pending: dict, now: int) -> VerifiedIdentity:
    id_token = token["id_token"]
    metadata = provider_metadata()
    try:
        decoded = _decode(id_token, metadata)
        claims = CodeIDToken(decoded.claims, decoded.header, {
            "iss": {"essential": True, "value": settings.issuer},
            "aud": {"essential": True, "value": settings.client_id},
            "sub": {"essential": True},
        }, {"nonce": pending["nonce"], "client_id": settings.client_id, "access_token": token.get("access_token")})
        claims.validate(now=now, leeway=ID_TOKEN_LEEWAY)
    except (JoseError, ValueError) as error:
        raise SsoRefused(refusal_for_token_error(error), error=type(error).__name__,
                         claim=getattr(error, "claim", "")) from error
    except RequestException as error:
        raise SsoRefused("unavailable", error=type(error).__name__) from error
    auth_time = claims.get("auth_time")
    return VerifiedIdentity(
        subject=str(claims["sub"]), employee_no=employee_number_from(claims, settings.employee_claim),
        auth_time=int(auth_time) if isinstance(auth_time, (int, float)) else None,
        token_hash=token_reference_hash(claims, id_token), id_token=id_token,
        jti=claims["jti"] if isinstance(claims.get("jti"), str) else "")


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _insert(table):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _first_use(kind: str, value: str, now) -> bool:
    """Record that a value came back; False when it had come back before (a replay)."""
    if kind == "state":
        db.session.execute(delete(OidcUsedValue).where(OidcUsedValue.forget_after < now))
    table = OidcUsedValue.__table__
    inserted = db.session.execute(_insert(table).values(
        digest=_digest(kind, value), kind=kind, used_at=now, forget_after=now + REMEMBER_USED,
    ).on_conflict_do_nothing().returning(table.c.digest)).scalar()
    return inserted is not None


def provider_logout_url(id_token: str | None, after_logout: str) -> str | None:
    """The provider's end-session URL (RP-initiated logout), or None when it has none or cannot be reached."""
    if not is_enabled():
        return None
    try:
        metadata = provider_metadata()
        if not metadata.get("end_session_endpoint"):
            return None
        extra = {} if id_token else {"client_id": _settings().client_id}
        return provider_client().create_logout_url(post_logout_redirect_uri=after_logout, id_token_hint=id_token,
                                                   **extra)["url"]
    except SsoRefused:
        current_app.logger.warning("the provider's discovery document could not be read: signed out here only")
        return None


# --- pure decisions -------------------------------------------------------------------------------


def refusal_for_token_error(error: Exception) -> str:
    """The audit reason for an ID token that failed its checks."""
    if isinstance(error, ExpiredTokenError):
        return "expired"
    claim = getattr(error, "claim", "") if isinstance(error, ClaimError) else ""
    if claim in ("aud", "azp"):
        return "wrong_audience"
    if claim == "iss":
        return "wrong_issuer"
    if claim == "nonce":
        return "replayed"
    return "invalid_token"


def employee_number_from(claims, claim_name: str) -> str:
    """The employee number a token carries in `claim_name`, trimmed; "" when it is missing or empty."""
    value = claims.get(claim_name)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return str(value).strip()[:40]


def token_reference_hash(claims, id_token: str) -> str:
    """sha256 naming this authentication: of the jti, else the session id (sid), else the whole token."""
    for name in ("jti", "sid"):
        if isinstance(claims.get(name), str) and claims[name]:
            return hashlib.sha256(f"{name}:{claims[name]}".encode()).hexdigest()
    return hashlib.sha256(f"id_token:{id_token}".encode()).hexdigest()


def sign_in_refusal(employee_no: str, *, known: bool, active: bool) -> str | None:
    """Why a verified identity may not sign in, or None: only active people known to the portal get in."""
    if not employee_no:
        return "missing_claim"
    if not known:
        return "unknown_employee"
    if not active:
        return "deactivated"
    return None


def reauthentication_refusal(identity: VerifiedIdentity, *, employee_no: str, subject: str | None) -> str | None:
    """Why a re-authentication does not prove it is the signed-in person, or None."""
    if not identity.employee_no:
        return "missing_claim"
    if identity.employee_no != employee_no or (subject and identity.subject != subject):
        return "different_person"
    return None
