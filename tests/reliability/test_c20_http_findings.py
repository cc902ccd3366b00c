"""RELIABILITY.md #20 (HTTP part) — what ``make soak``'s schemathesis run against gunicorn found, kept fixed.

Pass: a list asked for an absurd page (``?page=735651811728052765851648``, as the fuzzer sent) answers 200
with no rows instead of a 500 (the OFFSET overflowed SQLite's 64-bit integer: "datatype mismatch" /
OverflowError). Without the cap (``MAX_PAGE_NUMBER`` lifted) the same request fails, so the test can tell.
Guards ASVS 16.5.1 (no server errors), 2.2.1 (input validation).
"""

from __future__ import annotations

from typing import Any

import pytest

from pharmacrm.core import generic
from pharmacrm.sales.tests.test_orders import _draft, shop  # noqa: F401 - shop is a fixture

pytestmark = pytest.mark.django_db

HUGE = "735651811728052765851648"


@pytest.mark.parametrize("path", ["/api/v1/customers/", "/api/v1/change-requests/", "/api/v1/samples/movements/"])
def test_an_absurd_page_is_an_empty_page(api_client: Any, org: dict[str, Any], path: str) -> None:
    api_client.force_authenticate(org["leader"])
    response = api_client.get(path, {"page": HUGE, "page_size": 73})
    assert response.status_code == 200 and response.json()["results"] == []


def test_control_without_the_cap_the_database_refuses(api_client: Any, org: dict[str, Any], monkeypatch: Any) -> None:
    monkeypatch.setattr(generic, "MAX_PAGE_NUMBER", 10**30)
    api_client.force_authenticate(org["leader"])
    api_client.raise_request_exception = True
    with pytest.raises(Exception):  # SQLite: OverflowError or IntegrityError; PostgreSQL: DataError
        api_client.get("/api/v1/customers/", {"page": HUGE})


def test_an_id_filter_beyond_64_bits_matches_nothing(api_client: Any, org: dict[str, Any]) -> None:
    """The fuzzer's ``/api/v1/orders/?institution=-1.7976931348623155e+308`` (SQLite: OverflowError → 500)."""
    api_client.force_authenticate(org["leader"])
    response = api_client.get("/api/v1/orders/", {"institution": "-1.7976931348623155e+308"})
    assert response.status_code in (200, 400)
    assert response.status_code == 400 or response.json()["results"] == []


@pytest.mark.parametrize("shipment", [-(2**70), 2**70, 0])
def test_an_invoice_naming_an_impossible_shipment_id_is_a_field_error(api_client: Any, org: dict[str, Any],
                                                                      shop: dict[str, Any], shipment: int) -> None:  # noqa: F811
    """The fuzzer's invoice with ``shipments: [-2**70]`` (SQLite: OverflowError → 500) is a 400 on its field."""
    order = _draft(org, shop)
    api_client.force_authenticate(org["admin"])
    response = api_client.post(f"/api/v1/orders/{order.pk}/invoice/", {
        "number": "1", "issued_on": "2026-01-01", "amount_fen": 1, "kind": "special", "shipments": [shipment]},
        format="json")
    assert response.status_code == 400 and "shipments" in response.json()["error"]["fields"]
