"""Sample pages: inventory, ledger, receipts and transfers, returns and adjustments, disbursements with the
signature pad, reconciliations. Thin: each page reads through ``visible_to`` and writes through one service."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from pharmacrm.core import policy
from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.generic import ScopedDetailView, ScopedListView, get_visible_or_404, refused, require, service_error
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.sales.models import Product
from pharmacrm.samples import services
from pharmacrm.samples.choices import ReconciliationStatus, TransferStatus
from pharmacrm.samples.filters import DisbursementFilter, MovementFilter, ReconciliationFilter, TransferFilter
from pharmacrm.samples.forms import (
    AdjustmentForm,
    CountFormSet,
    DisbursementForm,
    LotEditForm,
    LotForm,
    ReasonForm,
    ReceiptForm,
    ReconciliationForm,
    ReturnForm,
    TransferForm,
)
from pharmacrm.samples.models import (
    Disbursement,
    Reconciliation,
    SampleLot,
    StockBalance,
    StockMovement,
    StockTransfer,
)

REFUSALS = (ValidationError, TransitionNotAllowed, StaleVersion)


def _form_page(request: HttpRequest, form: Any, title: str, back: str, intro: str = "") -> HttpResponse:
    return render(request, "samples/form.html", {"form": form, "title": title, "back": back, "intro": intro},
                  status=400 if form.errors else 200)


# --- inventory and ledger ------------------------------------------------------------------------------------


class InventoryView(ScopedListView):
    """Stock per rep and lot: a rep's own, a manager's team's, head office's all; lots near expiry flagged."""

    model = StockBalance
    permission_required = "samples.view_stockbalance"
    template_name = "samples/inventory.html"
    select_related = ("lot__product", "holder")
    sort_options = {"expiry": ("lot__expiry_date", "id"), "holder": ("holder__username", "lot__expiry_date", "id")}
    sort_labels = {"expiry": _l("Expiry date"), "holder": _l("Rep")}

    def get_queryset(self) -> Any:
        rows = super().get_queryset()
        return rows if self.request.GET.get("all") else rows.exclude(quantity=0)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        import datetime

        context = super().get_context_data(**kwargs)
        today = policy.today()
        context.update(today=today, warn_before=today + datetime.timedelta(
            days=int(policy.get("samples.expiry_warning_days"))))
        context["incoming"] = StockTransfer.objects.visible_to(self.request.user).filter(
            to_holder=self.request.user, status=TransferStatus.PENDING).select_related("lot__product", "from_holder")
        if self.request.user.has_perm("samples.add_reconciliation"):
            context["count_due_on"] = services.reconciliation_due_on(self.request.user)
        context["can"] = {name: self.request.user.has_perm(f"samples.{name}") for name in (
            "add_disbursement", "add_stocktransfer", "add_stockmovement", "add_reconciliation", "dispatch_samples",
            "add_samplelot", "approve_reconciliation")}
        return context


class MovementListView(ScopedListView):
    model = StockMovement
    permission_required = "samples.view_stockmovement"
    template_name = "samples/movement_list.html"
    filterset_class = MovementFilter
    select_related = ("lot__product", "holder", "created_by")
    sort_options = {"-id": ("-id",), "id": ("id",)}


# --- lots ----------------------------------------------------------------------------------------------------


class LotListView(ScopedListView):
    model = SampleLot
    permission_required = "samples.view_samplelot"
    template_name = "samples/lot_list.html"
    select_related = ("product",)
    sort_options = {"expiry": ("expiry_date", "id"), "-id": ("-id",)}
    sort_labels = {"expiry": _l("Expiry date")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(today=policy.today(), can_add=self.request.user.has_perm("samples.add_samplelot"),
                       can_edit=self.request.user.has_perm("samples.change_samplelot"))
        return context


@login_required
def lot_create(request: HttpRequest) -> HttpResponse:
    require(request, "samples.add_samplelot")
    form = LotForm(request.POST or None, products=Product.objects.visible_to(request.user).on_sale().order_by("code"))
    if request.method == "POST" and form.is_valid():
        try:
            services.create_lot(actor=request.user, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("samples:lot_list")
    return _form_page(request, form, _("New sample lot"), "samples:lot_list")


@login_required
def lot_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a lot's batch number, expiry date or notes (optimistic locking: someone else's save first → say so)."""
    lot = get_visible_or_404(SampleLot, request.user, pk=pk)
    require(request, "samples.change_samplelot")
    form = LotEditForm(request.POST or None, initial={"batch_number": lot.batch_number, "expiry_date": lot.expiry_date,
                                                      "notes": lot.notes, "version": lot.version})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            services.update_lot(actor=request.user, lot=lot, changes=data, expected_version=version)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("samples:lot_list")
    return _form_page(request, form, str(lot), "samples:lot_list")


