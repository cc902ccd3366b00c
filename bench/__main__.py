"""python -m bench [--scale N] [--repeat R] [--db PATH|URL] [--results FILE]: time scenarios, ORM vs raw SQL.

Without --db the benchmark uses its own database, never the app's:
var/bench.sqlite3 on SQLite, or the DATABASE_URL database name + "_bench" on
PostgreSQL (created when missing). Results: a table on stdout and
bench-results/latest.json (or --results). The suite runs every scenario once on small data
(tests/test_bench.py): an error fails it, a time never does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=int, default=20000, help="institutions to seed (default 20000)")
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per scenario and side (default 50)")
    parser.add_argument("--seed", type=int, default=2025, help="seed_demo random seed")
    parser.add_argument("--db", help="SQLite file path or database URL (default: var/bench.sqlite3 / <db>_bench)")
    parser.add_argument("--import-rows", type=int, default=5000, help="rows in the import benchmark's file (0: skip)")
    parser.add_argument("--purchase-lines", type=int, default=None,
                        help="purchase facts to generate (default 28 per institution: 50M at 1.8M; 0: skip)")
    parser.add_argument("--flow-rows", type=int, default=200_000, help="rows in the flow-import file (0: skip)")
    parser.add_argument("--only", action="append", help="run only scenarios whose name contains this (repeatable)")
    parser.add_argument("--results", type=Path, default=RESULTS / "latest.json", help="where the JSON report goes")
    return parser.parse_args(argv)


def configure(db: str | None) -> None:
    """Point Django at the bench database before anything opens a connection."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pharmacrm.settings")
    os.environ.setdefault("PHARMACRM_PLAIN_STATIC", "1")
    from django.conf import settings

    settings.DEBUG = False  # no query log: it would slow the ORM and raw sides alike
    default = settings.DATABASES["default"]
    if db and "://" in db:
        import dj_database_url

        settings.DATABASES["default"] = dj_database_url.parse(db)
    elif db:
        default.update(ENGINE="django.db.backends.sqlite3", NAME=str(Path(db).resolve()))
    elif default["ENGINE"].endswith("sqlite3"):
        default["NAME"] = str(Path(settings.VAR_DIR) / "bench.sqlite3")
    else:
        default["NAME"] = f"{default['NAME']}_bench"
    import django

    django.setup()


def prepare(scale: int, seed: int) -> None:
    """Migrate and seed until the database holds at least ``scale`` institutions."""
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        _create_pg_database(connection)
    call_command("migrate", verbosity=0, interactive=False)
    from pharmacrm.customers.models import Institution

    count = Institution.objects.count()
    if count >= scale:
        print(f"bench database holds {count} institutions (>= {scale}); not reseeding")
        return
    if count and connection.vendor == "sqlite":
        # Start again from an empty file so the data is exactly seed_demo --scale N --seed S.
        path = Path(connection.settings_dict["NAME"])
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        call_command("migrate", verbosity=0, interactive=False)
        count = 0
    print(f"seeding {scale - count} institutions (seed_demo, seed {seed + count}) …", flush=True)
    started = time.monotonic()
    call_command("seed_demo", scale=scale - count, seed=seed + count)  # ends with ANALYZE, as production keeps stats
    print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)


