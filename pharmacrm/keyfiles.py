"""Keys generated once and kept in a file under ``var/`` (the Django secret key, the personal-data key).

Several processes may start together on a new machine (the web workers and the job worker; the test suite's
workers): the first to write wins and every process reads the same key. The file appears whole or not at all
(written under another name, then linked into place, which fails if it exists), so no process reads it half written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    if not path.exists():
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w") as file:
                file.write(make())
            os.chmod(temporary, 0o600)
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process was first: use its key
        finally:
            os.unlink(temporary)
    return path.read_text().strip()