# --- receipts, transfers, returns, adjustments ---------------------------------------------------------------


def _write(request: HttpRequest, form: Any, service: Any, done: str, success_url: Any, **extra: Any) -> Any:
    """Call the service with the form's data; on a refusal put it on the form and return None."""
    try:
        result = service(actor=request.user, **form.cleaned_data, **extra)
    except REFUSALS as error:
        service_error(form, error)
        return None
    messages.success(request, done)
    return redirect(success_url(result) if callable(success_url) else success_url)


@login_required
def receipt_create(request: HttpRequest) -> HttpResponse:
    require(request, "samples.dispatch_samples")
    lots = SampleLot.objects.visible_to(request.user).filter(expiry_date__gte=policy.today()).select_related("product")
    form = ReceiptForm(request.POST or None, lots=lots)
    if request.method == "POST" and form.is_valid():
        response = _write(request, form, services.dispatch_receipt, _("Sent: it counts once the rep confirms it."),
                          lambda transfer: transfer.get_absolute_url())
        if response:
            return response
    return _form_page(request, form, _("Send samples to a rep"), "samples:transfer_list")


@login_required
def transfer_create(request: HttpRequest) -> HttpResponse:
    require(request, "samples.add_stocktransfer")
    form = TransferForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        response = _write(request, form, services.create_transfer,
                          _("Sent: it counts for your colleague once they confirm it."),
                          lambda transfer: transfer.get_absolute_url())
        if response:
            return response
    return _form_page(request, form, _("Transfer samples to a colleague"), "samples:inventory")


@login_required
def return_create(request: HttpRequest) -> HttpResponse:
    require(request, "samples.add_stockmovement")
    form = ReturnForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        response = _write(request, form, services.return_stock, _("Return recorded."), "samples:movement_list")
        if response:
            return response
    return _form_page(request, form, _("Return samples to head office"), "samples:inventory")


@login_required
def adjustment_create(request: HttpRequest) -> HttpResponse:
    require(request, "samples.add_stockmovement")
    head_office = request.user.has_perm("samples.change_stockbalance")
    form = AdjustmentForm(request.POST or None, user=request.user, head_office=head_office)
    if request.method == "POST" and form.is_valid():
        extra = {} if head_office else {"holder": request.user}
        response = _write(request, form, services.adjust_stock, _("Adjustment recorded."), "samples:movement_list",
                          **extra)
        if response:
            return response
    return _form_page(request, form, _("Adjust stock"), "samples:inventory",
                      _("Write off broken or lost samples, with the reason. Only head office adds stock."))


class TransferListView(ScopedListView):
    model = StockTransfer
    permission_required = "samples.view_stocktransfer"
    template_name = "samples/transfer_list.html"
    filterset_class = TransferFilter
    select_related = ("lot__product", "from_holder", "to_holder")
    sort_options = {"-id": ("-id",), "id": ("id",)}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_dispatch"] = self.request.user.has_perm("samples.dispatch_samples")
        context["can_transfer"] = self.request.user.has_perm("samples.add_stocktransfer")
        return context


