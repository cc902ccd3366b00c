"""manage.py prepare [--demo]: everything ``make run`` does before it serves, one line per step, in one process.

Each step checks first whether it has anything to do:

* the database is migrated when a migration is pending; otherwise only the post-migrate sync runs (content types,
  permissions, the role groups of ``org.roles``), which takes a fraction of a second;
* static assets are collected (and compressed) when their sources changed since the last collection: a hash of
  every source file's path, size and modification time, kept beside the collected files;
* with ``--demo``, an empty database gets the demo data from every app's ``seed_*`` command, in the order of
  ``INSTALLED_APPS`` (each app seeds on top of the ones it depends on). Their own reports, and any mail they send,
  go to ``var/seed.log``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import time
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.core.management.sql import emit_post_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

STAMP = ".sources.sha256"
IGNORED = ["CVS", ".*", "*~"]


def demo_seeders() -> list[str]:
    """Every ``seed_*`` management command, apps in ``INSTALLED_APPS`` order (lower apps seed first)."""
    order = {config.name: index for index, config in enumerate(apps.get_app_configs())}
    commands = [(order.get(app, len(order)), name) for name, app in get_commands().items() if name.startswith("seed_")]
    return [name for _position, name in sorted(commands)]


def static_sources_hash() -> str:
    digest = hashlib.sha256(repr((settings.STORAGES["staticfiles"], settings.STATIC_URL,
                                  getattr(settings, "WHITENOISE_SKIP_COMPRESS_EXTENSIONS", ()))).encode())
    entries = []
    for finder in get_finders():
        for path, storage in finder.list(IGNORED):
            stat = os.stat(storage.path(path))
            entries.append(f"{getattr(storage, 'prefix', '') or ''}/{path} {stat.st_size} {stat.st_mtime_ns}")
    for entry in sorted(entries):
        digest.update(entry.encode())
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Migrate, collect static assets and (with --demo) seed demo data, each only when needed."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--demo", action="store_true", help="seed the demo data when the database is empty")

    def say(self, line: str) -> None:
        self.stdout.write(f"→ {line}")
        self.stdout.flush()

    def handle(self, *args: Any, demo: bool = False, **options: Any) -> None:
        self.migrate()
        self.collect_static()
        if demo:
            self.seed()

    def migrate(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if not plan:
            emit_post_migrate_signal(verbosity=0, interactive=False, db=DEFAULT_DB_ALIAS)
            self.say("database: up to date")
            return
        self.say(f"migrating the database ({len(plan)} migrations) …")
        call_command("migrate", interactive=False, verbosity=0)

    def collect_static(self) -> None:
        root = Path(settings.STATIC_ROOT)
        sources = static_sources_hash()
        stamp = root / STAMP
        if stamp.exists() and stamp.read_text() == sources:
            self.say("static assets: up to date")
            return
        self.say("collecting and compressing static assets …")
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp.write_text(sources)

    def seed(self) -> None:
        from django.contrib.auth import get_user_model

        seeders = demo_seeders()
        log = Path(settings.VAR_DIR) / "seed.log"
        started = time.monotonic()
        if not get_user_model().objects.exists():
            self.say("seeding the demo data (about half a minute) …")
        output = io.StringIO()
        with contextlib.redirect_stdout(output):  # mail sent while seeding is announced on stdout
            for name in seeders:
                call_command(name, if_empty=True, stdout=output)
        report = output.getvalue()
        if all("nothing to do" in line for line in report.splitlines() if line.startswith("seed_")):
            self.say("demo data: already there")
            return
        log.write_text(report, encoding="utf-8")
        institutions = re.search(r"(\d+) institutions", report)
        what = f"{institutions.group(1)} institutions and what the company does with them" if institutions else "done"
        self.say(f"demo data seeded in {time.monotonic() - started:.0f} s: {what} (each seeder's report: {log})")
