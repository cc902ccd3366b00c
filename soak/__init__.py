"""`make soak`: the slow half of the reliability battery (docs/validation.md).

Load, fault injection, fuzzing over HTTP, lost-update and write-contention runs
against real PharmaCRM processes on loopback. Each check prints one verdict line;
the run exits non-zero when any check fails. Bounded: every check has a time budget.
"""
