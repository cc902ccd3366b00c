"""Layering rules (STYLE.md): views, forms and serializers never write; services do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "pharmacrm"
WRITE = re.compile(r"\.(save|delete|bulk_create|bulk_update)\(|\.objects\.(create|get_or_create|update_or_create)\(|"
                   r"\.filter\([^)]*\)\.update\(")
THIN_MODULES = sorted(
    path for pattern in ("*/views.py", "*/*_views.py", "*/forms.py", "*/api/*.py")
    for path in ROOT.glob(pattern)
)


@pytest.mark.parametrize("path", THIN_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_thin_layers_do_not_write(path: Path) -> None:
    offending = [f"{path.name}:{number}: {line.strip()}"
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if WRITE.search(line)]
    assert offending == [], "call a service instead:\n" + "\n".join(offending)
