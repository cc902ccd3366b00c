"""Benchmark harness: ``python -m bench`` (``make bench``).

Seeds a separate database with ``seed_demo`` and times each scenario's ORM
path (scoping, select_related, model instances) against a hand-written raw SQL
query returning the same rows on the same connection; DESIGN.md "Speed".
Scenarios live in ``bench.scenarios``; each capability adds its own there.
"""
