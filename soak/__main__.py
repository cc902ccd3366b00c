"""Run the slow checks: ``python -m soak [--only 22,28c] [--sqlite-only] [--list]``.

PostgreSQL checks use ``SOAK_POSTGRES_URL`` (a superuser URL on a scratch server)
or start a throw-away cluster from the Debian packages; without either they are
reported as skipped.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from soak import checks as checks_package
from soak.core import TEMPLATE_SECONDS, Check, Context, Verdict, drop_created_databases, start_postgres

TOTAL_BUDGET_S = 15 * 60


def all_checks() -> list[Check]:
    found: list[Check] = []
    for module in sorted(pkgutil.iter_modules(checks_package.__path__), key=lambda m: m.name):
        found += importlib.import_module(f"soak.checks.{module.name}").CHECKS
    return found


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m soak")
    parser.add_argument("--only", help="comma-separated check numbers (e.g. 22,28c)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip the PostgreSQL runs")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    selected = all_checks()
    if args.only:
        wanted = set(args.only.split(","))
        selected = [check for check in selected if check.number in wanted or check.number.rstrip("abc") in wanted]
    if args.list:
        for check in selected:
            print(f"#{check.number:<4} {check.title}  ({', '.join(check.databases)}, ≤ {check.budget_s} s)")
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="pharmacrm-soak-"))
    postgres_url, stop_postgres = None, None
    import os

    needs_pg = not args.sqlite_only and any("postgresql" in check.databases for check in selected)
    if needs_pg:
        postgres_url = os.environ.get("SOAK_POSTGRES_URL")
        if not postgres_url:
            try:
                started = start_postgres(workdir)
            except Exception as error:  # noqa: BLE001 - reported as a skip reason
                started = None
                print(f"(could not start PostgreSQL: {error})")
            if started:
                postgres_url, stop_postgres = started
    failures = 0
    started_at = time.monotonic()
    try:
        for check in selected:
            for vendor in check.databases:
                label = f"#{check.number} {check.title} [{vendor}]"
                if vendor == "postgresql" and not postgres_url:
                    print(f"SKIP {label}: no PostgreSQL (set SOAK_POSTGRES_URL or install the postgresql package)",
                          flush=True)
                    continue
                context = Context(workdir=workdir / f"{check.number}-{vendor}", vendor=vendor,
                                  postgres_admin_url=postgres_url)
                context.workdir.mkdir(parents=True, exist_ok=True)
                t0 = time.monotonic()
                building = TEMPLATE_SECONDS[0]
                try:
                    verdict = check.run(context)
                except Exception as error:  # noqa: BLE001 - a crash is a failed check, with its cause
                    verdict = Verdict(False, f"crashed: {error!r}")
                    traceback.print_exc()
                took = time.monotonic() - t0
                took -= TEMPLATE_SECONDS[0] - building  # building the shared demo database is not the check's
                if took > check.budget_s and verdict.ok:
                    verdict = Verdict(False, f"{verdict.detail}; took {took:.0f} s, over its {check.budget_s} s budget")
                word = "SKIP" if verdict.skipped else ("PASS" if verdict.ok else "FAIL")
                failures += 0 if verdict.ok or verdict.skipped else 1
                print(f"{word} {label}: {verdict.detail} ({took:.1f} s)", flush=True)
    finally:
        drop_created_databases()
        if stop_postgres:
            stop_postgres()
        shutil.rmtree(workdir, ignore_errors=True)
    took = time.monotonic() - started_at
    print(f"soak: {failures} failed, {took / 60:.1f} min (budget {TOTAL_BUDGET_S // 60} min)")
    if took > TOTAL_BUDGET_S:
        print("soak: over the time budget")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
