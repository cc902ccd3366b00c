"""manage.py prepare: what make run does before serving, each step skipped when it has nothing to do."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from pharmacrm.core.management.commands import prepare


def test_every_app_seeds_after_the_apps_it_builds_on() -> None:
    seeders = prepare.demo_seeders()
    assert seeders[0] == "seed_demo"  # customers, first of the apps with data
    assert {"seed_catalogue", "seed_samples", "seed_grading", "seed_engagement", "seed_content", "seed_service",
            "seed_surveys"} <= set(seeders)
    assert seeders.index("seed_catalogue") < seeders.index("seed_samples") < seeders.index("seed_service")


def test_the_static_hash_follows_the_sources(tmp_path: Path, settings: Any) -> None:
    source = tmp_path / "assets"
    source.mkdir()
    (source / "app.css").write_text("body { color: red }")
    settings.STATICFILES_DIRS = [("extra", source)]
    first = prepare.static_sources_hash()
    assert prepare.static_sources_hash() == first
    (source / "app.css").write_text("body { color: blue }")
    os.utime(source / "app.css", ns=(1, 1))
    assert prepare.static_sources_hash() != first


@pytest.mark.django_db
@pytest.mark.slow  # collects the static files once
def test_a_second_prepare_does_nothing(tmp_path: Path, settings: Any) -> None:
    settings.STATIC_ROOT = tmp_path / "static"
    out = io.StringIO()
    call_command("prepare", stdout=out)
    assert out.getvalue().splitlines() == ["→ database: up to date", "→ collecting and compressing static assets …"]
    assert (tmp_path / "static" / "core" / "app.css").exists()
    out = io.StringIO()
    call_command("prepare", stdout=out)
    assert out.getvalue().splitlines() == ["→ database: up to date", "→ static assets: up to date"]
    assert django_settings.STATIC_ROOT == tmp_path / "static"