class TransferDetailView(ScopedDetailView):
    model = StockTransfer
    permission_required = "samples.view_stocktransfer"
    template_name = "samples/transfer_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        transfer, user = context["object"], self.request.user
        pending = transfer.status == TransferStatus.PENDING
        context["can_confirm"] = pending and transfer.to_holder_id == user.pk
        context["can_cancel"] = pending and (user.pk in (transfer.to_holder_id, transfer.from_holder_id)
                                             or (transfer.from_holder_id is None
                                                 and user.has_perm("samples.dispatch_samples")))
        context["reason_form"] = ReasonForm()
        return context


@login_required
@require_POST
def transfer_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = get_visible_or_404(StockTransfer, request.user, pk=pk)
    try:
        services.confirm_transfer(actor=request.user, transfer=transfer)
        messages.success(request, _("Receipt confirmed: the samples are in your stock."))
    except PermissionDenied as error:
        messages.error(request, str(error) or _("You cannot do this."))
    except REFUSALS as error:
        refused(request, error)
    return redirect(transfer.get_absolute_url())


@login_required
@require_POST
def transfer_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = get_visible_or_404(StockTransfer, request.user, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A reason is required for this change."))
        return redirect(transfer.get_absolute_url())
    try:
        services.cancel_transfer(actor=request.user, transfer=transfer, reason=form.cleaned_data["reason"])
        messages.success(request, _("Cancelled."))
    except PermissionDenied as error:
        messages.error(request, str(error) or _("You cannot do this."))
    except REFUSALS as error:
        refused(request, error)
    return redirect(transfer.get_absolute_url())


# --- disbursements -------------------------------------------------------------------------------------------


class DisbursementListView(ScopedListView):
    model = Disbursement
    permission_required = "samples.view_disbursement"
    template_name = "samples/disbursement_list.html"
    filterset_class = DisbursementFilter
    select_related = ("lot__product", "holder", "contact", "institution")
    sort_options = {"-id": ("-id",), "id": ("id",)}
    export_permission = "samples.view_disbursement"
    export_name = "sample-disbursements"
    export_persons = "contact_id"
    export_columns = (
        (_l("Number"), "number"), (_l("Time"), "disbursed_at"), (_l("Rep"), "holder.full_name"),
        (_l("Recipient"), "contact.name"), (_l("Institution"), "institution.name"),
        (_l("Product"), "lot.product.generic_name"), (_l("Batch number"), "lot.batch_number"),
        (_l("Expiry date"), "lot.expiry_date"), (_l("Quantity"), "quantity"), (_l("Place"), "place"),
    )


class DisbursementDetailView(ScopedDetailView):
    model = Disbursement
    permission_required = "samples.view_disbursement"
    template_name = "samples/disbursement_detail.html"


@login_required
def disbursement_create(request: HttpRequest) -> HttpResponse:
    """Hand samples to a contact of one customer (``?institution=``); the recipient signs on the canvas."""
    require(request, "samples.add_disbursement")
    institution = get_visible_or_404(Institution, request.user, pk=request.GET.get("institution") or 0)
    contacts = Contact.objects.visible_to(request.user).working_at(institution).order_by("name", "id")[:500]
    form = DisbursementForm(request.POST or None, user=request.user,
                            contacts=Contact.objects.filter(pk__in=[contact.pk for contact in contacts]),
                            initial={"contact": request.GET.get("contact")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            disbursement = services.disburse(actor=request.user, institution=institution, **data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Disbursement %(number)s recorded.") % {"number": disbursement.number})
            return redirect(disbursement.get_absolute_url())
    return render(request, "samples/disbursement_form.html", {"form": form, "institution": institution},
                  status=400 if form.errors else 200)


# --- reconciliations -----------------------------------------------------------------------------------------


class ReconciliationListView(ScopedListView):
    model = Reconciliation
    permission_required = "samples.view_reconciliation"
    template_name = "samples/reconciliation_list.html"
    filterset_class = ReconciliationFilter
    select_related = ("holder", "decided_by")
    sort_options = {"-id": ("-id",), "id": ("id",)}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_add"] = self.request.user.has_perm("samples.add_reconciliation")
        return context


class ReconciliationDetailView(ScopedDetailView):
    model = Reconciliation
    permission_required = "samples.view_reconciliation"
    template_name = "samples/reconciliation_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        reconciliation, user = context["object"], self.request.user
        context["lines"] = list(reconciliation.lines.select_related("lot__product"))
        context["can_decide"] = (reconciliation.status == ReconciliationStatus.SUBMITTED
                                 and user.has_perm("samples.approve_reconciliation")
                                 and reconciliation.holder_id != user.pk)
        context["can_recount"] = (reconciliation.status == ReconciliationStatus.SENT_BACK
                                  and reconciliation.holder_id == user.pk)
        context["reason_form"] = ReasonForm()
        return context


def _count_page(request: HttpRequest, reconciliation: Reconciliation | None) -> HttpResponse:
    expected = services.ledger_stock(request.user)
    lots = {lot.pk: lot for lot in SampleLot.objects.filter(pk__in=list(expected)).select_related("product")}
    order = sorted(expected, key=lambda pk: (lots[pk].expiry_date, pk))
    initial = [{"lot": pk, "expected": expected[pk]} for pk in order]
    form = ReconciliationForm(request.POST or None, initial={"counted_on": policy.today()})
    counts = CountFormSet(request.POST or None, prefix="lines", initial=initial)
    if request.method == "POST" and form.is_valid() and counts.is_valid():
        wanted = [{"lot": lots.get(row["lot"]), "counted": row["counted"], "reason": row.get("reason", "")}
                  for row in counts.cleaned_data if row]
        try:
            reconciliation = services.submit_reconciliation(actor=request.user, counts=wanted,
                                                            reconciliation=reconciliation, **form.cleaned_data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Submitted to your manager."))
            return redirect(reconciliation.get_absolute_url())
    rows = [(lots[item["lot"]], item["expected"], count_form) for item, count_form in zip(initial, counts.forms,
                                                                                           strict=False)]
    return render(request, "samples/reconciliation_form.html", {
        "form": form, "counts": counts, "rows": rows, "reconciliation": reconciliation},
        status=400 if request.method == "POST" else 200)


@login_required
def reconciliation_create(request: HttpRequest) -> HttpResponse:
    require(request, "samples.add_reconciliation")
    return _count_page(request, None)


@login_required
def reconciliation_recount(request: HttpRequest, pk: int) -> HttpResponse:
    reconciliation = get_visible_or_404(Reconciliation, request.user, pk=pk)
    require(request, "samples.add_reconciliation")
    if reconciliation.holder_id != request.user.pk:
        raise PermissionDenied
    return _count_page(request, reconciliation)


def _decide(request: HttpRequest, pk: int, service: Any, done: str, **extra: Any) -> HttpResponse:
    reconciliation = get_visible_or_404(Reconciliation, request.user, pk=pk)
    try:
        service(actor=request.user, reconciliation=reconciliation, **extra)
        messages.success(request, done)
    except PermissionDenied:
        raise
    except REFUSALS as error:
        refused(request, error)
    return redirect(reconciliation.get_absolute_url())


@login_required
@require_POST
def reconciliation_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, services.approve_reconciliation, _("Approved: the differences are booked."))


@login_required
@require_POST
def reconciliation_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        get_visible_or_404(Reconciliation, request.user, pk=pk)
        messages.error(request, _("A reason is required for this change."))
        return redirect("samples:reconciliation_detail", pk=pk)
    return _decide(request, pk, services.send_back_reconciliation, _("Sent back to the rep."),
                   reason=form.cleaned_data["reason"])
