"""The DPO's pages: data-subject requests, the personal-data access log, bulk-export approvals."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pharmacrm.core.forms import add_service_errors
from pharmacrm.core.generic import SORT_LABELS, ScopedDetailView, ScopedListView, get_visible_or_404
from pharmacrm.customers.models import Contact
from pharmacrm.privacy import services
from pharmacrm.privacy.filters import AccessFilter, SubjectRequestFilter
from pharmacrm.privacy.forms import CompleteForm, ExportRequestForm, SubjectRequestForm
from pharmacrm.privacy.models import BulkExport, PersonalDataAccess, SubjectRequest


class SubjectRequestListView(ScopedListView):
    model = SubjectRequest
    permission_required = "privacy.view_subjectrequest"
    template_name = "privacy/request_list.html"
    filterset_class = SubjectRequestFilter
    select_related = ("contact", "handled_by")
    sort_options = {"due": ("status", "due_on", "id"), "-id": ("-id",)}
    sort_labels = {"due": _("Due first")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"] = SubjectRequestForm()
        return context


class SubjectRequestDetailView(ScopedDetailView):
    model = SubjectRequest
    permission_required = "privacy.view_subjectrequest"
    template_name = "privacy/request_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["complete_form"] = CompleteForm()
        return context


@login_required
@require_POST
def request_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("privacy.add_subjectrequest"):
        raise PermissionDenied
    form = SubjectRequestForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        contact = Contact.objects.visible_to(request.user).filter(pk=data["contact"]).first()
        if contact is None:
            form.add_error("contact", _("No such contact."))
        else:
            corrections = ({data["correction_field"]: data["correction_value"]} if data["correction_field"] else {})
            try:
                created = services.open_request(actor=request.user, kind=data["kind"], contact=contact,
                                                received_on=data["received_on"], channel=data["channel"],
                                                details=data["details"], corrections=corrections)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Request registered; answer by %(day)s.") % {"day": created.due_on})
                return redirect(created.get_absolute_url())
    return render(request, "privacy/request_form.html", {"form": form}, status=400)


@login_required
@require_POST
def request_complete(request: HttpRequest, pk: int) -> HttpResponse:
    subject_request = get_visible_or_404(SubjectRequest, request.user, pk=pk)
    form = CompleteForm(request.POST)
    if form.is_valid():
        try:
            subject_request, copy = services.complete_request(
                actor=request.user, subject_request=subject_request, outcome=form.cleaned_data["outcome"],
                refuse=form.cleaned_data["refuse"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if copy is not None:
                response = HttpResponse(json.dumps(copy, ensure_ascii=False, indent=2),
                                        content_type="application/json; charset=utf-8")
                response["Content-Disposition"] = content_disposition_header(True, f"{subject_request}.json")
                return response
            messages.success(request, _("Request closed."))
            return redirect(subject_request.get_absolute_url())
    return render(request, "privacy/request_detail.html", {"object": subject_request, "complete_form": form},
                  status=400)


class AccessLogView(ScopedListView):
    model = PersonalDataAccess
    permission_required = "privacy.view_personaldataaccess"
    template_name = "privacy/access_list.html"
    filterset_class = AccessFilter
    select_related = ("approved_by",)
    sort_options = {"-at": ("-at", "-id"), "at": ("at", "id")}
    sort_labels = {"-at": SORT_LABELS["-id"], "at": SORT_LABELS["id"]}
    page_size = 50


class BulkExportDetailView(ScopedDetailView):
    model = BulkExport
    template_name = "privacy/export_detail.html"


@login_required
def export_request(request: HttpRequest) -> HttpResponse:
    """Ask the DPO to approve an export of more persons than the policy allows."""
    form = ExportRequestForm(request.POST or None, initial={
        "list": request.GET.get("list", ""), "query": request.GET.get("query", ""),
        "count": request.GET.get("count", "")})
    if request.method == "POST" and form.is_valid():
        try:
            bulk_export = services.request_export(
                actor=request.user, list_name=form.cleaned_data["list"], query=form.cleaned_data["query"],
                count=form.cleaned_data["count"], purpose=form.cleaned_data["purpose"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Approval requested from the personal-information protection officer."))
            return redirect(bulk_export.get_absolute_url())
    return render(request, "privacy/export_request.html", {"form": form,
                                                           "count": request.GET.get("count", "")},
                  status=400 if form.is_bound and form.errors else 200)
