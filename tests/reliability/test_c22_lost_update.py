"""RELIABILITY.md #22 — lost update on money and limits (fast version; ``make soak`` runs 8 × 150 on both databases).

Pass: two writers raising one credit limit through ``sales.orders.adjust_credit_limit`` at once lose nothing
(final == committed), and the first limit of a customer created by two writers at once is one row with both
raises. The control — the new value computed from a read outside the service's lock, as a form or script
would — loses an update, so the check can tell. Guards ASVS 2.3.4, ALCOA "accurate".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections

from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user
from pharmacrm.sales import orders
from pharmacrm.sales.models import CreditLimit

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def finance(org: dict[str, Any]) -> Any:
    return create_user(actor=None, username="finance", full_name="finance", role=Role.FINANCE,
                       team=org["teams"]["company"], email="finance@example.com", password="pharmacrm-demo")


def _together(work: Callable[[int], None], writers: int = 2) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            work(number)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _limit(institution: Any) -> int:
    return CreditLimit.objects.get(institution=institution).limit_fen


def test_concurrent_raises_through_the_service_lose_nothing(org: dict[str, Any], finance: Any) -> None:
    institution = org["institution_east"]
    barrier = threading.Barrier(2)

    def raise_limit(_number: int) -> None:
        barrier.wait()
        for _ in range(15):
            orders.adjust_credit_limit(actor=finance, institution=institution, by_fen=100)

    assert _together(raise_limit) == []  # the first raise of both creates the limit: one row, no error
    assert _limit(institution) == 2 * 15 * 100


def test_control_a_read_outside_the_lock_loses_an_update(org: dict[str, Any], finance: Any) -> None:
    institution = org["institution_east"]
    orders.set_credit_limit(actor=finance, institution=institution, limit_fen=1000)
    both_read = threading.Barrier(2)

    def naive_raise(_number: int) -> None:
        current = CreditLimit.objects.get(institution=institution).limit_fen
        both_read.wait()  # each computes its value before the other writes
        orders.set_credit_limit(actor=finance, institution=institution, limit_fen=current + 100)

    assert _together(naive_raise) == []
    assert _limit(institution) == 1100  # two raises committed, one lost: what the check must notice


def test_adjust_refuses_nonsense(org: dict[str, Any], finance: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        orders.adjust_credit_limit(actor=finance, institution=org["institution_east"], by_fen=0)
    with pytest.raises(ValidationError):
        orders.adjust_credit_limit(actor=finance, institution=org["institution_east"], by_fen=-1)
    assert not CreditLimit.objects.exists()
