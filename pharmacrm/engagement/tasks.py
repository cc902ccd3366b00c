"""Background jobs of engagement. Tasks call one service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from pharmacrm.engagement import cadence, care, triggers


@db_periodic_task(crontab(minute="30", hour="3"))
def special_visits() -> None:
    """Every morning (China time), after the nightly grading: plan the visits events call for."""
    triggers.raise_special_visits()


@db_periodic_task(crontab(minute="40", hour="7"))
def care_reminders() -> None:
    """Every morning (China time): birthdays, festivals and anniversaries a few days ahead, to each rep."""
    care.send_reminders()


@db_periodic_task(crontab(minute="45", hour="3"))
def cadence_all() -> None:
    """Every morning (China time), after the nightly grading: every customer's cadence, for head office views."""
    cadence.compute_all()
