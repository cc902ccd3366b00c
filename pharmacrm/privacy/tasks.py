"""Nightly privacy jobs: the access log's retention and the personal-data retention purge (idempotent)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="40", hour="2"))
def purge_access_log() -> None:
    from pharmacrm.privacy import services

    services.purge_access_log()


@db_periodic_task(crontab(minute="50", hour="2"))
def purge_inactive_contacts() -> None:
    from pharmacrm.privacy import services

    services.purge_inactive_contacts()
