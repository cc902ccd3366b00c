"""Keys kept in var/: processes that start together on a new machine all read the same key."""

from __future__ import annotations

import multiprocessing
import secrets
from pathlib import Path

from pharmacrm.keyfiles import read_or_create


def _read(path: str) -> str:
    return read_or_create(Path(path), lambda: secrets.token_hex(16))


def test_the_first_writer_wins_and_everyone_reads_its_key(tmp_path: Path) -> None:
    path = tmp_path / "key"
    with multiprocessing.get_context("fork").Pool(8) as pool:
        keys = pool.map(_read, [str(path)] * 64)
    assert len(set(keys)) == 1 and keys[0] == path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]  # no temporary file left behind
    assert _read(str(path)) == keys[0]  # later: read, never rewritten
