"""Background jobs of the service desk. Tasks call one service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from pharmacrm.service import clocks


@db_periodic_task(crontab(minute="*/15"))
def check_clocks() -> None:
    """Every quarter of an hour: warn before deadlines, breach and escalate missed ones."""
    clocks.check()


@db_periodic_task(crontab(day_of_week="1", hour="6", minute="30"))
def retention_review() -> None:
    """Every Monday: list the cases past their retention date for quality assurance (deletes nothing)."""
    from pharmacrm.service import retention

    retention.review()
