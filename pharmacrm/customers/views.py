"""Customer pages: thin views over the generic scoped views and the services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.forms import add_service_errors
from pharmacrm.core.generic import ScopedDetailView, ScopedListView, get_visible_or_404
from pharmacrm.core.models import StoredFile
from pharmacrm.core.uploads import store_upload
from pharmacrm.customers import qualification, services, stewardship, timeline
from pharmacrm.customers.choices import ReviewStatus
from pharmacrm.customers.filters import ChangeRequestFilter, ContactFilter, InstitutionFilter, LicenceFilter
from pharmacrm.customers.forms import (
    ConsentForm,
    ContactForm,
    InstitutionForm,
    LicenceForm,
    MergeForm,
    ReasonForm,
    ReviewForm,
    WithdrawForm,
)
from pharmacrm.customers.models import ChangeRequest, Consent, Contact, Institution, Licence
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import can_see_unmasked_personal_data
from pharmacrm.privacy.models import AccessPurpose
from pharmacrm.privacy.services import log_access

SERVICE_ERRORS = (StaleVersion, ValidationError)


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "403.html", status=403)


def _form_response(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, context, status=400 if context["form"].errors else 200)


# --- institutions -------------------------------------------------------------------------------


class InstitutionListView(ScopedListView):
    model = Institution
    permission_required = "customers.view_institution"
    template_name = "customers/institution_list.html"
    filterset_class = InstitutionFilter
    select_related = ("division", "owner")
    sort_options = {
        "-id": ("-id",),
        "name": ("name", "id"),
        "-updated_at": ("-updated_at", "-id"),
    }
    export_permission = "customers.export_institution"
    export_name = "institutions"
    export_select_related = ("team", "academic_owner")
    export_columns = (
        (_l("ID"), "pk"), (_l("Customer code"), "code"), (_l("Name"), "name"), (_l("Short name"), "short_name"),
        (_l("USCC"), "uscc"), (_l("Type"), "get_kind_display"), (_l("Hospital grade"), "get_hospital_grade_display"),
        (_l("Status"), "get_status_display"), (_l("Qualification"), "get_qualification_status_display"),
        (_l("Qualified until"), "qualification_until"), (_l("Division code"), "division_id"),
        (_l("District"), "division.name"), (_l("Address"), "address"), (_l("Phone"), "phone"),
        (_l("Legal representative"), "legal_representative"), (_l("Beds"), "bed_count"),
        (_l("First cooperation"), "first_cooperation_date"), (_l("Owner rep"), "owner.get_full_name"),
        (_l("Academic rep"), "academic_owner.get_full_name"), (_l("Team"), "team.name"), (_l("Updated"), "updated_at"),
    )

    def get_queryset(self) -> Any:
        return super().get_queryset().live()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_create"] = self.request.user.has_perm("customers.add_institution")
        return context


class InstitutionDetailView(ScopedDetailView):
    """The customer 360 page: header, overview, contacts, licences, hierarchy, timeline, history."""

    model = Institution
    permission_required = "customers.view_institution"
    template_name = "customers/institution_detail.html"

    def get_object(self) -> Any:
        if not hasattr(self, "_object"):
            self._object = get_visible_or_404(
                Institution.objects.select_related("division__parent__parent", "owner", "academic_owner", "team",
                                                   "parent", "merged_into"), self.request.user, pk=self.kwargs["pk"])
        return self._object

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        institution, user = context["object"], self.request.user
        context.update(
            contacts=Contact.objects.visible_to(user).working_at(institution).order_by("-is_key_contact", "name")[:100],
            licences=Licence.objects.visible_to(user).filter(institution=institution).select_related("scan"),
            qualification=qualification.evaluate(institution),
            children=Institution.objects.visible_to(user).live().filter(parent=institution).order_by("name")[:100],
            files=StoredFile.objects.visible_to(user).filter(content_type__model="institution",
                                                            object_id=str(institution.pk)),
            timeline=timeline.items_for(institution, user),
            module_actions=timeline.actions_for(institution, user) if not institution.merged_into_id else [],
            tags=list(institution.tags.values_list("name", flat=True)),
            change_requests=ChangeRequest.objects.visible_to(user).filter(institution=institution,
                                                                          status=ReviewStatus.PENDING),
            review_approval=(stewardship.pending_review_approval(institution)
                             if institution.review_status != ReviewStatus.APPROVED else None),
            can_edit=user.has_perm("customers.change_institution") and not institution.merged_into_id,
            can_add_contact=user.has_perm("customers.add_contact"),
            is_steward=services.is_steward(user),
            merge_form=MergeForm() if services.is_steward(user) else None,
        )
        return context


def _save_institution(request: HttpRequest, form: InstitutionForm, institution: Institution | None) -> Any:
    """Run the create or update service with the form's data; errors land on the form."""
    data = form.service_fields()
    extra = {"uscc_override_reason": form.cleaned_data.get("uscc_override_reason", ""),
             "uscc_override_scan": form.cleaned_data.get("uscc_override_scan")}
    try:
        with transaction.atomic():
            if institution is None:
                saved = services.create_institution(actor=request.user, tags=form.cleaned_data.get("tags") or [],
                                                    acknowledge_duplicates=form.cleaned_data.get(
                                                        "acknowledge_duplicates", False), **data, **extra)
            else:
                saved = services.update_institution(actor=request.user, institution=institution, changes=data,
                                                    expected_version=form.cleaned_data.get("version"),
                                                    reason=form.cleaned_data.get("reason", ""), **extra)
                services.set_tags(actor=request.user, institution=saved, names=form.cleaned_data.get("tags") or [])
    except services.DuplicateWarning as exc:
        add_service_errors(form, exc)
        form.duplicates = exc.candidates
        return None
    except SERVICE_ERRORS as exc:
        add_service_errors(form, exc)
        return None
    return saved


