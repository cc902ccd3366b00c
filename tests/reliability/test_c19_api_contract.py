"""RELIABILITY check 19: API contract — the breaking-change gate.

Pass criterion: ``manage.py spectacular --validate --fail-on-warn`` under production settings exits 0 (the one run
of it in the suite, by ``scripts/api_schema.py``: an error or a warning fails the test) and the schema it generates
equals the reviewed, committed ``docs/api/schema.yaml``; any difference fails with the diff and
how to regenerate it (``make schema``, then review and commit the file with the change).

Guards: 21 CFR 11.10(a) and Annex 11 §10 (change control of a validated system's interfaces).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _api_schema() -> object:
    spec = importlib.util.spec_from_file_location("api_schema", ROOT / "scripts" / "api_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


api_schema = _api_schema()


@pytest.mark.slow  # manage.py spectacular in a process
def test_generated_schema_equals_the_committed_one() -> None:
    changes = api_schema.diff(api_schema.generate())
    assert not changes, (
        "The API schema changed. Review the diff below (a removed path, field or enum value breaks clients), then "
        "run `make schema` and commit docs/api/schema.yaml with the change.\n" + changes[:20000])


def test_the_gate_notices_a_change(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    committed = api_schema.SCHEMA.read_text(encoding="utf-8")
    edited = tmp_path / "schema.yaml"
    edited.write_text(committed.replace("  /api/v1/visits/{id}/:\n", "  /api/v1/visit/{id}/:\n", 1), encoding="utf-8")
    monkeypatch.setattr(api_schema, "SCHEMA", edited)
    assert "/api/v1/visits/{id}/" in api_schema.diff(committed)
