"""Check 5 (personal-data part) — the PI purge job (PIPL Art.19/47, GB/T 35273 §6.1).

Pass criterion: ``privacy.services.purge_inactive_contacts`` (nightly, ``privacy.tasks``) anonymises the
contacts whose personal data is past its retention — no active consent and nothing recorded about them
(calls, visits met, greetings, samples, cases, content, edits) for ``privacy.inactive_contact_years``
(default 3: the longest gap in which a hospital's formulary and tender cycle normally brings a rep back,
so a longer silence means the relationship ended) — and never touches a person with a GxP complaint or
quality case, nor anyone active or consenting; a second run changes nothing.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from tests.reliability.privacy_fixtures import MOBILE

pytestmark = pytest.mark.django_db


def _snapshot(contact: Any) -> tuple[Any, ...]:
    contact.refresh_from_db()
    return contact.name, contact.mobile, contact.anonymised_at


def test_purge_anonymises_only_inactive_non_gxp_persons(org: dict[str, Any]) -> None:
    from pharmacrm.core import policy
    from pharmacrm.customers.services import create_contact, record_consent
    from pharmacrm.engagement.services import log_communication
    from pharmacrm.privacy import services
    from pharmacrm.privacy.policy import INACTIVE_CONTACT_YEARS
    from pharmacrm.service.models import Case
    from pharmacrm.service.services import open_case

    steward, hospital = org["steward"], org["institution_east"]

    def person(name: str) -> Any:
        return create_contact(actor=steward, institution=hospital, name=name, mobile=MOBILE)

    silent, consenting, active, complainant = person("沉默"), person("同意"), person("活跃"), person("投诉人")
    record_consent(actor=steward, contact=consenting, channel="wechat", purpose="academic",
                   granted_on=policy.today(), evidence="表单")
    complaint = open_case(actor=org["rep_east"], institution=hospital, kind="complaint", title="破损",
                          description="外包装破损", contact=complainant)
    years = policy.get(INACTIVE_CONTACT_YEARS.key)
    assert services.inactive_contacts() == []  # nobody is past retention today
    later = timezone.now() + datetime.timedelta(days=365 * years + 30)
    with time_machine.travel(later - datetime.timedelta(days=10), tick=False):
        log_communication(actor=org["rep_east"], institution=hospital, channel="phone", summary="回访",
                          contact=active)
    with time_machine.travel(later, tick=False):
        today = policy.today()
        assert services.inactive_contacts(today) == [silent.pk]
        assert services.purge_inactive_contacts(today) == 1
        assert services.purge_inactive_contacts(today) == 0  # idempotent
    assert _snapshot(silent)[0] == f"anon-{silent.pk}" and _snapshot(silent)[1] == ""
    for kept in (consenting, active, complainant):
        assert _snapshot(kept)[1] == MOBILE and _snapshot(kept)[2] is None
    case = Case.objects.get(pk=complaint.pk)
    assert (case.contact_id, case.description, case.version) == (complainant.pk, "外包装破损", complaint.version)


def test_the_purge_check_notices_a_gxp_person_being_erased(org: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the GxP exclusion the complainant would be anonymised: the assertion above would fail."""
    from pharmacrm.core import policy
    from pharmacrm.customers.services import create_contact
    from pharmacrm.privacy import services
    from pharmacrm.service.services import open_case

    complainant = create_contact(actor=org["steward"], institution=org["institution_east"], name="投诉人",
                                 mobile=MOBILE)
    open_case(actor=org["rep_east"], institution=org["institution_east"], kind="complaint", title="异物",
              description="药片有黑点", contact=complainant)
    monkeypatch.setattr(services, "GXP_CASE_KINDS", ())
    with time_machine.travel(timezone.now() + datetime.timedelta(days=365 * 4), tick=False):
        # received_at of the case counts as activity: move past it too
        assert complainant.pk in services.inactive_contacts(policy.today())
