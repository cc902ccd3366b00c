"""Institution and contact pages: thin views over the generic scoped views and the services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.forms import add_service_errors
from pharmacrm.core.generic import ScopedDetailView, ScopedListView, get_visible_or_404
from pharmacrm.core.models import StoredFile
from pharmacrm.customers import services
from pharmacrm.customers.filters import ContactFilter, InstitutionFilter
from pharmacrm.customers.forms import InstitutionForm
from pharmacrm.customers.models import Contact, Institution


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
    export_select_related = ("team",)
    export_columns = (
        (_l("ID"), "pk"), (_l("Name"), "name"), (_l("Short name"), "short_name"), (_l("Type"), "get_kind_display"),
        (_l("Hospital grade"), "get_hospital_grade_display"), (_l("Status"), "get_status_display"),
        (_l("Division code"), "division_id"), (_l("District"), "division.name"), (_l("Address"), "address"),
        (_l("Phone"), "phone"), (_l("Owner rep"), "owner.get_full_name"), (_l("Team"), "team.name"),
        (_l("Updated"), "updated_at"),
    )


class InstitutionDetailView(ScopedDetailView):
    model = Institution
    permission_required = "customers.view_institution"
    template_name = "customers/institution_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        institution = self.object if hasattr(self, "object") else context["object"]
        context["contacts"] = Contact.objects.visible_to(self.request.user).filter(institution=institution)[:50]
        context["files"] = StoredFile.objects.visible_to(self.request.user).filter(
            content_type__model="institution", object_id=str(institution.pk))
        context["can_edit"] = self.request.user.has_perm("customers.change_institution")
        return context


def institution_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit form; the service applies it with optimistic locking."""
    if not request.user.is_authenticated:
        return redirect("org:login")
    institution = get_visible_or_404(Institution, request.user, pk=pk)
    if not request.user.has_perm("customers.change_institution"):
        return render(request, "403.html", status=403)
    form = InstitutionForm(request.POST or None, instance=institution, initial={"version": institution.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_institution(actor=request.user, institution=institution, changes=form.cleaned_data,
                                        expected_version=form.cleaned_data.get("version"))
        except (StaleVersion, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(institution.get_absolute_url())
    return render(request, "customers/institution_form.html", {"form": form, "object": institution},
                  status=400 if form.errors else 200)


class ContactListView(ScopedListView):
    model = Contact
    permission_required = "customers.view_contact"
    template_name = "customers/contact_list.html"
    filterset_class = ContactFilter
    select_related = ("institution",)
    sort_options = {"-id": ("-id",), "name": ("name", "id")}


class ContactDetailView(ScopedDetailView):
    model = Contact
    permission_required = "customers.view_contact"
    template_name = "customers/contact_detail.html"
