"""Revenue distribution in the admin: the inventors and their shares, the institution's policy and
patent costs, the distribution ledger, payout batches (exported for payroll or the bank, marked
paid), and what is owed to each payee. Everything is written by services.distribution."""

import io
from datetime import date

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import selectors, services
from ..domain.clock import today
from ..formfields import NumberField
from ..http import parse_id
from ..models import (
    Allocation,
    AllocationLine,
    DistributionPolicy,
    Institution,
    Inventor,
    InventorShare,
    InventorShareSet,
    PatentCost,
    PayoutBatch,
    PayoutItem,
)
from ..reporting import statements, tables
from ..selectors.scope import institution_of
from ..widgets import DateInput
from .actions import RequiredReasonForm, ServiceAction
from .base import AuditTrailMixin, InstitutionScopedAdmin, ReadOnlyInline, RecordsOnlyAdmin, ServiceActionsAdmin


class WrittenByServiceAdmin(InstitutionScopedAdmin):
    """Rows added through a form that a service checks and writes; never edited afterwards (a
    change is a new row: a new policy version, a new set of shares)."""

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        created = self.write(request, form.cleaned_data)
        obj.pk = created.pk

    def write(self, request, data: dict):  # pragma: no cover - each admin says which service
        raise NotImplementedError


@admin.register(Inventor)
class InventorAdmin(AuditTrailMixin, InstitutionScopedAdmin):
    list_display = ["name", "college", "staff_number", "email", "user"]
    search_fields = ["name", "college", "staff_number"]
    fields = ["institution", "name", "college", "staff_number", "email", "user", "statements", "history"]
    readonly_fields = ["user", "statements", "history"]
    ordering = ["name", "id"]
    actions = ["invite"]

    @admin.action(description=_("Invite the selected inventors to see their patents, money and statements"))
    def invite(self, request, queryset):
        invited, refused = 0, []
        for inventor in queryset.order_by("pk"):
            try:
                services.invite_inventor(inventor_id=inventor.pk, language=request.LANGUAGE_CODE, by=request.user)
                invited += 1
            except ValidationError as exc:
                refused.append(f"{inventor.name}: {' '.join(exc.messages)}")
        if invited:
            self.message_user(request, gettext("Invitations sent: %(n)s.") % {"n": invited}, messages.SUCCESS)
        for said in refused:
            self.message_user(request, said, messages.ERROR)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/statement/<int:year>/",
                self.admin_site.admin_view(self.statement_view),
                name="licensing_inventor_statement",
            ),
            path(
                "<path:object_id>/statement/<int:year>.pdf",
                self.admin_site.admin_view(self.statement_pdf),
                name="licensing_inventor_statement_pdf",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("statements"))
    def statements(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        links = [
            format_html(
                '<a href="{}">{}</a> (<a href="{}">PDF</a>)',
                reverse("admin:licensing_inventor_statement", args=[obj.pk, year]),
                year,
                reverse("admin:licensing_inventor_statement_pdf", args=[obj.pk, year]),
            )
            for year in selectors.statement_years(obj)
        ]
        return format_html_join(" · ", "{}", ((link,) for link in links)) if links else "—"

    def _statement(self, request, object_id, year):
        inventor = self.get_object(request, unquote(object_id))
        if inventor is None or not 2000 <= year <= today().year:
            raise Http404
        return selectors.inventor_statement(inventor, year)

    def statement_view(self, request, object_id, year):
        statement = self._statement(request, object_id, year)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": statement.inventor,
            "title": gettext("Statement %(year)s: %(name)s") % {"year": year, "name": statement.inventor.name},
            "body": statements.statement_body(statement, request.LANGUAGE_CODE),
            "pdf_url": reverse("admin:licensing_inventor_statement_pdf", args=[statement.inventor.pk, year]),
        }
        return TemplateResponse(request, "admin/licensing/inventor_statement.html", context)

    def statement_pdf(self, request, object_id, year):
        statement = self._statement(request, object_id, year)
        response = HttpResponse(statements.statement_pdf(statement), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="statement-{statement.inventor.pk}-{year}.pdf"'
        return response

    def get_changeform_initial_data(self, request):
        institution = institution_of(request.user)
        return {"institution": institution.pk} if institution else {}


SHARE_ROWS = 8


def _share_rows() -> dict:
    """Rows of inventor and share (the first required): the form's fields, declared up front so the
    admin lays them out."""
    fields = {}
    for row in range(1, SHARE_ROWS + 1):
        fields[f"inventor_{row}"] = forms.ModelChoiceField(
            # Lazy: the form is built once, at import; its labels are read in each request's language.
            label=format_lazy("{} {}", _("Inventor"), row),
            queryset=Inventor.objects.none(),
            required=row == 1,
        )
        fields[f"share_{row}"] = NumberField(
            label=_("share"),
            max_digits=5,
            decimal_places=4,
            required=row == 1,
            help_text=_("A fraction between 0 and 1: 0.8 means 80%.") if row == 1 else "",
        )
    return fields


class _SharesForm(forms.ModelForm):
    """A patent's inventors and their shares from a day on: up to eight rows of inventor and share."""

    ROWS = SHARE_ROWS
    inventors = Inventor.objects.none()  # the admin sets the user's own

    class Meta:
        model = InventorShareSet
        fields = ["patent", "effective_from", "reason"]
        widgets = {"effective_from": DateInput(), "reason": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for row in range(1, self.ROWS + 1):
            self.fields[f"inventor_{row}"].queryset = self.inventors

    def clean(self):
        data = super().clean()
        shares = [
            (data[f"inventor_{row}"].pk, data[f"share_{row}"])
            for row in range(1, self.ROWS + 1)
            if data.get(f"inventor_{row}") and data.get(f"share_{row}") is not None
        ]
        data["shares"] = shares
        if data.get("patent") and data.get("effective_from") and not self.errors:
            try:
                services.distribution.check_inventor_shares(data["patent"], shares, data["effective_from"])
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    self.add_error(None if name == "shares" else name, errors)
        return data


SharesForm = type("SharesForm", (_SharesForm,), _share_rows())


class ShareInline(ReadOnlyInline):
    model = InventorShare
    fields = ["inventor", "share"]
    readonly_fields = fields
    show_change_link = False


@admin.register(InventorShareSet)
class InventorShareSetAdmin(AuditTrailMixin, WrittenByServiceAdmin):
    form = SharesForm
    list_display = ["patent", "effective_from", "summary", "recorded_by", "recorded_at"]
    list_select_related = ["patent", "recorded_by"]
    search_fields = ["patent__number", "patent__title"]
    autocomplete_fields = ["patent"]
    inlines = [ShareInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None:  # the choices are this request's (a field of the class is shared by every request)
            inventors = selectors.scope_to_user(Inventor.objects.order_by("name", "id"), request.user, "institution")
            return type(form.__name__, (form,), {"inventors": inventors})
        return form

    VIEW_FIELDS = ("patent", "effective_from", "summary", "reason", "recorded_by", "recorded_at", "history")

    def get_fields(self, request, obj=None):
        return list(self.VIEW_FIELDS) if obj is not None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return list(self.VIEW_FIELDS) if obj is not None else []

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def write(self, request, data):
        return services.set_inventor_shares(
            patent_id=data["patent"].pk,
            shares=data["shares"],
            effective_from=data["effective_from"],
            reason=data.get("reason", ""),
            by=request.user,
        )


@admin.register(PatentCost)
class PatentCostAdmin(WrittenByServiceAdmin):
    list_display = ["patent", "kind", "amount", "incurred_on", "description", "recorded_by"]
    list_select_related = ["patent", "recorded_by"]
    list_filter = ["kind"]
    search_fields = ["patent__number", "patent__title"]
    autocomplete_fields = ["patent"]
    fields = ["patent", "kind", "amount", "incurred_on", "description"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "incurred_on":
            kwargs["widget"] = DateInput()
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def write(self, request, data):
        return services.record_patent_cost(
            patent_id=data["patent"].pk,
            kind=data["kind"],
            amount=data["amount"],
            incurred_on=data["incurred_on"],
            description=data.get("description", ""),
            by=request.user,
        )


POLICY_FIELDS = list(DistributionPolicy.TERMS)


class PolicyForm(forms.ModelForm):
    class Meta:
        model = DistributionPolicy
        fields = ["institution", *POLICY_FIELDS]
        widgets = {"effective_from": DateInput()}

    def clean(self):
        data = super().clean()
        if data.get("institution") and data.get("effective_from"):
            try:
                services.distribution.check_policy_day(data["institution"].pk, data["effective_from"])
            except ValidationError as exc:
                self.add_error("effective_from", exc.message_dict["effective_from"])
        return data


@admin.register(DistributionPolicy)
class DistributionPolicyAdmin(AuditTrailMixin, WrittenByServiceAdmin):
    form = PolicyForm
    list_display = [
        "effective_from",
        "institution",
        "inventors_share",
        "college_share",
        "tto_share",
        "institution_share",
        "service_rate",
        "equity_inventors_share",
        "own_rule_approved",
    ]
    list_select_related = ["institution"]

    fields = ["institution", *POLICY_FIELDS, "recorded_by", "recorded_at", "history"]
    readonly_fields = fields  # a version is never edited: a change is a new version

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # the form of a new version: every term editable
            return [(None, {"fields": ["institution", *POLICY_FIELDS]})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else super().get_readonly_fields(request, obj)

    def get_changeform_initial_data(self, request):
        institution = institution_of(request.user)
        return (
            {"institution": institution.pk, "effective_from": today()} if institution else {"effective_from": today()}
        )

    def write(self, request, data):
        return services.adopt_policy(by=request.user, **{name: data[name] for name in ["institution", *POLICY_FIELDS]})


class LineInline(ReadOnlyInline):
    model = AllocationLine
    fields = ["patent", "party", "inventor", "college", "amount"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("patent", "inventor").order_by("patent_id", "id")


def year_in(value) -> int | None:
    """A year from a query parameter (2000 to 2100), or None for anything else ("²", "99999")."""
    year = parse_id(value)
    return year if year is not None and 2000 <= year <= 2100 else None


class YearFilter(admin.SimpleListFilter):
    """By the year the money was received: the last five years (a range on the indexed day)."""

    title = _("year received")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        year = today().year
        return [(str(y), str(y)) for y in range(year, year - 5, -1)]

    def queryset(self, request, queryset):
        y = year_in(self.value())
        if y is not None:
            return queryset.filter(received_on__gte=date(y, 1, 1), received_on__lte=date(y, 12, 31))
        return queryset


@admin.register(Allocation)
class AllocationAdmin(RecordsOnlyAdmin):
    list_display = ["received_on", "license", "source", "fee_kind", "amount", "policy", "vat_exempt"]
    list_select_related = ["license", "policy"]
    list_filter = [YearFilter, "source", "fee_kind"]
    fields = [
        "license",
        "received_on",
        "source",
        "fee_kind",
        "amount",
        "installment",
        "payment",
        "credit_movement",
        "claim",
        "conversion",
        "policy",
        "vat_exempt",
        "at",
        "by",
    ]
    readonly_fields = fields
    inlines = [LineInline]


class PrepareForm(forms.ModelForm):
    class Meta:
        model = PayoutBatch
        fields = ["institution", "payee", "up_to"]
        widgets = {"up_to": DateInput()}

    def clean(self):
        data = super().clean()
        if data.get("institution") and data.get("payee") and data.get("up_to"):
            if data["up_to"] > today():
                self.add_error("up_to", _("A batch pays money already received: choose today or an earlier day."))
            elif not any(
                a.owed > 0 for a in selectors.owed_to_payees(data["institution"].pk, data["payee"], data["up_to"])
            ):
                self.add_error(
                    None,
                    _("Nothing is owed to the %(payee)s for money received up to %(date)s.")
                    % {"payee": PayoutBatch.Payee(data["payee"]).label, "date": data["up_to"]},
                )
        return data


class ItemInline(ReadOnlyInline):
    model = PayoutItem
    fields = ["inventor", "college", "amount"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("inventor").order_by("id")


class PaidForm(forms.Form):
    paid_on = forms.DateField(label=_("Paid on"), initial=today, widget=DateInput())
    reference = forms.CharField(label=_("Bank or payroll reference"), max_length=100)


PAYOUT_ACTIONS = [
    ServiceAction(
        "mark_paid",
        _("Mark paid"),
        PaidForm,
        lambda batch, by, d: services.mark_payout_paid(batch_id=batch.pk, by=by, **d),
        lambda batch: batch.state == PayoutBatch.State.PREPARED,
    ),
    ServiceAction(
        "cancel",
        _("Cancel the batch"),
        RequiredReasonForm,
        lambda batch, by, d: services.cancel_payout(batch_id=batch.pk, by=by, **d),
        lambda batch: batch.state == PayoutBatch.State.PREPARED,
    ),
]


def payout_table(batch: PayoutBatch) -> tables.Table:
    """A batch as payroll or the bank reads it: payee, unit, staff number, amount."""
    items = batch.items.select_related("inventor").order_by("id")
    columns = [
        tables.Column(gettext("Batch")),
        tables.Column(gettext("Name or college")),
        tables.Column(gettext("Unit or college")),
        tables.Column(gettext("Staff number")),
        tables.Column(gettext("Amount (CNY)"), "money"),
    ]
    rows = [
        (
            batch.pk,
            item.inventor.name if item.inventor else item.college,
            item.inventor.college if item.inventor else item.college,
            item.inventor.staff_number if item.inventor else "",
            item.amount,
        )
        for item in items
    ]
    return tables.Table("payout", str(batch), columns, rows)


@admin.register(PayoutBatch)
class PayoutBatchAdmin(AuditTrailMixin, ServiceActionsAdmin):
    service_actions = PAYOUT_ACTIONS
    list_display = ["__str__", "institution", "payee", "up_to", "total", "state", "paid_on", "reference"]
    list_select_related = ["institution"]
    list_filter = ["state", "payee"]
    readonly_fields = [
        "institution",
        "payee",
        "up_to",
        "total",
        "state",
        "prepared_by",
        "prepared_at",
        "paid_on",
        "reference",
        "downloads",
        "history",
    ]
    fields = readonly_fields
    inlines = [ItemInline]

    def get_urls(self):
        return [
            path(
                "<path:object_id>/payout.<str:fmt>",
                self.admin_site.admin_view(self.download),
                name="licensing_payoutbatch_download",
            ),
            path("owed/", self.admin_site.admin_view(self.owed_view), name="licensing_owed"),
            *super().get_urls(),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PrepareForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["institution", "payee", "up_to"] if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else super().get_readonly_fields(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A batch is read here and changed by its buttons: no "save and add another" under it.
        extra_context = {**(extra_context or {}), "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_changeform_initial_data(self, request):
        institution = institution_of(request.user)
        return {"up_to": today(), **({"institution": institution.pk} if institution else {})}

    def has_add_permission(self, request):
        return request.user.has_perm("licensing.add_payoutbatch")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        batch = services.prepare_payout(
            institution_id=data["institution"].pk, payee=data["payee"], up_to=data["up_to"], by=request.user
        )
        obj.pk, obj.total = batch.pk, batch.total

    def save_related(self, request, form, formsets, change):
        pass

    @admin.display(description=_("download"))
    def downloads(self, obj):
        csv_url = reverse("admin:licensing_payoutbatch_download", args=[obj.pk, "csv"])
        xlsx_url = reverse("admin:licensing_payoutbatch_download", args=[obj.pk, "xlsx"])
        return format_html('<a href="{}">CSV</a> · <a href="{}">XLSX</a>', csv_url, xlsx_url)

    def download(self, request, object_id, fmt):
        batch = self.get_object(request, unquote(object_id))
        if batch is None or fmt not in ("csv", "xlsx"):
            raise Http404
        table = payout_table(batch)
        name = f"payout-{batch.pk}-{batch.up_to:%Y%m%d}"
        if fmt == "csv":  # csv_lines starts with the BOM Excel reads UTF-8 by
            body = io.BytesIO("".join(tables.csv_lines(table)).encode("utf-8"))
            return FileResponse(
                body, as_attachment=True, filename=f"{name}.csv", content_type="text/csv; charset=utf-8"
            )
        buffer = io.BytesIO()
        tables.write_xlsx([table], buffer)
        buffer.seek(0)
        return FileResponse(buffer, as_attachment=True, filename=f"{name}.xlsx")

    def owed_view(self, request):
        """What is owed to each inventor and college, and what was allocated and paid in a year:
        the finance office's answer to "what do we owe each inventor for 2026, and what have we paid"."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        institution = institution_of(request.user)
        if institution is False:
            raise PermissionDenied
        if institution is None:  # a superuser chooses the institution
            chosen = parse_id(request.GET.get("institution"))
            institution = Institution.objects.filter(pk=chosen).first() if chosen is not None else None
        year = year_in(request.GET.get("year")) or today().year
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Owed to inventors and colleges"),
            "year": year,
            "years": list(range(today().year, today().year - 6, -1)),
            "institution": institution,
            "institutions": Institution.objects.order_by("name") if request.user.is_superuser else [],
        }
        if institution is not None:
            overview = selectors.owed_overview(institution.pk, year)
            context["unassigned"] = overview["unassigned"]
            context["sections"] = [
                (gettext("Inventors"), overview["inventors"], overview["totals"]["inventors"]),
                (gettext("Colleges"), overview["colleges"], overview["totals"]["colleges"]),
            ]
        return TemplateResponse(request, "admin/licensing/owed.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "owed_url": reverse("admin:licensing_owed")}
        return super().changelist_view(request, extra_context)
