"""Content pages: items (write, approve), schedules and which are due, pushes (preview, send) and deliveries.
Thin: each page reads through ``visible_to`` and writes through one service."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from pharmacrm.content import services
from pharmacrm.content.filters import DeliveryFilter
from pharmacrm.content.forms import ContentItemForm, PushForm, ScheduleForm
from pharmacrm.content.models import ContentDelivery, ContentItem, ContentPush, ContentSchedule
from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.exports import export_csv
from pharmacrm.core.generic import (
    Page,
    ScopedDetailView,
    ScopedListView,
    get_visible_or_404,
    parse_positive_int,
    require,
    service_error,
)
from pharmacrm.privacy.exports import export_of_persons

REFUSALS = (ValidationError, StaleVersion, PermissionDenied)
#: the columns of a delivery export (names of contacts only: no personal data beyond the name)
DELIVERY_COLUMNS = ((_l("Delivered at"), "delivered_at"), (_l("Item"), "item.title"),
                    (_l("Customer"), "institution.name"), (_l("Contact"), "contact.name"),
                    (_l("Channel"), "get_channel_display"))
EXPORT_PERMISSION = "customers.export_institution"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Items (head office: all, with their approval; field roles: approved ones), the schedules and which are due,
    recent pushes, and what went to the user's customers lately."""
    require(request, "content.view_contentitem")
    user = request.user
    context: dict[str, Any] = {
        "items": ContentItem.objects.visible_to(user).select_related("approved_by")[:50],
        "deliveries": (ContentDelivery.objects.visible_to(user).select_related("item", "contact", "institution")
                       .order_by("-delivered_at", "-id")[:20]),
    }
    if user.has_perm("content.view_contentschedule"):
        context["schedules"] = services.schedule_statuses(ContentSchedule.objects.visible_to(user))
    if user.has_perm("content.view_contentpush"):
        context["pushes"] = ContentPush.objects.visible_to(user).select_related("item", "sent_by")[:20]
    return render(request, "content/home.html", context)


# --- items -------------------------------------------------------------------------------------------------------


def _item_form_page(request: HttpRequest, item: ContentItem | None) -> HttpResponse:
    initial = {} if item is None else {name: getattr(item, name) for name in (
        "kind", "title", "source", "source_url", "interpretation", "body", "version")}
    form = ContentItemForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            item = services.save_item(actor=request.user, item=item, expected_version=version if item else None,
                                      **data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Item saved; it can be pushed once compliance approves it."))
            return redirect(item.get_absolute_url())
    return render(request, "content/item_form.html", {"form": form, "item": item},
                  status=400 if form.errors else 200)


@login_required
def item_create(request: HttpRequest) -> HttpResponse:
    require(request, "content.add_contentitem")
    return _item_form_page(request, None)


@login_required
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "content.change_contentitem")
    return _item_form_page(request, get_visible_or_404(ContentItem, request.user, pk=pk))


class ItemDetailView(ScopedDetailView):
    """The item as a customer reads it, its approval and (head office) the pushes that sent it."""

    model = ContentItem
    permission_required = "content.view_contentitem"
    template_name = "content/item_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        item, user = context["object"], self.request.user
        context.update(
            can_approve=not item.approved and user.has_perm("content.approve_contentitem")
            and item.created_by_id != user.pk,
            can_edit=user.has_perm("content.change_contentitem"),
            can_push=item.approved and user.has_perm("content.add_contentpush"),
            pushes=(ContentPush.objects.visible_to(user).filter(item=item).select_related("sent_by")[:50]
                    if user.has_perm("content.view_contentpush") else []))
        return context


@login_required
@require_POST
def item_approve(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "content.approve_contentitem")
    item = get_visible_or_404(ContentItem, request.user, pk=pk)
    try:
        version = request.POST.get("version", "")  # the version compliance read
        services.approve_item(actor=request.user, item=item,
                              expected_version=int(version) if version.isdigit() else None)
    except REFUSALS as error:
        for message in getattr(error, "messages", None) or [str(error)]:
            messages.error(request, message)
    else:
        messages.success(request, _("Item approved."))
    return redirect(item.get_absolute_url())


