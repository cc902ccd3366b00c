"""The committed OpenAPI schema (docs/api/schema.yaml): regenerate it, or check it is current.

    python scripts/api_schema.py          # write docs/api/schema.yaml (``make schema``)
    python scripts/api_schema.py --check  # exit 1 with a diff when the code's schema differs

The schema is generated under production-like settings (HTTPS on: the session cookie is ``__Host-sessionid``),
validated, and with warnings as errors, so the file does not depend on the developer's environment.
"""

from __future__ import annotations

import difflib
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "docs" / "api" / "schema.yaml"


def generate() -> str:
    # the API does not depend on the database, but drf-spectacular reads integer ranges from its backend
    # (PostgreSQL's smallint vs SQLite's int64): the committed schema is always generated on the default SQLite
    env = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "HTTPS", "DATABASE_URL")}
    env.update(HTTPS="true", DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="crm.example.com")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "schema.yaml"
        result = subprocess.run(  # noqa: S603  (our own manage.py, fixed arguments)
            [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(out)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
        if result.returncode:
            raise SystemExit(result.stdout + result.stderr)
        return out.read_text(encoding="utf-8")


def diff(current: str) -> str:
    committed = SCHEMA.read_text(encoding="utf-8") if SCHEMA.exists() else ""
    return "".join(difflib.unified_diff(committed.splitlines(keepends=True), current.splitlines(keepends=True),
                                        "docs/api/schema.yaml (committed)", "schema of the code"))


def main() -> int:
    current = generate()
    if "--check" in sys.argv:
        changes = diff(current)
        sys.stdout.write(changes)
        return 1 if changes else 0
    SCHEMA.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA.write_text(current, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
