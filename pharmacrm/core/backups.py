"""Database backup and restore for SQLite (online backup API) and PostgreSQL (pg_dump / pg_restore).

Used by ``manage.py backup`` and ``manage.py restore``. SQLite is never copied
as a file: a live WAL database's file alone can miss committed pages, so both
directions go through ``sqlite3.Connection.backup``, which copies a consistent
snapshot page by page.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone


class BackupError(RuntimeError):
    """A backup or restore could not be completed."""


@dataclass
class RestoreReport:
    vendor: str
    source: Path
    integrity: str = ""  # SQLite: the result of PRAGMA integrity_check ("ok")


def default_backup_path(alias: str = "default") -> Path:
    """var/backups/pharmacrm-<UTC timestamp>.<sqlite3|dump>"""
    vendor = connections[alias].vendor
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    suffix = "sqlite3" if vendor == "sqlite" else "dump"
    return Path(settings.VAR_DIR) / "backups" / f"pharmacrm-{stamp}.{suffix}"


def backup_database(path: str | Path | None = None, *, alias: str = "default") -> Path:
    """Write a consistent backup of the database to ``path`` (default under var/backups/) and return it."""
    connection = connections[alias]
    target = Path(path) if path else default_backup_path(alias)
    target.parent.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        _sqlite_backup(connection, target)
    elif connection.vendor == "postgresql":
        _run([_tool("pg_dump"), "--format=custom", "--no-password", f"--file={target}",
              *_pg_connection_args(connection.settings_dict)], connection.settings_dict)
    else:
        raise BackupError(f"backups are not supported for {connection.vendor}")
    return target


def restore_database(path: str | Path, *, alias: str = "default") -> RestoreReport:
    """Replace the database's content with the backup at ``path``."""
    source = Path(path)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    connection = connections[alias]
    vendor = connection.vendor
    if vendor == "sqlite":
        connection.close()  # no Django connection may hold a transaction on the target
        integrity = _sqlite_restore(source, Path(connection.settings_dict["NAME"]))
        if integrity != "ok":
            raise BackupError(f"integrity check failed after restore: {integrity}")
        return RestoreReport(vendor, source, integrity)
    if vendor == "postgresql":
        connection.close()
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--exit-on-error", "--no-password", *_pg_connection_args(connection.settings_dict, flag="--dbname"),
              str(source)], connection.settings_dict)
        return RestoreReport(vendor, source)
    raise BackupError(f"restore is not supported for {vendor}")


# --- SQLite ------------------------------------------------------------------------------


def _sqlite_backup(connection: Any, target: Path) -> None:
    if connection.in_atomic_block:
        raise BackupError("cannot back up from inside a transaction: uncommitted changes would be left out")
    connection.ensure_connection()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    destination = sqlite3.connect(partial)
    try:
        connection.connection.backup(destination)
        _check_integrity(destination)
    finally:
        destination.close()
    partial.replace(target)


def _sqlite_restore(source: Path, database: Path) -> str:
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check_integrity(backup)
        target = sqlite3.connect(database, timeout=30)
        try:
            # The backup API takes the target's write lock and rewrites every page,
            # through the target's own journal (WAL stays WAL, readers stay safe).
            backup.backup(target)
            return _integrity(target)
        finally:
            target.close()
    finally:
        backup.close()


def _integrity(db: sqlite3.Connection) -> str:
    rows = db.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(row[0]) for row in rows)


def _check_integrity(db: sqlite3.Connection) -> None:
    result = _integrity(db)
    if result != "ok":
        raise BackupError(f"integrity check failed: {result}")


# --- PostgreSQL ----------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not on PATH (install the PostgreSQL client tools matching the server)")
    return found


def _pg_connection_args(settings_dict: dict[str, Any], flag: str = "--dbname") -> list[str]:
    args = []
    if settings_dict.get("HOST"):
        args.append(f"--host={settings_dict['HOST']}")
    if settings_dict.get("PORT"):
        args.append(f"--port={settings_dict['PORT']}")
    if settings_dict.get("USER"):
        args.append(f"--username={settings_dict['USER']}")
    args.append(f"{flag}={settings_dict['NAME']}")
    return args


def _run(command: list[str], settings_dict: dict[str, Any]) -> None:
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    sslmode = (settings_dict.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed ({result.returncode}): {result.stderr.strip()}")
