"""#22 lost update, #24 SQLite write contention, #25 PostgreSQL retries: many processes, one hot row.

Every run goes through the service layer (``sales.orders.adjust_credit_limit``, ``samples.services.adjust_stock``,
``engagement.services.log_communication``). Each check also runs a control that the guard would have caught —
a read-modify-write outside the lock, DEFERRED transactions, no retry — and fails if the control shows nothing,
since then the check could not tell a broken system from a sound one.
"""

from __future__ import annotations

from soak.core import Check, Context, Verdict, merge_errors, run_parallel

PROCESSES = 8


def lost_update(context: Context) -> Verdict:
    """#22: 8 × 150 credit-limit raises and 8 × 150 stock receipts → final == committed (0 lost)."""
    env = context.migrated_env("c22", demo=True)
    before = context.worker(env, "read_counters")
    credit = run_parallel(context, env, "increment", PROCESSES, target="credit", mode="service", n=150)
    stock = run_parallel(context, env, "increment", PROCESSES, target="stock", mode="service", n=150)
    middle = context.worker(env, "read_counters")
    credit_committed = sum(r["committed"] for r in credit)
    stock_committed = sum(r["committed"] for r in stock)
    credit_lost = credit_committed - (middle["credit_fen"] - before["credit_fen"])
    stock_lost = stock_committed - (middle["stock"] - before["stock"])
    errors = merge_errors(credit + stock)
    control = run_parallel(context, env, "increment", PROCESSES, target="credit", mode="naive", n=40)
    after = context.worker(env, "read_counters")
    control_committed = sum(r["committed"] for r in control)
    control_lost = control_committed - (after["credit_fen"] - middle["credit_fen"])
    ok = (credit_lost == 0 and stock_lost == 0 and credit_committed == stock_committed == PROCESSES * 150
          and not errors and middle["ledger_mismatches"] == 0 and control_lost > 0)
    return Verdict(ok, f"credit limit {credit_committed} committed, {credit_lost} lost; stock balance "
                       f"{stock_committed} committed, {stock_lost} lost, ledger mismatches {middle['ledger_mismatches']}"
                       f"; errors {errors or 0}; control (read outside the lock) lost {control_lost}/{control_committed}")


def write_contention(context: Context) -> Verdict:
    """#24: 8 × 200 read-then-write transactions on a file database with the production OPTIONS."""
    env = context.migrated_env("c24", demo=True)
    results = run_parallel(context, env, "read_then_write", PROCESSES, n=200)
    locked = sum(r["locked"] for r in results)
    committed = sum(r["committed"] for r in results)
    errors = merge_errors(results)
    control = run_parallel(context, env, "read_then_write", PROCESSES, n=50, transaction_mode="DEFERRED")
    control_locked = sum(r["locked"] for r in control)
    ok = locked == 0 and not errors and committed == PROCESSES * 200 and control_locked > 0
    return Verdict(ok, f"{committed}/{PROCESSES * 200} committed, {locked} 'database is locked', errors {errors or 0}; "
                       f"control (DEFERRED): {control_locked}/{PROCESSES * 50} locked")


def serializable_retries(context: Context) -> Verdict:
    """#25: a hot credit limit under SERIALIZABLE: the retry helper leaves 0 errors for the caller."""
    env = context.migrated_env("c25", demo=True)
    before = context.worker(env, "read_counters")
    results = run_parallel(context, env, "increment", PROCESSES, target="credit", mode="service", n=100,
                           isolation="serializable")
    middle = context.worker(env, "read_counters")
    committed = sum(r["committed"] for r in results)
    errors = merge_errors(results)
    lost = committed - (middle["credit_fen"] - before["credit_fen"])
    control = run_parallel(context, env, "increment", PROCESSES, target="credit", mode="noretry", n=30,
                           isolation="serializable")
    control_errors = merge_errors(control)
    failures = sum(count for key, count in control_errors.items() if "40001" in key or "40P01" in key)
    ok = not errors and committed == PROCESSES * 100 and lost == 0 and failures > 0
    return Verdict(ok, f"{committed}/{PROCESSES * 100} committed under SERIALIZABLE, errors after retries "
                       f"{errors or 0}, {lost} lost; control without retry: {failures}/{PROCESSES * 30} "
                       f"serialization failures")


CHECKS = [
    Check("22", "lost update on a credit limit and a stock balance", lost_update, budget_s=300,
          databases=("sqlite", "postgresql")),
    Check("24", "SQLite write contention", write_contention, budget_s=200),
    Check("25", "PostgreSQL serialization retries", serializable_retries, budget_s=180, databases=("postgresql",)),
]