@login_required
def institution_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("customers.add_institution"):
        return _forbidden(request)
    form = InstitutionForm(request.POST or None, request.FILES or None, user=request.user, creating=True)
    if request.method == "POST" and form.is_valid():
        saved = _save_institution(request, form, None)
        if saved is not None:
            if saved.review_status == ReviewStatus.PENDING:
                messages.success(request, _("Saved. The data steward reviews new customers before they count as "
                                            "approved."))
            else:
                messages.success(request, _("Saved."))
            return redirect(saved.get_absolute_url())
    return _form_response(request, "customers/institution_form.html", {"form": form, "object": None})


@login_required
def institution_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit form; the service applies it with optimistic locking (and turns locked fields into a request)."""
    institution = get_visible_or_404(Institution, request.user, pk=pk)
    if not request.user.has_perm("customers.change_institution"):
        return _forbidden(request)
    # the form validates a copy: the service compares against the record as it was
    form = InstitutionForm(request.POST or None, request.FILES or None, user=request.user, creating=False,
                           instance=Institution.objects.get(pk=pk), initial={"version": institution.version})
    if request.method == "POST" and form.is_valid():
        saved = _save_institution(request, form, institution)
        if saved is not None:
            change_request = getattr(saved, "pending_change_request", None)
            if change_request is not None:
                messages.info(request, _("Saved. Your change to locked details was sent to the data steward as "
                                         "change request no. %(id)s.") % {"id": change_request.pk})
            else:
                messages.success(request, _("Saved."))
            return redirect(saved.get_absolute_url())
    return _form_response(request, "customers/institution_form.html", {"form": form, "object": institution})


@login_required
@require_POST
def institution_merge(request: HttpRequest, pk: int) -> HttpResponse:
    duplicate = get_visible_or_404(Institution, request.user, pk=pk)
    if not services.is_steward(request.user):
        return _forbidden(request)
    form = MergeForm(request.POST)
    if form.is_valid():
        survivor = Institution.objects.visible_to(request.user).filter(pk=form.cleaned_data["survivor_id"]).first()
        if survivor is None:
            form.add_error("survivor_id", _("There is no institution with this number."))
        else:
            try:
                stewardship.merge(actor=request.user, survivor=survivor, duplicate=duplicate,
                                  reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Merged. Everything linked to %(dup)s now belongs to %(survivor)s.")
                                 % {"dup": duplicate.name, "survivor": survivor.name})
                return redirect(survivor.get_absolute_url())
    return _form_response(request, "customers/merge_form.html", {"form": form, "object": duplicate})


@login_required
@require_POST
def institution_unmerge(request: HttpRequest, pk: int) -> HttpResponse:
    duplicate = get_visible_or_404(Institution, request.user, pk=pk)
    if not services.is_steward(request.user):
        return _forbidden(request)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            stewardship.unmerge(actor=request.user, duplicate=duplicate, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Merge undone."))
            return redirect(duplicate.get_absolute_url())
    messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    return redirect(duplicate.get_absolute_url())


# --- licences --------------------------------------------------------------------------------------


class LicenceListView(ScopedListView):
    """The steward's licence queue: pending reviews and what expires soon."""

    model = Licence
    permission_required = "customers.view_licence"
    template_name = "customers/licence_list.html"
    filterset_class = LicenceFilter
    select_related = ("institution",)
    sort_options = {"valid_to": ("valid_to", "id"), "-id": ("-id",)}
    sort_labels = {"valid_to": _l("Expiring first")}


