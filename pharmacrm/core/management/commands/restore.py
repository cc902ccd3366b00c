"""manage.py restore PATH [--yes]: replace the database's content with a backup made by ``manage.py backup``."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from pharmacrm.core.backups import BackupError, restore_database


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup`: SQLite through the backup API then PRAGMA integrity_check, "
            "PostgreSQL with pg_restore --clean --if-exists --no-owner. Stop the app and workers first.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="backup file")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args: Any, path: str, yes: bool = False, **options: Any) -> None:
        name = connection.settings_dict["NAME"]
        if not yes:
            answer = input(f"This replaces ALL data in the {connection.vendor} database {name} with {path}. "
                           "Type 'yes' to continue: ")
            if answer.strip().lower() != "yes":
                raise CommandError("restore cancelled")
        started = time.monotonic()
        try:
            report = restore_database(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        method = "backup API" if report.vendor == "sqlite" else "pg_restore --clean --if-exists --no-owner"
        self.stdout.write(self.style.SUCCESS(
            f"restored {report.vendor} database {name} from {report.source} with the {method} "
            f"({time.monotonic() - started:.1f} s)"))
        if report.integrity:
            self.stdout.write(f"PRAGMA integrity_check: {report.integrity}")
        self.stdout.write("run `manage.py verify_audit_chain` to confirm the restored audit trail")
