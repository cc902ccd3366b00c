"""Every model of ours is scoped and guarded, or is on a short, reasoned list of system tables."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command

from pharmacrm.core.querysets import AuditedQuerySet, is_scoped

OUR_APPS = {"core", "org", "customers"}

#: system tables with no user-facing reads through the generic views/API
SYSTEM_MODELS = {
    "core.auditchainhead": "the chain tip; only core.audit touches it",
    "core.workerheartbeat": "worker liveness for /healthz; no business data",
}

#: models whose writes cannot go through the bulk guard, with the reason
UNGUARDED_MODELS = {
    "core.auditentry": "append-only: its queryset refuses update/delete outright and a DB trigger backs that up",
}


def our_models() -> list[type]:
    return [model for model in apps.get_models() if model._meta.app_label in OUR_APPS]


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label_lower)
def test_model_is_scoped_or_a_listed_system_table(model: type) -> None:
    label = model._meta.label_lower
    assert is_scoped(model) or label in SYSTEM_MODELS, f"{label} has no visible_to(user)"


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label_lower)
def test_model_bulk_writes_are_guarded(model: type) -> None:
    label = model._meta.label_lower
    queryset = model._default_manager.get_queryset()
    assert isinstance(queryset, AuditedQuerySet) or label in UNGUARDED_MODELS, (
        f"{label}: bulk update()/delete() would bypass the audit trail"
    )


def test_visible_to_is_refused_for_unscoped_models() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from pharmacrm.core.generic import scoped_queryset
    from pharmacrm.core.models import AuditChainHead

    with pytest.raises(ImproperlyConfigured):
        scoped_queryset(AuditChainHead, None)


@pytest.mark.django_db
def test_migrations_are_complete() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
