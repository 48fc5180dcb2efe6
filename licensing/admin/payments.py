"""Payments (records written by services) and the transfers SMEs report."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import services
from ..domain.clock import today
from ..domain.numbers import money_text, percent
from ..models import (
    InvoiceRequest,
    Payment,
    PaymentReport,
    RoyaltyReport,
)
from ..receipts import receipt_response
from ..widgets import DateInput
from . import actions as admin_actions
from .base import AuditTrailMixin, ServiceActionsAdmin


@admin.register(Payment)
class PaymentAdmin(AuditTrailMixin, ServiceActionsAdmin):
    """Payments are recorded from the license page (service `record_payment`), never edited; one
    recorded in error is reversed here (service `reverse_payment`)."""

    service_actions = admin_actions.PAYMENT_ACTIONS
    list_display = ["paid_on", "amount", "reference", "license", "enterprise", "state", "recorded_by", "recorded_at"]
    sortable_by = ["paid_on", "amount"]  # the sorts an index serves, however many payments (issue 25)
    list_filter = ["state", "paid_on"]
    list_select_related = ["license__enterprise", "recorded_by"]
    search_fields = ["reference", "license__enterprise__name", "license__offer__patent__number"]
    # No date_hierarchy: its strip of years is a DISTINCT over every payment (190 ms at 736k).
    show_full_result_count = False
    readonly_fields = [
        "license",
        "amount",
        "paid_on",
        "reference",
        "recorded_by",
        "recorded_at",
        "state",
        "reversed_at",
        "reversed_by",
        "reversal_reason",
        "history",
    ]
    fields = readonly_fields
    confirming_fields = ("amount", "paid_on", "reference", "recorded_by", "recorded_at")

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("enterprise"))
    def enterprise(self, obj):
        return obj.license.enterprise


class PrivateFileMixin:
    """A download of an uploaded file (a receipt, a report's attachment) for those who may view its
    object: `get_object` is scoped, so another institution's is 404. `private_file` names the field."""

    private_file: str

    def _file_url_name(self):
        return f"licensing_{self.model._meta.model_name}_{self.private_file}"

    def get_urls(self):
        view = self.admin_site.admin_view(self.private_file_view)
        return [path(f"<path:object_id>/{self.private_file}/", view, name=self._file_url_name()), *super().get_urls()]

    def private_file_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not getattr(obj, self.private_file) or not self.has_view_permission(request, obj):
            raise Http404
        return receipt_response(obj, self.private_file)

    def download_link(self, obj):
        if not getattr(obj, self.private_file):
            return "—"
        url = reverse(f"admin:{self._file_url_name()}", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download"))


@admin.register(PaymentReport)
class PaymentReportAdmin(PrivateFileMixin, AuditTrailMixin, ServiceActionsAdmin):
    """Transfers reported by SMEs; confirming one records the payment through the service."""

    service_actions = admin_actions.PAYMENT_REPORT_ACTIONS
    list_display = ["reported_at", "license", "amount", "paid_on", "reference", "state"]
    list_filter = ["state", "paid_on"]
    list_select_related = ["license__enterprise", "license__offer__patent"]
    search_fields = ["reference", "license__enterprise__name", "license__offer__patent__number"]
    readonly_fields = [
        "license",
        "amount",
        "paid_on",
        "reference",
        "receipt_link",
        "reported_by",
        "reported_at",
        "state",
        "payment",
        "history",
    ]
    fields = readonly_fields
    confirming_fields = ("amount", "paid_on", "reference", "receipt_link", "reported_by", "reported_at")

    def has_add_permission(self, request):
        return False

    private_file = "receipt"

    @admin.display(description=_("receipt"))
    def receipt_link(self, obj):
        return self.download_link(obj)


class LateReportFilter(admin.SimpleListFilter):
    """Reports past their due date and not filed, of licenses that run (as the work queue counts)."""

    title = _("late")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("1", _("Past the due date, not filed"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(RoyaltyReport.late_q(today()))
        return queryset


@admin.register(RoyaltyReport)
class RoyaltyReportAdmin(PrivateFileMixin, AuditTrailMixin, ServiceActionsAdmin):
    """Royalty and use reports, one per period of a license's term: staff accept a filed report
    (its royalty then falls due) or dispute it with a reason, through the services."""

    service_actions = admin_actions.ROYALTY_REPORT_ACTIONS
    list_display = [
        "license",
        "enterprise",
        "period_start",
        "period_end",
        "due_date",
        "state_shown",
        "base_amount",
        "royalty",
    ]
    list_filter = ["state", LateReportFilter, "due_date"]
    # The latest due first, read off its index (royalty_report_due): the model's own order (each
    # license's periods in turn) sorts every report of the book by its license.
    ordering = ["-due_date"]
    list_select_related = ["license__enterprise"]
    search_fields = ["license__enterprise__name", "license__offer__patent__number"]
    show_full_result_count = False
    readonly_fields = [
        "license",
        "period_start",
        "period_end",
        "due_date",
        "state",
        "base_amount",
        "units",
        "royalty",
        "note",
        "attachment_link",
        "filed_by",
        "filed_at",
        "dispute_reason",
        "history",
    ]
    fields = readonly_fields
    confirming_fields = (
        "period_start",
        "period_end",
        "base_amount",
        "units",
        "royalty_it_makes",
        "note",
        "attachment_link",
        "filed_by",
        "filed_at",
    )

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("license__enterprise")  # the page's summary

    @admin.display(description=_("state"), ordering="state")
    def state_shown(self, obj):
        return obj.state_in_words(today())  # "nil report accepted", "late: it was due …"

    @admin.display(description=_("royalty it makes"))
    def royalty_it_makes(self, obj):
        """The royalty the filed base makes under the license's rates and the year's earlier reports
        (what accepting it sets due): the same computation as the SME saw before filing."""
        if obj.royalty is not None:
            return money_text(obj.royalty)
        if obj.base_amount is None or obj.is_use_report:
            return "—"
        return money_text(services.preview_royalty(report=obj, base=obj.base_amount))

    @admin.display(description=_("enterprise"))
    def enterprise(self, obj):
        return obj.license.enterprise

    private_file = "attachment"

    @admin.display(description=_("attachment"))
    def attachment_link(self, obj):
        return self.download_link(obj)


class InvoiceForm(forms.Form):
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=40)
    issued_on = forms.DateField(label=_("Issued on"), initial=today, widget=DateInput())
    kind = forms.ChoiceField(label=_("Invoice kind"), choices=InvoiceRequest.Kind.choices)
    vat_rate = forms.CharField(
        label=_("VAT rate (%)"),
        required=False,
        max_length=10,
        help_text=_("Blank: exempt (免税), for a registered technology contract. Otherwise the rate, e.g. 6."),
    )
    document = forms.FileField(label=_("The invoice (PDF)"))

    def __init__(self, *args, obj: InvoiceRequest, **kwargs):
        super().__init__(*args, **kwargs)
        if not services.vat_exempt(obj.payment):
            self.fields["vat_rate"].help_text = _(
                "VAT applies: this license's contract is not registered as a technology contract."
            )


class InvoiceOverdueFilter(admin.SimpleListFilter):
    title = _("issue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("1", _("Overdue (asked more than 15 days ago)"))]

    def queryset(self, request, queryset):
        return queryset.filter(InvoiceRequest.overdue_q(today())) if self.value() == "1" else queryset


@admin.register(InvoiceRequest)
class InvoiceRequestAdmin(PrivateFileMixin, AuditTrailMixin, ServiceActionsAdmin):
    """Invoices the SMEs ask for; the finance office records each one it issued, with its PDF."""

    private_file = "document"
    service_actions = [
        admin_actions.ServiceAction(
            "record",
            _("Record the invoice"),
            InvoiceForm,
            lambda request, by, d: services.record_invoice(request_id=request.pk, by=by, **d),
            lambda request: request.state == InvoiceRequest.State.REQUESTED,
            takes_obj=True,
            done=lambda request, done: (
                gettext("Invoice %(number)s recorded; the enterprise is told.") % {"number": done.invoice_number}
            ),
        ),
    ]
    list_display = ["payment", "license", "buyer_name", "state", "requested_at", "overdue", "invoice_number", "vat"]
    list_filter = ["state", InvoiceOverdueFilter]
    list_select_related = ["payment", "license"]
    search_fields = ["buyer_name", "taxpayer_number", "invoice_number", "payment__reference"]
    fields = [
        "payment",
        "license",
        "state",
        "vat",
        "buyer_name",
        "taxpayer_number",
        "address_phone",
        "bank_account",
        "email",
        "requested_at",
        "requested_by",
        "invoice_number",
        "issued_on",
        "kind",
        "vat_rate",
        "download_link",
    ]
    readonly_fields = fields
    confirming_fields = ("payment", "buyer_name", "taxpayer_number", "vat")
    history_last = True
    actions = None

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj):
        return obj.is_overdue_on(today())

    @admin.display(description=_("VAT"))
    def vat(self, obj):
        if obj.state == InvoiceRequest.State.ISSUED:
            return gettext("Exempt") if obj.vat_rate is None else percent(obj.vat_rate)
        exempt = services.vat_exempt(obj.payment)
        return gettext("Exempt (registered technology contract)") if exempt else gettext("VAT applies")
