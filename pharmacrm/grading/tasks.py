"""Background jobs of grading: the nightly run and runs started from the page."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from pharmacrm.grading import services
from pharmacrm.grading.choices import RunKind
from pharmacrm.grading.models import GradingRun


@db_periodic_task(crontab(minute="30", hour="2"))
def nightly_grading() -> None:
    """Every night (China time): recompute every customer's classes with the rules in force today."""
    with services.computing():  # held from the opening of the run, so it is never taken for dead
        services.execute(services.start_run(actor=None, kind=RunKind.NIGHTLY))


@db_task()
def run_grading(run_id: int) -> None:
    services.execute(GradingRun.objects.get(pk=run_id))
