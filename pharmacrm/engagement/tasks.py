"""Background jobs of engagement. Tasks call one service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from pharmacrm.engagement import triggers


@db_periodic_task(crontab(minute="30", hour="3"))
def special_visits() -> None:
    """Every morning (China time), after the nightly grading: plan the visits events call for."""
    triggers.raise_special_visits()
