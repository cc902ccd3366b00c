"""The customer's purchases tab, and the flow-data mapping queue the data stewards work through."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pharmacrm.core.forms import StyledFormMixin, add_service_errors
from pharmacrm.core.generic import ScopedListView, get_visible_or_404
from pharmacrm.core.policy import today
from pharmacrm.customers.models import Institution
from pharmacrm.customers.search import search_institutions
from pharmacrm.sales import flow, purchases
from pharmacrm.sales.choices import MappingKind, MappingStatus
from pharmacrm.sales.filters import FlowMappingFilter
from pharmacrm.sales.models import FlowMapping, FlowPendingRow, Product, month_of


@login_required
def institution_purchases(request: HttpRequest, pk: int) -> HttpResponse:
    """The purchases tab (loaded when opened): 24 months of totals, the last 12 by product, the key figures."""
    if not request.user.has_perm("sales.view_purchase"):
        raise PermissionDenied
    institution = get_visible_or_404(Institution, request.user, pk=pk)
    profile = purchases.profile(institution.pk, until=month_of(today()))
    names = {product.pk: product for product in Product.objects.filter(
        pk__in=[entry["product_id"] for entry in profile.products])}
    recent = profile.months[-12:]
    rows = [{"product": names.get(entry["product_id"]), "quantity": entry["quantity"], "amount_fen": entry["amount_fen"],
             "by_month": [entry["by_month"].get(month, 0) for month in recent]} for entry in profile.products]
    return render(request, "sales/_purchases.html", {
        "institution": institution, "profile": profile, "rows": rows,
        "recent_labels": [purchases.month_label(month)[2:] for month in recent],
        "growth_percent": None if profile.growth is None else round(profile.growth * 100),
    })


# --- the mapping queue ------------------------------------------------------------------------------------


class FlowMappingListView(ScopedListView):
    model = FlowMapping
    permission_required = "sales.view_flowmapping"
    template_name = "sales/flow_mapping_list.html"
    filterset_class = FlowMappingFilter
    select_related = ("institution", "product", "suggestion")
    sort_options = {"waiting": ("status", "-pending_amount_fen", "id"), "-id": ("-id",)}
    sort_labels = {"waiting": gettext_lazy("Amount waiting")}


class ResolveForm(StyledFormMixin, forms.Form):
    institution = forms.TypedChoiceField(label=gettext_lazy("Institution"), coerce=int, required=False,
                                         widget=forms.RadioSelect)
    code = forms.CharField(label=gettext_lazy("…or its customer code or USCC"), max_length=30, required=False)
    product = forms.ModelChoiceField(label=gettext_lazy("Product"), queryset=Product.objects.none(), required=False)

    def __init__(self, *args: Any, mapping: FlowMapping, candidates: list[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mapping = mapping
        if mapping.kind == MappingKind.PRODUCT:
            del self.fields["institution"], self.fields["code"]
            self.fields["product"].queryset = Product.objects.all()
            self.fields["product"].required = True
        else:
            del self.fields["product"]
            if not candidates:
                del self.fields["institution"]
                self.fields["code"].label = gettext_lazy("Customer code or USCC")
                return
            self.fields["institution"].choices = [
                (institution.pk, f"{institution.name} · {institution.code or institution.uscc or institution.pk}")
                for institution in candidates]


def _candidates(mapping: FlowMapping, user: Any) -> list[Institution]:
    """The suggestion first, then institutions whose names are like the file's (same city first)."""
    visible = Institution.objects.visible_to(user).live()
    found: list[Institution] = []
    if mapping.suggestion_id:
        found.extend(visible.filter(pk=mapping.suggestion_id))
    city = flow.Cities().code(mapping.city) if mapping.city else None
    for queryset in ([visible.filter(city_code=city)] if city else []) + [visible]:
        for institution in search_institutions(queryset, mapping.name[:50], user)[:10]:
            if institution.pk not in {row.pk for row in found}:
                found.append(institution)
        if len(found) >= 5:
            break
    return found[:10]


@login_required
def flow_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    mapping = get_visible_or_404(FlowMapping.objects.select_related("institution", "product"), request.user, pk=pk)
    can_resolve = mapping.status == MappingStatus.OPEN and request.user.has_perm("sales.change_flowmapping")
    if request.method == "POST" and not can_resolve:
        raise PermissionDenied
    candidates = _candidates(mapping, request.user) if can_resolve and mapping.kind != MappingKind.PRODUCT else []
    form = ResolveForm(request.POST if request.method == "POST" else None, mapping=mapping, candidates=candidates,
                       initial={"institution": mapping.suggestion_id})
    if request.method == "POST" and form.is_valid():
        try:
            written = flow.resolve(actor=request.user, mapping=mapping, **_target(form, request.user))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Mapped. %(count)s waiting rows became purchases.") % {"count": written})
            return redirect("sales:flow_mappings")
    waiting = (FlowPendingRow.objects.visible_to(request.user)
               .filter(Q(terminal_mapping=mapping) | Q(distributor_mapping=mapping) | Q(product_mapping=mapping))
               .order_by("-purchased_on")[:20])
    return render(request, "sales/flow_mapping_detail.html", {
        "object": mapping, "form": form if can_resolve else None, "waiting": waiting,
    }, status=400 if form.errors else 200)


def _target(form: ResolveForm, user: Any) -> dict[str, Any]:
    if form.mapping.kind == MappingKind.PRODUCT:
        return {"product": form.cleaned_data["product"]}
    code = form.cleaned_data.get("code", "").strip()
    visible = Institution.objects.visible_to(user).live()
    if code:
        found = list({row.pk: row for row in [*visible.filter(code=code)[:2], *visible.filter(uscc=code.upper())[:2]]}
                     .values())
        if len(found) != 1:
            raise ValidationError({"code": [_("No single institution you can see has this code or USCC.")]})
        return {"institution": found[0]}
    chosen = form.cleaned_data.get("institution") if "institution" in form.fields else None
    if not chosen:
        raise ValidationError({"institution": [_("Choose an institution, or enter its customer code or USCC.")]})
    return {"institution": visible.filter(pk=chosen).first()}