# --- schedules ---------------------------------------------------------------------------------------------------


def _schedule_form_page(request: HttpRequest, schedule: ContentSchedule | None) -> HttpResponse:
    initial = {} if schedule is None else {
        "segment": f"{schedule.dimension}:{schedule.klass}", "kind": schedule.kind, "every_days": schedule.every_days,
        "channel": schedule.channel, "active": schedule.active, "note": schedule.note}
    form = ScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["dimension"], data["klass"] = data.pop("segment")
        try:
            services.save_schedule(actor=request.user, schedule=schedule, **data)
        except REFUSALS as error:
            service_error(form, error)
        else:
            messages.success(request, _("Schedule saved."))
            return redirect(reverse("content:home"))
    title = _("New schedule") if schedule is None else _("Edit the schedule")
    return render(request, "content/form.html", {"form": form, "title": title, "back": reverse("content:home")},
                  status=400 if form.errors else 200)


@login_required
def schedule_create(request: HttpRequest) -> HttpResponse:
    require(request, "content.add_contentschedule")
    return _schedule_form_page(request, None)


@login_required
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, "content.change_contentschedule")
    return _schedule_form_page(request, get_visible_or_404(ContentSchedule, request.user, pk=pk))


# --- pushes ------------------------------------------------------------------------------------------------------


@login_required
def push_create(request: HttpRequest) -> HttpResponse:
    """Choose an approved item and a segment (a schedule's or a class) and a channel; *Preview* counts who would
    receive it and who would be skipped and why; *Send* records the deliveries."""
    require(request, "content.add_contentpush")
    user = request.user
    form = PushForm(request.POST or None, initial={"item": request.GET.get("item"),
                                                   "schedule": request.GET.get("schedule")},
                    items=ContentItem.objects.visible_to(user).approved(),
                    schedules=ContentSchedule.objects.visible_to(user).filter(active=True))
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            if "send" in request.POST:
                push = services.send_push(actor=user, **form.push_arguments())
                messages.success(request, _("Sent to %(n)d contacts.") % {"n": push.delivered})
                return redirect(push.get_absolute_url())
            preview = services.preview_push(**form.push_arguments())
        except REFUSALS as error:
            service_error(form, error)
    return render(request, "content/push_form.html", {"form": form, "preview": preview},
                  status=400 if form.errors else 200)


class PushDetailView(ScopedDetailView):
    """A push: its counts by reason and its deliveries (those the user may see), a page at a time; ``?format=csv``
    exports them."""

    model = ContentPush
    permission_required = "content.view_contentpush"
    template_name = "content/push_detail.html"
    export_persons = "contact_id"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("format") == "csv":
            require(request, EXPORT_PERMISSION)
            push = self.get_object()
            deliveries = self._deliveries(push)
            return export_of_persons(request, deliveries.values_list(self.export_persons, flat=True), lambda: export_csv(
                actor=request.user, queryset=deliveries, columns=DELIVERY_COLUMNS, name=f"content-push-{push.pk}",
                filters={"push": str(push.pk)}))
        return super().get(request, *args, **kwargs)

    def _deliveries(self, push: ContentPush) -> Any:
        return (ContentDelivery.objects.visible_to(self.request.user).filter(push=push)
                .select_related("item", "contact", "institution").order_by("id"))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        push = context["object"]
        page = Page(self._deliveries(push), parse_positive_int(self.request.GET.get("page"), 1), 50)
        context.update(page=page, rows=page.object_list, querystring="",
                       can_export=self.request.user.has_perm(EXPORT_PERMISSION))
        return context


class DeliveryListView(ScopedListView):
    """What was sent to the contacts of the user's customers."""

    model = ContentDelivery
    permission_required = "content.view_contentdelivery"
    template_name = "content/delivery_list.html"
    filterset_class = DeliveryFilter
    select_related = ("item", "contact", "institution")
    sort_options = {"-delivered_at": ("-delivered_at", "-id")}
    sort_labels = {"-delivered_at": _l("Latest first")}
    export_columns = DELIVERY_COLUMNS
    export_permission = EXPORT_PERMISSION
    export_name = "content-deliveries"
    export_persons = "contact_id"
