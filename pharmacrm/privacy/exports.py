"""The gate every export of persons passes (PIPL Art.6 minimisation, GB/T 35273 §7.1).

A list whose rows name doctors or pharmacists declares the path from a row to the person
(``ScopedListView.export_persons``); its CSV export then comes here: the persons it holds are
counted, more than ``privacy.bulk_export_threshold`` need the DPO's approval of this very list and
query, and each export is written to the personal-data access log with its approver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pharmacrm.privacy.models import AccessPurpose
from pharmacrm.privacy.services import ExportNeedsApproval, export_allowance, log_access, mark_export_used


def export_query(request: HttpRequest) -> str:
    """The list's filters as an approval names them: every parameter but ``format``, sorted, encoded."""
    return urlencode(sorted((key, value) for key, value in request.GET.items() if key != "format"))


def export_of_persons(request: HttpRequest, person_ids: Iterable[int | None],
                      respond: Callable[[], HttpResponse]) -> HttpResponse:
    """``respond()`` when the export may run — logged, and the approval used up — else the refusal (403)."""
    ids = sorted({int(pk) for pk in person_ids if pk is not None})
    try:
        approval = export_allowance(actor=request.user, list_name=request.path, query=export_query(request),
                                    count=len(ids))
    except ExportNeedsApproval as refusal:
        return render(request, "privacy/export_refused.html", {"refusal": refusal}, status=403)
    with transaction.atomic():
        response = respond()
        log_access(request.user, ids, AccessPurpose.EXPORT, path=request.get_full_path(),
                   approved_by=approval.approved_by if approval else None,
                   detail=f"bulk export {approval.pk}" if approval else "")
        if approval is not None:
            mark_export_used(approval)
    return response
