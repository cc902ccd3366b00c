"""Background jobs of grading: the nightly run and runs started from the page."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from pharmacrm.grading import services
from pharmacrm.grading.models import GradingRun


@db_periodic_task(crontab(minute="30", hour="2"))
def nightly_grading() -> None:
    """Every night (China time): recompute every customer's classes with the rules in force today (once a day:
    a second delivery of the job does nothing)."""
    services.nightly_run()


@db_task()
def run_grading(run_id: int) -> None:
    services.execute(GradingRun.objects.get(pk=run_id))
