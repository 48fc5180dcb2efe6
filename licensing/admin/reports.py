"""The TTO dashboard and exports, in the admin. Staff see their own institution's book; a
superuser sees all of it or picks one institution. Figures come from reporting/dashboard.py, rows from
reporting/exports.py; an XLSX of the book is built in the background by jobs.build_export."""

import io
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import selectors
from ..domain import windows
from ..domain.clock import today
from ..models import IPC_SECTIONS, Export, Institution
from ..replica import reads_from_replica
from ..reporting import exports, jobs, tables
from ..reporting.dashboard import build_dashboard
from ..widgets import DateInput

REPORT_PERMISSION = "licensing.view_license"


class BookFilterForm(forms.Form):
    date_from = forms.DateField(label=_("from"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("to"), required=False, widget=DateInput)
    institution = forms.ModelChoiceField(
        Institution.objects.order_by("name"), label=_("institution"), required=False, empty_label=_("All institutions")
    )
    ipc_section = forms.ChoiceField(
        label=_("IPC section"), required=False, choices=[("", _("All sections")), *IPC_SECTIONS]
    )

    def __init__(self, data, *, user):
        super().__init__(data)
        self.user = user
        if not user.is_superuser:
            del self.fields["institution"]  # staff always see their own institution

    def clean(self):
        cleaned = super().clean()
        for name in ("date_from", "date_to"):
            try:
                windows.report_period(cleaned.get(name), name, today())
            except ValidationError as exc:
                self.add_error(name, exc.message_dict[name])
                cleaned.pop(name, None)
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise ValidationError(_("The period must start on or before the day it ends."))
        return cleaned

    def book(self) -> selectors.BookFilter:
        """The filter to report on; call after is_valid()."""
        data = self.cleaned_data
        return selectors.BookFilter(
            institution=selectors.report_scope(self.user, data.get("institution")),
            ipc_section=data.get("ipc_section", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def _require_reports(request) -> None:
    if not request.user.has_perm(REPORT_PERMISSION):
        raise PermissionDenied
    selectors.report_scope(request.user)  # staff with no institution: 403


def _book(request) -> tuple[selectors.BookFilter | None, str]:
    """The filter in the query string, or None and what is wrong with it, in the user's words."""
    form = BookFilterForm(request.GET, user=request.user)
    if form.is_valid():
        return form.book(), ""
    return None, _form_errors(form)


def _form_errors(form) -> str:
    return " ".join(
        f"{form.fields[name].label}: {message}" if name in form.fields else str(message)
        for name, errors in form.errors.items()
        for message in errors
    )


def dashboard(request, site):
    _require_reports(request)
    form = BookFilterForm(request.GET, user=request.user)
    with reads_from_replica():  # figures of the whole book: a moment's lag is fine
        board = build_dashboard(form.book(), today()) if form.is_valid() else None
    query = request.GET.urlencode()
    return TemplateResponse(
        request,
        "admin/licensing/dashboard.html",
        {
            **site.each_context(request),
            "title": _("Dashboard"),
            "form": form,
            "board": board,
            "query": query,
            "export_kinds": [(kind, label, kind in exports.DATED) for kind, label in Export.Kind.choices],
            "today": today(),
            "card_links": _card_links(form) if board else {},
        },
    )


def _card_links(form) -> dict[str, str]:
    """The admin lists behind the headline figures: the period's purchases and payments, what is
    owed and overdue today."""
    start, end = form.cleaned_data.get("date_from"), form.cleaned_data.get("date_to")

    def period(field: str) -> str:
        bounds = {f"{field}__gte": start, f"{field}__lte": end}
        return urlencode({k: v.isoformat() for k, v in bounds.items() if v} or {f"{field}__isnull": "False"})

    licenses, payments = reverse("admin:licensing_license_changelist"), reverse("admin:licensing_payment_changelist")
    return {
        "contracted": f"{licenses}?{period('purchased_on')}",
        "collected": f"{payments}?{period('paid_on')}",
        "outstanding": f"{licenses}?due=unpaid",
        "overdue": f"{licenses}?due=overdue",
    }


def dashboard_table(request, site, slug: str, fmt: str):
    """One of the dashboard's tables as CSV, or all of them as one XLSX workbook ('all')."""
    _require_reports(request)
    book, error = _book(request)
    if error:
        return HttpResponseBadRequest(error)
    with reads_from_replica():
        board = build_dashboard(book, today())
    chosen = list(board.tables.values()) if slug == "all" else [board.tables.get(slug)]
    if None in chosen or (slug == "all") != (fmt == "xlsx"):
        raise Http404
    if fmt == "csv":
        return _csv_response(chosen[0], f"{slug}.csv")
    buffer = io.BytesIO()
    tables.write_xlsx(chosen, buffer)
    buffer.seek(0)
    return FileResponse(buffer, as_attachment=True, filename=f"dashboard-{today():%Y%m%d}.xlsx")


def _csv_response(table, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(tables.csv_lines(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_csv(request, site, kind: str):
    """A data export streamed row by row as it is read: no size limit, nothing held in memory."""
    _require_reports(request)
    if kind not in Export.Kind.values:
        raise Http404
    book, error = _book(request)
    if error:
        return HttpResponseBadRequest(error)
    return _csv_response(exports.export_table(kind, book), f"{kind}-{today():%Y%m%d}.csv")


@require_POST
def request_export(request, site, kind: str):
    _require_reports(request)
    if kind not in Export.Kind.values:
        raise Http404
    book, error = _book(request)
    if not error:
        try:
            export = jobs.request_export(kind=kind, book=book, by=request.user, language=request.LANGUAGE_CODE)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return redirect("admin:licensing_export_change", export.pk)
    messages.error(request, error)
    return redirect(f"{reverse('admin:dashboard')}?{request.GET.urlencode()}")


def export_download(request, site, export_id: int):
    """The file of a finished export, to the user who asked for it (a superuser may fetch any)."""
    export = get_object_or_404(selectors.exports_of(request.user), pk=export_id, state=Export.State.DONE)
    if not export.file:
        raise Http404
    name = f"{export.kind}-{export.created_at:%Y%m%d-%H%M}.xlsx"
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=name)
