"""Saved filters on list pages: save the current query under a name, delete one (core.saved_filters).

Both answer with a redirect to the list page, built with ``reverse()`` from the
list's URL name; a refused save shows a small form with the errors (status 400).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from pharmacrm.core import saved_filters
from pharmacrm.core.forms import StyledFormMixin, add_service_errors
from pharmacrm.core.generic import get_visible_or_404
from pharmacrm.core.models import SavedFilter

NAME_MAX_LENGTH = SavedFilter._meta.get_field("name").max_length
QUERY_MAX_LENGTH = SavedFilter._meta.get_field("querystring").max_length


class SavedFilterForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=NAME_MAX_LENGTH)
    list_name = forms.CharField(max_length=SavedFilter._meta.get_field("list_name").max_length,
                                widget=forms.HiddenInput)
    querystring = forms.CharField(max_length=QUERY_MAX_LENGTH, required=False, widget=forms.HiddenInput)
    overwrite = forms.BooleanField(label=gettext_lazy("Replace my saved filter with this name"), required=False)


def _back_url(request: HttpRequest, list_name: str, querystring: str) -> str:
    """The list the user came from, if ``list_name`` names one they may open; else the home page."""
    try:
        saved_filters.list_path(list_name, request.user)
        return saved_filters.list_url(list_name, querystring)
    except ValidationError:
        return reverse("core:home")


@login_required
@require_POST
def saved_filter_create(request: HttpRequest) -> HttpResponse:
    form = SavedFilterForm(request.POST)
    offer_overwrite = False
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = saved_filters.create_saved_filter(
                actor=request.user, list_name=data["list_name"], name=data["name"],
                querystring=data["querystring"], overwrite=data["overwrite"])
        except ValidationError as exc:
            add_service_errors(form, exc)
            offer_overwrite = saved_filters.is_duplicate_name(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(saved_filters.list_url(saved.list_name, saved.querystring))
    context: dict[str, Any] = {
        "form": form, "offer_overwrite": offer_overwrite,
        "back_url": _back_url(request, request.POST.get("list_name", ""), request.POST.get("querystring", "")),
    }
    return render(request, "core/savedfilter_form.html", context, status=400)


@login_required
@require_POST
def saved_filter_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of the user's saved filters (someone else's is a 404) and go back to its list."""
    saved = get_visible_or_404(SavedFilter, request.user, pk=pk)
    saved_filters.delete_saved_filter(actor=request.user, saved_filter=saved)
    messages.success(request, _("Deleted."))
    try:
        querystring = saved_filters.normalize_querystring(request.POST.get("querystring", "")[:QUERY_MAX_LENGTH])
    except ValidationError:
        querystring = ""
    return redirect(saved_filters.list_url(saved.list_name, querystring))
