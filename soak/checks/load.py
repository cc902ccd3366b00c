"""#28c load: locust (soak/load.py), 20 users for 60 s against gunicorn with 3 workers, two ``kill -HUP``
reloads during the run → fail_ratio 0, p95 ≤ 500 ms, 0 "database is locked" in the server log."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from soak.core import DEMO_PASSWORD, PYTHON, ROOT, Check, Context, Verdict, gunicorn
from soak.load import API_READS, PAGES

USERS = 20
SECONDS = 60
IDENTITIES = ("rep_east", "rep_west", "rep_beijing", "rep_guangzhou", "manager_east", "leader", "service_desk",
              "steward", "marketing")
WRITERS = {"rep_east", "rep_west", "rep_beijing", "rep_guangzhou"}


def _login(base: str, username: str) -> dict:
    """A token (API) and a session cookie (pages) for one demo user: two password checks, before the run."""
    request = urllib.request.Request(base + "/api/v1/auth/token/", method="POST",
                                     data=json.dumps({"username": username, "password": DEMO_PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        token = json.load(response)["token"]
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/login/", timeout=60) as response:
        page = response.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": DEMO_PASSWORD,
                                   "csrfmiddlewaretoken": csrf}).encode()
    opener.open(urllib.request.Request(base + "/login/", data=form, headers={"Referer": base + "/login/"}),
                timeout=60).read()
    session = next(cookie for cookie in jar if cookie.name.endswith("sessionid"))
    request = urllib.request.Request(base + "/api/v1/customers/?page_size=50", headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        institutions = [row["id"] for row in json.load(response)["results"]]
    # each identity requests what its role may see (a 403 is a correct answer, not load): probe once
    allowed_api, allowed_pages = [], []
    for path in API_READS:
        with contextlib.suppress(urllib.error.HTTPError), urllib.request.urlopen(urllib.request.Request(
                base + path, headers={"Authorization": f"Token {token}"}), timeout=60):
            allowed_api.append(path)
    for path in PAGES:
        with contextlib.suppress(urllib.error.HTTPError), opener.open(base + path, timeout=60):
            allowed_pages.append(path)
    return {"username": username, "token": token, "cookie_name": session.name, "session": session.value,
            "institutions": institutions, "writes": username in WRITERS, "api": allowed_api, "pages": allowed_pages}


def load(context: Context) -> Verdict:
    env = context.migrated_env("c28c", demo=True)
    log = context.workdir / "gunicorn.log"
    summary_path = context.workdir / "summary.json"
    with gunicorn(env, workers=3, log=log) as (base, server):
        identities = [_login(base, username) for username in IDENTITIES]
        load_env = {**os.environ, "SOAK_LOAD_USERS": json.dumps(identities), "SOAK_LOAD_SUMMARY": str(summary_path)}
        locust = subprocess.Popen(
            [PYTHON, "-m", "locust", "-f", str(ROOT / "soak" / "load.py"), "--headless", "-u", str(USERS), "-r", "10",
             "-t", f"{SECONDS}s", "--host", base, "--only-summary", "--stop-timeout", "5"],
            cwd=context.workdir, env=load_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        reloads = 0
        for _ in range(2):  # at 1/3 and 2/3 of the run
            time.sleep(SECONDS / 3)
            os.kill(server.pid, signal.SIGHUP)  # gunicorn: graceful reload of every worker
            reloads += 1
        out, _ = locust.communicate(timeout=SECONDS + 120)
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    text = log.read_text(errors="replace")
    locked = text.count("database is locked")
    slow = sorted(((int(ms), line.split('"')[1]) for line in text.splitlines()
                   for ms in re.findall(r" (\d+)ms pid=", line)), reverse=True)[:3]
    server_errors = len(re.findall(r'" 5\d\d ', text))
    p95 = summary.get("p95_ms")
    ok = (locust.returncode == 0 and summary.get("requests", 0) > 0 and summary.get("failures") == 0
          and p95 is not None and p95 <= 500 and locked == 0 and server_errors == 0)
    detail = (f"{summary.get('requests')} requests, {summary.get('rps', 0):.1f} req/s, p95 {p95} ms, "
              f"median {summary.get('median_ms')} ms, fail_ratio {summary.get('fail_ratio')}, {reloads} HUP reloads, "
              f"'database is locked' in log: {locked}, 5xx in access log: {server_errors}")
    if not ok:
        detail += (f" — errors {summary.get('errors')}, slowest {summary.get('slowest')}, slowest in the server log "
                   f"{slow}, locust exit {locust.returncode}")
        if not summary:
            detail += f": {out[-500:]}"
    return Verdict(ok, detail)


CHECKS = [Check("28c", "load with reloads", load, budget_s=150, databases=("sqlite", "postgresql"))]
