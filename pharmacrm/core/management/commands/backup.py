"""manage.py backup [--output PATH]: a consistent copy of the database (SQLite backup API / pg_dump -Fc)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from pharmacrm.core.backups import BackupError, backup_database


class Command(BaseCommand):
    help = "Back up the database: SQLite through the online backup API, PostgreSQL with pg_dump -Fc."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", "-o", help="backup file (default: var/backups/pharmacrm-<timestamp>.*)")

    def handle(self, *args: Any, output: str | None = None, **options: Any) -> None:
        started = time.monotonic()
        try:
            path = backup_database(output)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        method = "online backup API" if connection.vendor == "sqlite" else "pg_dump -Fc"
        size = path.stat().st_size / 1_048_576
        self.stdout.write(self.style.SUCCESS(
            f"backed up {connection.vendor} database {connection.settings_dict['NAME']} with the {method} "
            f"to {path} ({size:.1f} MB, {time.monotonic() - started:.1f} s)"))
