"""The 28 checks of the reliability battery (docs/validation.md) and a one-line verdict per check.

Test modules are named ``test_cNN_<topic>.py`` after the check they implement;
``make reliability`` ends with one PASS/FAIL line per check.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

CHECKS = {
    1: "Audit completeness",
    2: "Audit bypass paths",
    3: "Audit immutability and tamper evidence",
    4: "Attributable and contemporaneous",
    5: "Retention, no hard delete",
    6: "E-signature manifest, re-authentication, linking",
    7: "Session continuity for signing",
    8: "Personal-data masking and encryption at rest",
    9: "Personal-data access log and consent gating",
    10: "Data-subject rights and the GxP retention conflict",
    11: "Minimisation and bulk-export approval",
    12: "Object-level authorisation (IDOR/BOLA)",
    13: "Field-level authorisation (mass assignment)",
    14: "Session lifecycle",
    15: "Brute force and alerting",
    16: "Deployment configuration, headers and cookies",
    17: "Upload hardening",
    18: "CSV/formula injection",
    19: "API contract",
    20: "API fuzzing: no server errors, no leaks",
    21: "Query budgets and pagination",
    22: "Lost update on money and limits",
    23: "Optimistic locking for human edits",
    24: "SQLite write contention",
    25: "Retries, idempotent jobs, migrations",
    26: "Backup and restore drill",
    27: "Export/archive round trip",
    28: "Faults and load",
}

_MODULE = re.compile(r"test_c(\d\d)_")
#: checks proven by modules that predate the battery's naming
OTHER_MODULES = {"tests/test_deploy.py": 16}


class VerdictCollector:
    """Counts outcomes per check number and prints the verdicts at the end of the run."""

    def __init__(self) -> None:
        self.outcomes: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def pytest_runtest_logreport(self, report: Any) -> None:
        match = _MODULE.search(report.nodeid)
        number = int(match.group(1)) if match else OTHER_MODULES.get(report.nodeid.split("::")[0])
        if number is None:
            return
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[number][report.outcome] += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.outcomes:
            return
        terminalreporter.section("reliability battery: one line per check (make soak runs the slow ones)")
        for number, title in CHECKS.items():
            counts = self.outcomes.get(number)
            if not counts:
                terminalreporter.write_line(f"  -   #{number:<2} {title}: not in this run")
                continue
            word = "FAIL" if counts.get("failed") else ("PASS" if counts.get("passed") else "SKIP")
            detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
            terminalreporter.write_line(f"  {word} #{number:<2} {title}: {detail}")
