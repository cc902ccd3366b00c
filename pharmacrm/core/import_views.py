"""Import pages: choose a type and a file, map the columns, read the dry run, import (core.imports)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from pharmacrm.core import imports
from pharmacrm.core.forms import StyledFormMixin, add_service_errors
from pharmacrm.core.generic import ScopedListView, get_visible_or_404
from pharmacrm.core.models import ImportJob, ImportMode, ImportStatus

#: errors listed on the page (the rejected-rows file has all of them)
ERRORS_SHOWN = 200


def _importers_or_403(user: Any) -> list[type[imports.Importer]]:
    available = imports.importers_for(user)
    if not available:
        raise PermissionDenied
    return available


class UploadForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"))
    file = forms.FileField(label=gettext_lazy("File (.xlsx or .csv)"),
                           help_text=gettext_lazy("CSV in UTF-8 or GBK/GB18030, as Excel saves it, or an .xlsx workbook."))

    def __init__(self, *args: Any, importers: list[type[imports.Importer]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(importer.kind, importer.label) for importer in importers]


class MappingForm(StyledFormMixin, forms.Form):
    """One select per column of the file: which field it fills, or ignore it."""

    mode = forms.ChoiceField(label=gettext_lazy("When some rows have errors"), choices=ImportMode.choices,
                             widget=forms.RadioSelect)

    def __init__(self, *args: Any, job: ImportJob, importer: type[imports.Importer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— ignore this column —")),
                   *[(column.key, f"{column.label}{' *' if column.required else ''}") for column in importer.columns]]
        self.header_fields = []
        for index, header in enumerate(job.headers):
            if not header:
                continue
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(label=header, choices=choices, required=False,
                                                  initial=job.mapping.get(header, ""),
                                                  widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
            self.header_fields.append((name, header))
        self.fields["mode"].initial = job.mode
        self.order_fields(["mode"])

    def column_fields(self) -> list[tuple[forms.BoundField, str]]:
        return [(self[name], header) for name, header in self.header_fields]

    def mapping(self) -> dict[str, str]:
        return {header: self.cleaned_data.get(name) or "" for name, header in self.header_fields}


class ImportListView(ScopedListView):
    model = ImportJob
    template_name = "core/import_list.html"
    sort_options = {"-id": ("-id",)}
    select_related = ("created_by",)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            _importers_or_403(request.user)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["importers"] = imports.importers_for(self.request.user)
        return context


@login_required
def import_new(request: HttpRequest) -> HttpResponse:
    importers = _importers_or_403(request.user)
    form = UploadForm(request.POST or None, request.FILES or None, importers=importers,
                      initial={"kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.start(actor=request.user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("imports:detail", pk=job.pk)
    return render(request, "core/import_new.html", {"form": form, "importers": importers},
                  status=400 if form.errors else 200)


@login_required
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    importer = next((i for i in _importers_or_403(request.user) if i.kind == kind), None)
    if importer is None:
        raise PermissionDenied
    response = HttpResponse(imports.template_file(importer), content_type=imports.XLSX_MIME)
    stamp = datetime.date.today().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="template-{kind.rsplit(".", 1)[-1]}-{stamp}.xlsx"'
    return response


def _job(request: HttpRequest, pk: int) -> tuple[ImportJob, type[imports.Importer]]:
    job = get_visible_or_404(ImportJob.objects.select_related("created_by", "source", "rejected_file"),
                             request.user, pk=pk)
    return job, imports.importer_class(job.kind)


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job, importer = _job(request, pk)
    editable = job.status in (ImportStatus.UPLOADED, ImportStatus.CHECKED, ImportStatus.FAILED)
    form = MappingForm(job=job, importer=importer) if editable else None
    return _render_detail(request, job, importer, form)


def _render_detail(request: HttpRequest, job: ImportJob, importer: type[imports.Importer],
                   form: MappingForm | None, status: int = 200) -> HttpResponse:
    rows, _age = imports.progress(job) if job.running else (job.processed_rows, None)
    interrupted = imports.is_interrupted(job)
    context = {
        "job": job, "importer": importer, "form": form, "progress_rows": rows, "interrupted": interrupted,
        "percent": min(100, round(100 * rows / job.total_rows)) if job.total_rows else None,
        "errors": job.errors[:ERRORS_SHOWN], "more_errors": max(0, job.error_count - ERRORS_SHOWN),
        "can_commit": job.status == ImportStatus.CHECKED and job.total_rows > job.error_rows and not (
            job.mode == ImportMode.ALL_OR_NOTHING and job.error_rows),
        "valid_rows": max(0, job.total_rows - job.error_rows),
    }
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "import-status":
        response = render(request, "core/import_detail.html#status", context)
        if not job.running or interrupted:
            response["HX-Refresh"] = "true"
        return response
    return render(request, "core/import_detail.html", context, status=status)


@login_required
@require_POST
def import_configure(request: HttpRequest, pk: int) -> HttpResponse:
    job, importer = _job(request, pk)
    form = MappingForm(request.POST, job=job, importer=importer)
    if form.is_valid():
        try:
            imports.configure(actor=request.user, job=job, mapping=form.mapping(), mode=form.cleaned_data["mode"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.info(request, _("Checking the file. Nothing is written until you import it."))
            return redirect("imports:detail", pk=job.pk)
    return _render_detail(request, job, importer, form, status=400)


@login_required
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    job, _importer = _job(request, pk)
    try:
        imports.commit(actor=request.user, job=job)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.info(request, _("Importing. You can leave this page; the import continues."))
    return redirect("imports:detail", pk=job.pk)


@login_required
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job, _importer = _job(request, pk)
    try:
        imports.cancel(actor=request.user, job=job)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("imports:detail", pk=job.pk)