class LicenceDetailView(ScopedDetailView):
    model = Licence
    permission_required = "customers.view_licence"
    template_name = "customers/licence_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.request.user.has_perm("customers.review_licence"):
            context["review_form"] = ReviewForm()
        return context


@login_required
def licence_add(request: HttpRequest, pk: int) -> HttpResponse:
    institution = get_visible_or_404(Institution, request.user, pk=pk)
    if not request.user.has_perm("customers.change_institution"):
        return _forbidden(request)
    form = LicenceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        fields = {key: value for key, value in form.cleaned_data.items() if key not in ("version", "scan_file")}
        try:
            with transaction.atomic():
                licence = qualification.add_licence(actor=request.user, institution=institution, **fields)
                if form.cleaned_data.get("scan_file"):
                    scan = store_upload(actor=request.user, upload=form.cleaned_data["scan_file"],
                                        attach_to=institution, description=str(licence))
                    qualification.update_licence(actor=request.user, licence=licence, changes={"scan": scan})
        except SERVICE_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Licence added; the data steward reviews it."))
            return redirect(institution.get_absolute_url() + "#tab-licences")
    return _form_response(request, "customers/licence_form.html", {"form": form, "institution": institution})


@login_required
@require_POST
def licence_review(request: HttpRequest, pk: int) -> HttpResponse:
    licence = get_visible_or_404(Licence, request.user, pk=pk)
    if not request.user.has_perm("customers.review_licence"):
        return _forbidden(request)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            qualification.review_licence(actor=request.user, licence=licence,
                                         approve=form.cleaned_data["decision"] == "approve",
                                         comment=form.cleaned_data["comment"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Review saved."))
            return redirect(licence.get_absolute_url())
    return render(request, "customers/licence_detail.html", {"object": licence, "review_form": form}, status=400)


# --- change requests -------------------------------------------------------------------------


class ChangeRequestListView(ScopedListView):
    model = ChangeRequest
    permission_required = "customers.view_changerequest"
    template_name = "customers/changerequest_list.html"
    filterset_class = ChangeRequestFilter
    select_related = ("institution", "requested_by")
    sort_options = {"due_on": ("due_on", "id"), "-id": ("-id",)}
    sort_labels = {"due_on": _l("Due first")}


class ChangeRequestDetailView(ScopedDetailView):
    model = ChangeRequest
    permission_required = "customers.view_changerequest"
    template_name = "customers/changerequest_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if services.is_steward(self.request.user) and context["object"].status == ReviewStatus.PENDING:
            context["review_form"] = ReviewForm()
        return context


@login_required
@require_POST
def changerequest_decide(request: HttpRequest, pk: int) -> HttpResponse:
    change_request = get_visible_or_404(ChangeRequest, request.user, pk=pk)
    if not services.is_steward(request.user):
        return _forbidden(request)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            stewardship.decide_change(actor=request.user, change_request=change_request,
                                      approve=form.cleaned_data["decision"] == "approve",
                                      comment=form.cleaned_data["comment"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Decision saved."))
            return redirect(change_request.get_absolute_url())
    return render(request, "customers/changerequest_detail.html", {"object": change_request, "review_form": form},
                  status=400)


# --- contacts ----------------------------------------------------------------------------------

class ContactListView(ScopedListView):
    model = Contact
    permission_required = "customers.view_contact"
    template_name = "customers/contact_list.html"
    filterset_class = ContactFilter
    select_related = ("institution",)
    sort_options = {"-id": ("-id",), "name": ("name", "id")}
    export_permission = "customers.export_institution"
    export_name = "contacts"
    export_persons = "pk"

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if self.request.GET.get("format") == "csv" and self._for_marketing():
            # a marketing list never holds a person who withdrew consent (PIPL Art.15)
            queryset = queryset.filter(consent_withdrawn=False)
        return queryset

    def _for_marketing(self) -> bool:
        return self.request.GET.get("purpose") == "marketing" or self.request.user.role == Role.MARKETING

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        log_access(self.request.user, context["rows"], AccessPurpose.LIST, path=self.request.get_full_path())
        return context

    @property
    def export_columns(self) -> tuple[Any, ...]:  # type: ignore[override]
        """Personal data leaves the system unmasked only for the roles cleared for it; the rest get masks."""
        unmasked = can_see_unmasked_personal_data(self.request.user)
        phone = "mobile" if unmasked else "masked_mobile"
        return ((_l("ID"), "pk"), (_l("Name"), "name"), (_l("Institution"), "institution.name"),
                (_l("Department"), "department"), (_l("Title"), "get_title_display"),
                (_l("Role in decisions"), "get_decision_role_display"), (_l("Key contact"), "is_key_contact"),
                (_l("Mobile"), phone), (_l("Consent withdrawn"), "consent_withdrawn"))


class ContactDetailView(ScopedDetailView):
    model = Contact
    permission_required = "customers.view_contact"
    template_name = "customers/contact_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        contact, user = context["object"], self.request.user
        log_access(user, [contact], AccessPurpose.VIEW, path=self.request.path)
        context.update(
            personal=services.masked_personal_data(contact),
            can_reveal=user.has_perm("customers.view_contact_personal_data"),
            can_edit=user.has_perm("customers.change_contact"),
            consents=contact.consents.all(),
            affiliations=contact.affiliations.select_related("institution"),
            consent_form=ConsentForm(), withdraw_form=WithdrawForm(),
            timeline=timeline.contact_items_for(contact, user),
        )
        return context


@login_required
@require_POST
def contact_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one contact's personal data to a user entitled to it; every reveal is an audit entry."""
    contact = get_visible_or_404(Contact, request.user, pk=pk)
    personal = services.reveal_personal_data(actor=request.user, contact=contact)
    return render(request, "customers/_personal_data.html", {"object": contact,
                                                             "personal": personal,
                                                             "revealed": True})


@login_required
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    institution = get_visible_or_404(Institution, request.user, pk=pk)
    if not request.user.has_perm("customers.add_contact"):
        return _forbidden(request)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {key: value for key, value in form.cleaned_data.items() if key != "version"}
        try:
            contact = services.create_contact(actor=request.user, institution=institution, **fields)
        except SERVICE_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(contact.get_absolute_url())
    return _form_response(request, "customers/contact_form.html", {"form": form, "institution": institution,
                                                                  "object": None})


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_visible_or_404(Contact, request.user, pk=pk)
    if not request.user.has_perm("customers.change_contact"):
        return _forbidden(request)
    if not request.user.has_perm("customers.view_contact_personal_data"):
        return _forbidden(request)  # the form shows personal data in clear
    form = ContactForm(request.POST or None, instance=Contact.objects.get(pk=pk),
                       initial={"version": contact.version})
    if request.method == "POST" and form.is_valid():
        fields = {key: value for key, value in form.cleaned_data.items() if key not in ("version",
                                                                                       "sensitive_consent")}
        try:
            services.update_contact(actor=request.user, contact=contact, changes=fields,
                                    expected_version=form.cleaned_data.get("version"),
                                    sensitive_consent=form.cleaned_data.get("sensitive_consent", ""))
        except SERVICE_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(contact.get_absolute_url())
    elif request.method == "GET":  # the edit form shows the personal data in clear: a reveal
        services.reveal_personal_data(actor=request.user, contact=contact, purpose="edit")
    return _form_response(request, "customers/contact_form.html", {"form": form, "institution": contact.institution,
                                                                  "object": contact})


@login_required
@require_POST
def consent_add(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_visible_or_404(Contact, request.user, pk=pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            services.record_consent(actor=request.user, contact=contact, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Consent recorded."))
    else:
        messages.error(request, "; ".join(f"{form.fields[name].label}: {' '.join(errors)}"
                                          for name, errors in form.errors.items() if name in form.fields))
    return redirect(contact.get_absolute_url() + "#tab-consents")


@login_required
@require_POST
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    consent = get_visible_or_404(Consent, request.user, pk=pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.withdraw_consent(actor=request.user, consent=consent,
                                      withdrawn_on=form.cleaned_data["withdrawn_on"], note=form.cleaned_data["note"])
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Consent withdrawn."))
    else:
        messages.error(request, _("Enter the date the consent was withdrawn."))
    return redirect(consent.contact.get_absolute_url() + "#tab-consents")