def _create_pg_database(connection: Any) -> None:
    name = connection.settings_dict["NAME"]
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure(args.db)
    from django.db import connection

    prepare(args.scale, args.seed)
    from bench.scenarios import build_scenarios, run_scenario

    scenarios = build_scenarios()
    if args.only:
        scenarios = [s for s in scenarios if any(part in s.name for part in args.only)]
    from pharmacrm.customers.models import Institution

    institutions = Institution.objects.count()
    print(f"\n{connection.vendor} {connection.settings_dict['NAME']} · {institutions} institutions · "
          f"{args.repeat} runs per side (median / p95, ms)\n")
    header = f"{'scenario':<36}{'rows':>6}{'ORM med':>10}{'ORM p95':>10}{'raw med':>10}{'raw p95':>10}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    results = []
    started = time.monotonic()
    for scenario in scenarios:
        result = run_scenario(scenario, args.repeat)
        results.append(result)
        print(f"{result['name']:<36}{result['rows']:>6}{result['orm_median_ms']:>10.2f}{result['orm_p95_ms']:>10.2f}"
              f"{result['raw_median_ms']:>10.2f}{result['raw_p95_ms']:>10.2f}{result['ratio']:>7.2f}x")
    print(f"\nratio = ORM median / raw median · ORM = the app's path: the list view's queryset, or for '(htmx)' "
          f"and 'filtered page' the whole request through the test client · {time.monotonic() - started:.1f} s")

    imports = []
    if args.import_rows and (not args.only or any(part in "import" for part in args.only)):
        from bench import importing

        print(f"\n{'import (median of 3, rolled back)':<44}{'rows':>8}{'seconds':>10}{'rows/s':>10}")
        for result in importing.run(args.import_rows, repeat=3):
            imports.append(result)
            print(f"{result['name']:<44}{result['rows']:>8}{result['median_s']:>10.2f}{result['rows_per_s']:>10}")

    purchase_results = []
    lines = args.purchase_lines if args.purchase_lines is not None else 28 * institutions
    if lines and (not args.only or any(part in "purchases" for part in args.only)):
        from bench import purchases

        print(f"\n{'purchases (imports rolled back)':<44}{'rows':>10}{'ORM/app':>10}{'raw':>10}{'ratio':>8}{'rows/s':>10}")
        for result in purchases.run(lines, args.flow_rows, repeat=args.repeat):
            purchase_results.append(result)
            if "orm_median_ms" in result:
                print(f"{result['name']:<44}{result['rows']:>10}{result['orm_median_ms']:>8.1f}ms"
                      f"{result['raw_median_ms']:>8.1f}ms{result['ratio']:>7.2f}x   p95 {result['orm_p95_ms']:.1f} ms")
            elif "raw_s" in result:
                print(f"{result['name']:<44}{result['rows']:>10}{result['median_s']:>9.1f}s{result['raw_s']:>9.1f}s"
                      f"{result['ratio']:>7.2f}x")
            else:
                print(f"{result['name']:<44}{result['rows']:>10}{result['median_s']:>9.1f}s{'':>10}{'':>8}"
                      f"{result['rows_per_s']:>10}")

    grading_results = []
    if not args.only or any(part in "grading" for part in args.only):
        from bench import grading

        print(f"\n{'grading (the recompute committed)':<44}{'rows':>10}{'app':>10}{'raw':>10}{'ratio':>8}")
        for result in grading.run(repeat=min(args.repeat, 3)):
            grading_results.append(result)
            if "raw_s" in result:
                print(f"{result['name']:<44}{result['rows']:>10}{result['median_s']:>9.1f}s{result['raw_s']:>9.1f}s"
                      f"{result['ratio']:>7.2f}x   same classes as the raw query: "
                      f"{'yes' if result['agrees_with_raw'] else 'NO'}")
            else:
                print(f"{result['name']:<44}{result['rows']:>10}{result['median_s']:>9.1f}s")

    engagement_results = []
    if not args.only or any(part in "engagement" for part in args.only):
        from bench import engagement

        print(f"\n{'engagement (whole requests)':<44}{'rows':>10}{'app med':>10}{'app p95':>10}{'raw med':>10}{'ratio':>8}")
        for result in engagement.run(repeat=max(5, min(args.repeat, 50))):
            engagement_results.append(result)
            print(f"{result['name']:<44}{result['rows']:>10}{result['orm_median_ms']:>8.1f}ms{result['orm_p95_ms']:>8.1f}ms"
                  f"{result['raw_median_ms']:>8.1f}ms{result['ratio']:>7.2f}x")

    import django

    args.results.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "vendor": connection.vendor,
        "database": str(connection.settings_dict["NAME"]),
        "institutions": institutions,
        "scale": args.scale,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "django": django.get_version(),
        "machine": f"{platform.machine()} · {os.cpu_count()} cpus",
        "scenarios": results,
        "imports": imports,
        "purchases": purchase_results,
        "grading": grading_results,
        "engagement": engagement_results,
        "service": __import__("bench.service", fromlist=["section"]).section(args),  # prints its own table
    }
    args.results.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
