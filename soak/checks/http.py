"""Checks against a running gunicorn: #20 API fuzzing (HTTP part) and #16 headers and cookies (curl part).

#20: ``schemathesis run <url>/api/schema/`` as a rep and as an all-scope role (leader), token auth, phases
coverage and fuzzing, fixed seed, bounded examples and time, ``--checks not_a_server_error`` → 0 server
errors; the server log must hold no traceback either.
#16: production settings (HTTPS=true, DEBUG=false) behind a proxy that sets ``X-Forwarded-Proto: https``:
HSTS ≥ 1 year with subdomains, CSP with object-src/base-uri/frame-ancestors 'none', nosniff, Referrer-Policy,
X-Frame-Options DENY, ``Cache-Control: no-store`` on personal-data responses, ``__Host-`` cookies that are
Secure and SameSite (the session one HttpOnly), and plain http redirected to https.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request

from soak.core import DEMO_PASSWORD, ROOT, Check, Context, Verdict, gunicorn

SEED = 20260801
ROLES = ("rep_east", "leader")
MAX_EXAMPLES = 10
MAX_TIME = 75


def _token(base: str, username: str, headers: dict[str, str] | None = None) -> str:
    request = urllib.request.Request(base + "/api/v1/auth/token/", method="POST",
                                     data=json.dumps({"username": username, "password": DEMO_PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["token"]


def fuzz(context: Context) -> Verdict:
    env = context.migrated_env("c20", demo=True)
    log = context.workdir / "gunicorn.log"
    results, problems = [], []
    with gunicorn(env, workers=3, log=log) as (base, _server):
        for username in ROLES:
            token = _token(base, username)
            junit = context.workdir / f"schemathesis-{username}.xml"
            command = [str(ROOT / ".venv" / "bin" / "schemathesis"), "run", f"{base}/api/schema/",
                       "-H", f"Authorization: Token {token}", "--checks", "not_a_server_error",
                       "--phases", "coverage,fuzzing", "--seed", str(SEED), "-n", str(MAX_EXAMPLES),
                       "--max-time", str(MAX_TIME), "--workers", "2", "--no-color",
                       "--report", "junit", "--report-junit-path", str(junit)]
            run = subprocess.run(command, cwd=context.workdir, capture_output=True, text=True, timeout=MAX_TIME + 120)
            cases = re.search(r"(\d+) generated", run.stdout)
            server_errors = len(re.findall(r"Server error", run.stdout))
            results.append(f"{username}: {cases.group(1) if cases else '?'} cases, {server_errors} server errors, "
                           f"exit {run.returncode}")
            if run.returncode != 0 or server_errors:
                failing = re.findall(r"^\s*\d+\. Test Case ID: \S+|^_+ (\w+ /\S+) _+$", run.stdout, re.M)
                problems.append(f"{username}: {[f for f in failing if f][:5]} {run.stdout[-400:]}")
    text = log.read_text(errors="replace")
    tracebacks = text.count("Traceback (most recent call last)")
    if tracebacks:
        problems.append(f"{tracebacks} tracebacks in the server log, first: "
                        f"{text[text.index('Traceback'):][:600]}")
    detail = "; ".join(results) + f"; tracebacks in the server log: {tracebacks}"
    if problems:
        detail += " — " + " | ".join(problems)[:1500]
    return Verdict(not problems, detail)


# --- #16 ----------------------------------------------------------------------------------------------------------


def _curl(*args: str) -> tuple[dict[str, list[str]], int, str]:
    """Response headers (lower-case names, every value), status, body of one curl call."""
    command = [shutil.which("curl") or "/usr/bin/curl", "-s", "-D", "-", "--max-time", "30", *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    head, _, body = run.stdout.partition("\n\n")  # text mode has turned CRLF into LF
    lines = head.split("\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return headers, status, body


def _first(headers: dict[str, list[str]], name: str) -> str:
    return (headers.get(name) or [""])[0]


def _cookie(headers: dict[str, list[str]], name: str) -> str:
    return next((value for value in headers.get("set-cookie", []) if value.startswith(name + "=")), "")


def headers_and_cookies(context: Context) -> Verdict:
    env = context.migrated_env("c16", demo=True, HTTPS="true", DEBUG="false", SECURE_SSL_REDIRECT="true")
    problems: list[str] = []
    proxy = ["-H", "X-Forwarded-Proto: https"]
    jar = str(context.workdir / "cookies.txt")
    with gunicorn(env, workers=1, log=context.workdir / "gunicorn.log") as (base, _server):
        plain, plain_status, _ = _curl(f"{base}/login/")
        if plain_status not in (301, 302, 307, 308) or not _first(plain, "location").startswith("https://"):
            problems.append(f"plain http: {plain_status} {_first(plain, 'location')}")
        page, _status, body = _curl(*proxy, "-c", jar, f"{base}/login/")
        hsts = _first(page, "strict-transport-security")
        age = re.search(r"max-age=(\d+)", hsts)
        if not age or int(age.group(1)) < 31536000 or "includesubdomains" not in hsts.lower():
            problems.append(f"HSTS: {hsts!r}")
        csp = _first(page, "content-security-policy")
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            if directive not in csp:
                problems.append(f"CSP lacks {directive}")
        expected = {"x-content-type-options": "nosniff", "x-frame-options": "DENY"}
        problems += [f"{name}: {_first(page, name)!r}" for name, value in expected.items() if _first(page, name) != value]
        if not _first(page, "referrer-policy"):
            problems.append("no Referrer-Policy")
        csrf_cookie = _cookie(page, "__Host-csrftoken")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if not csrf_cookie or "secure" not in csrf_cookie.lower() or "samesite" not in csrf_cookie.lower() \
                or "domain=" in csrf_cookie.lower():
            problems.append(f"CSRF cookie: {csrf_cookie!r}")
        login, login_status, _ = _curl(*proxy, "-b", jar, "-c", jar, "-H", f"Referer: https://{base[7:]}/login/",
                                       "--data-urlencode", "username=rep_east",
                                       "--data-urlencode", f"password={DEMO_PASSWORD}",
                                       "--data-urlencode", f"csrfmiddlewaretoken={csrf.group(1) if csrf else ''}",
                                       f"{base}/login/")
        session = _cookie(login, "__Host-sessionid")
        flags = session.lower()
        if login_status != 302 or not session or not all(f in flags for f in ("secure", "httponly", "samesite", "path=/")) \
                or "domain=" in flags:
            problems.append(f"login {login_status}, session cookie: {session!r}")
        token = _token(base, "rep_east", {"X-Forwarded-Proto": "https"})
        api, api_status, api_body = _curl(*proxy, "-H", f"Authorization: Token {token}", f"{base}/api/v1/contacts/")
        contact = (json.loads(api_body).get("results") or [{}])[0].get("id") if api_status == 200 else None
        pi = [("GET /api/v1/contacts/", api, api_status)]
        if contact:
            detail, detail_status, _ = _curl(*proxy, "-H", f"Authorization: Token {token}",
                                             f"{base}/api/v1/contacts/{contact}/")
            pi.append((f"GET /api/v1/contacts/{contact}/", detail, detail_status))
            page_headers, page_status, _ = _curl(*proxy, "-b", jar, f"{base}/customers/contacts/")
            pi.append(("GET /customers/contacts/ (session)", page_headers, page_status))
        for name, found, found_status in pi:
            if found_status != 200 or "no-store" not in _first(found, "cache-control"):
                problems.append(f"{name}: {found_status}, Cache-Control {_first(found, 'cache-control')!r}")
    session_flags = "; ".join(part.strip() for part in session.split(";")[1:]
                              if not part.strip().lower().startswith(("expires", "max-age")))
    detail = (f"HSTS {hsts!r}; CSP has object-src/base-uri/frame-ancestors 'none'; nosniff, Referrer-Policy "
              f"{_first(page, 'referrer-policy')!r}, X-Frame-Options {_first(page, 'x-frame-options')}; "
              f"{len(pi)} personal-data responses checked for no-store; cookie {session.split('=')[0]} "
              f"[{session_flags}], {csrf_cookie.split('=')[0]}; http → {plain_status} https")
    if problems:
        detail += " — " + "; ".join(problems)
    return Verdict(not problems, detail)


CHECKS = [
    Check("16", "security headers and cookies (curl)", headers_and_cookies, budget_s=90),
    Check("20", "API fuzzing over HTTP (schemathesis)", fuzz, budget_s=300),
]
