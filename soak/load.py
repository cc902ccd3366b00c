"""Locust load for RELIABILITY.md #28c: reads and writes across the modules with session and token auth.

The soak check logs every identity in once before the run (no password hashing during it) and passes
``SOAK_LOAD_USERS`` (JSON: username, token, session cookie, institutions it may write to); each simulated user
takes one identity. ``SOAK_LOAD_SUMMARY`` names the JSON file the ``quitting`` hook writes the totals to.
Run alone: ``locust -f soak/load.py --headless -u 20 -r 10 -t 60s --host http://127.0.0.1:8000``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading

from locust import HttpUser, between, events, task

IDENTITIES = json.loads(os.environ.get("SOAK_LOAD_USERS", "[]"))
_next = itertools.count()
_lock = threading.Lock()

API_READS = ["/api/v1/customers/", "/api/v1/contacts/", "/api/v1/orders/", "/api/v1/visits/",
             "/api/v1/communications/", "/api/v1/cases/", "/api/v1/samples/inventory/",
             "/api/v1/grading/classifications/", "/api/v1/tasks/", "/api/v1/samples/movements/"]
PAGES = ["/", "/customers/institutions/", "/customers/contacts/", "/sales/orders/", "/engagement/visits/",
         "/engagement/communications/", "/service/cases/", "/samples/", "/grading/", "/grading/changes/"]


class CrmUser(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        with _lock:
            self.identity = IDENTITIES[next(_next) % len(IDENTITIES)]
        self.api = {"Authorization": f"Token {self.identity['token']}"}
        self.client.cookies.set(self.identity["cookie_name"], self.identity["session"])

    @task(6)
    def api_list(self) -> None:
        path = random.choice(self.identity.get("api") or API_READS)
        self.client.get(path, headers=self.api, name=path)

    @task(4)
    def page(self) -> None:
        path = random.choice(self.identity.get("pages") or PAGES)
        self.client.get(path, name=path)

    @task(2)
    def customer_detail(self) -> None:
        institution = random.choice(self.identity["institutions"])
        self.client.get(f"/api/v1/customers/{institution}/", headers=self.api, name="/api/v1/customers/[id]/")

    @task(2)
    def log_call(self) -> None:
        if not self.identity["writes"]:
            return
        self.client.post("/api/v1/communications/", headers=self.api, name="POST /api/v1/communications/", json={
            "institution": random.choice(self.identity["institutions"]), "channel": "phone",
            "summary": "负载测试电话沟通"})

    @task(1)
    def follow_up(self) -> None:
        if not self.identity["writes"]:
            return
        self.client.post("/api/v1/tasks/", headers=self.api, name="POST /api/v1/tasks/", json={
            "institution": random.choice(self.identity["institutions"]), "title": "负载测试跟进",
            "due_on": "2031-01-15"})

    @task(1)
    def log_case(self) -> None:
        """The service desk module: a rep logs a product consultation (its SLA clocks start with it)."""
        if not self.identity["writes"]:
            return
        self.client.post("/api/v1/cases/", headers=self.api, name="POST /api/v1/cases/", json={
            "institution": random.choice(self.identity["institutions"]), "kind": "consultation",
            "title": "负载测试咨询", "description": "客户询问产品规格"})

    @task(1)
    def edit_customer(self) -> None:
        """A human edit under optimistic locking: read the ETag, send it back; a 412 (someone with the same login
        edited first) is the right answer, not a failure."""
        if not self.identity["writes"]:
            return
        url = f"/api/v1/customers/{random.choice(self.identity['institutions'])}/"
        etag = self.client.get(url, headers=self.api, name="/api/v1/customers/[id]/").headers.get("ETag", "")
        with self.client.patch(url, headers={**self.api, "If-Match": etag}, name="PATCH /api/v1/customers/[id]/",
                               json={"phone": f"021-6404{random.randint(1000, 9999)}"},
                               catch_response=True) as response:
            if response.status_code in (200, 412):
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")


@events.quitting.add_listener
def gate(environment, **_kwargs) -> None:
    """RELIABILITY.md's gate: any failure or a p95 over 500 ms fails the run."""
    total = environment.stats.total
    p95 = total.get_response_time_percentile(0.95) if total.num_requests else None
    if total.num_requests == 0 or total.fail_ratio > 0 or (p95 or 0) > 500:
        environment.process_exit_code = 1
    summary = os.environ.get("SOAK_LOAD_SUMMARY")
    if summary:
        errors = [f"{e.method} {e.name}: {e.error} ×{e.occurrences}" for e in environment.stats.errors.values()]
        with open(summary, "w") as handle:
            json.dump({"requests": total.num_requests, "failures": total.num_failures,
                       "fail_ratio": total.fail_ratio, "p95_ms": p95, "rps": total.total_rps,
                       "median_ms": total.median_response_time, "errors": errors[:10],
                       "slowest": sorted(((s.get_response_time_percentile(0.95), name) for (name, _m), s in
                                          environment.stats.entries.items()), reverse=True)[:3]}, handle)
