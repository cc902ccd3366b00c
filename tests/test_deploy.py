"""Deployment: `check --deploy` is clean under production-like settings; headers and cookies are right."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _production_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(HTTPS="true", DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="crm.example.com")
    env.update(extra)
    return env


@pytest.mark.slow  # a manage.py process
def test_check_deploy_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # a Python process with production settings
def test_production_cookies_and_headers() -> None:
    script = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.DEBUG)"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=_production_env(DJANGO_SETTINGS_MODULE="pharmacrm.settings"))
    assert result.stdout.split() == ["__Host-sessionid", "__Host-csrftoken", "True", "31536000", "False"]


@pytest.mark.django_db
def test_security_headers_on_pages(client: Any) -> None:
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"):
        assert directive in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert response["X-Request-ID"]


# --- RELIABILITY.md check 16, in process: headers and cookies of real responses under the production settings ---
# (the same against gunicorn with curl is a soak check). The production values are read from pharmacrm.settings
# in a subprocess with HTTPS=true, then applied to this process, so the test sees what a deployment sends.

PRODUCTION_KEYS = (
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT", "SECURE_PROXY_SSL_HEADER", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS", "SESSION_COOKIE_NAME", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE", "SESSION_COOKIE_DOMAIN", "SESSION_COOKIE_PATH", "CSRF_COOKIE_NAME",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE", "CSRF_COOKIE_DOMAIN", "CSRF_COOKIE_PATH",
)
HTTPS_REQUEST = {"HTTP_X_FORWARDED_PROTO": "https", "secure": True}


@pytest.fixture(scope="module")
def production_settings() -> dict[str, Any]:
    import json

    script = ("import json,django;django.setup();from django.conf import settings as s;"
              f"print(json.dumps({{k: getattr(s, k) for k in {PRODUCTION_KEYS!r}}}))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=_production_env(DJANGO_SETTINGS_MODULE="pharmacrm.settings"))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


@pytest.fixture
def production(production_settings: dict[str, Any], settings: Any) -> dict[str, Any]:
    for key, value in production_settings.items():
        setattr(settings, key, value)
    return production_settings


def _hsts_ok(response: Any) -> bool:
    directives = [part.strip() for part in response.get("Strict-Transport-Security", "").split(";")]
    max_age = next((int(part.split("=", 1)[1]) for part in directives if part.startswith("max-age=")), 0)
    return max_age >= 31536000 and "includeSubDomains" in directives


@pytest.mark.django_db
def test_production_https_response_headers(production: dict[str, Any]) -> None:
    from django.test import Client

    response = Client().get("/login/", **HTTPS_REQUEST)
    assert response.status_code == 200
    assert _hsts_ok(response), response.get("Strict-Transport-Security")
    csp = {part.strip().split(" ", 1)[0]: part.strip() for part in response["Content-Security-Policy"].split(";")}
    assert csp["object-src"] == "object-src 'none'" and csp["base-uri"] == "base-uri 'none'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'" and "'unsafe-inline'" not in csp["script-src"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
    assert response["X-Frame-Options"] == "DENY"
    plain = Client().get("/login/")  # plain HTTP is sent to HTTPS
    assert plain.status_code == 301 and plain["Location"].startswith("https://")


def test_hsts_check_notices_a_short_max_age() -> None:
    from django.http import HttpResponse

    weak = HttpResponse()
    weak["Strict-Transport-Security"] = "max-age=3600; includeSubDomains"
    assert not _hsts_ok(weak)
    weak["Strict-Transport-Security"] = "max-age=31536000"
    assert not _hsts_ok(weak)


def _host_cookie_ok(morsel: Any, *, httponly: bool) -> bool:
    """__Host- prefix rules (RFC 6265bis): Secure, Path=/, no Domain; plus SameSite, and HttpOnly if asked."""
    return (morsel.key.startswith("__Host-") and bool(morsel["secure"]) and morsel["path"] == "/"
            and not morsel["domain"] and morsel["samesite"] in ("Lax", "Strict")
            and (bool(morsel["httponly"]) or not httponly))


@pytest.mark.django_db
def test_production_cookies_carry_the_host_prefix_rules(production: dict[str, Any], org: dict[str, Any]) -> None:
    from django.test import Client

    from conftest import DEMO_PASSWORD

    client = Client()
    page = client.get("/login/", **HTTPS_REQUEST)
    csrf = page.cookies["__Host-csrftoken"]
    assert _host_cookie_ok(csrf, httponly=False)
    signed_in = client.post("/login/", {"username": "rep_east", "password": DEMO_PASSWORD}, **HTTPS_REQUEST)
    assert signed_in.status_code == 302
    session = signed_in.cookies["__Host-sessionid"]
    assert _host_cookie_ok(session, httponly=True)
    assert "sessionid" not in signed_in.cookies and "csrftoken" not in signed_in.cookies


def test_cookie_check_notices_a_domain_or_a_missing_flag() -> None:
    from http.cookies import SimpleCookie

    for header in ("__Host-sessionid=x; Path=/; Secure; HttpOnly; SameSite=Lax; Domain=example.com",
                   "__Host-sessionid=x; Path=/; HttpOnly; SameSite=Lax",
                   "__Host-sessionid=x; Path=/app; Secure; HttpOnly; SameSite=Lax",
                   "__Host-sessionid=x; Path=/; Secure; SameSite=Lax",
                   "sessionid=x; Path=/; Secure; HttpOnly; SameSite=Lax"):
        cookie = SimpleCookie()
        cookie.load(header)
        assert not _host_cookie_ok(next(iter(cookie.values())), httponly=True), header


def _personal_data_responses(client: Any, contact: Any) -> list[Any]:
    return [client.get(f"/customers/contacts/{contact.pk}/", **HTTPS_REQUEST),
            client.get("/customers/contacts/", **HTTPS_REQUEST),
            client.get(f"/api/v1/contacts/{contact.pk}/", **HTTPS_REQUEST),
            client.get("/api/v1/contacts/", **HTTPS_REQUEST),
            client.get(f"/api/v1/institutions/{contact.institution_id}/", **HTTPS_REQUEST)]


def _no_store(responses: list[Any]) -> bool:
    return all(response.status_code == 200 and "no-store" in response.get("Cache-Control", "")
               and "max-age" not in response.get("Cache-Control", "").replace("max-age=0", "") for response in responses)


@pytest.fixture
def contact(org: dict[str, Any]) -> Any:
    from pharmacrm.customers import services

    return services.create_contact(actor=org["steward"], institution=org["institution_east"], name="樊嘉",
                                   title="chief_physician", department="肝外科", mobile="13812345678")


@pytest.mark.django_db
def test_personal_data_responses_are_not_stored(production: dict[str, Any], org: dict[str, Any],
                                                contact: Any) -> None:
    from django.test import Client

    from conftest import login

    client = login(Client(), org["rep_east"])
    assert _no_store(_personal_data_responses(client, contact))


@pytest.mark.django_db
def test_no_store_check_notices_a_cacheable_personal_data_page(production: dict[str, Any], org: dict[str, Any],
                                                               contact: Any, settings: Any) -> None:
    """Guard off: without the headers middleware the contact pages and the API go out cacheable."""
    from django.test import Client

    from conftest import login

    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if not name.endswith("SecurityHeadersMiddleware")]
    client = login(Client(), org["rep_east"])
    assert not _no_store(_personal_data_responses(client, contact))
