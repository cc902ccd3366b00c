"""What other modules may follow on the service desk: ``case_closed(case=…)`` after a case is closed (in its
transaction) — the satisfaction survey listens to it."""

from django.dispatch import Signal

case_closed = Signal()
