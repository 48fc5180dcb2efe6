"""Payments (records written by services) and the transfers SMEs report."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import (
    Payment,
    PaymentReport,
)
from ..receipts import receipt_response
from . import actions as admin_actions
from .base import AuditTrailMixin, RecordsOnlyAdmin, ServiceActionsAdmin


@admin.register(Payment)
class PaymentAdmin(RecordsOnlyAdmin):
    """Payments are recorded from the license page (service `record_payment`), never edited."""

    list_display = ["paid_on", "amount", "reference", "license", "enterprise", "recorded_by", "recorded_at"]
    list_filter = ["paid_on"]
    list_select_related = ["license__enterprise", "recorded_by"]
    search_fields = ["reference", "license__enterprise__name", "license__offer__patent__number"]
    # No date_hierarchy: its strip of years is a DISTINCT over every payment (190 ms at 736k).
    show_full_result_count = False

    @admin.display(description=_("enterprise"))
    def enterprise(self, obj):
        return obj.license.enterprise


@admin.register(PaymentReport)
class PaymentReportAdmin(AuditTrailMixin, ServiceActionsAdmin):
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

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [
            path(
                "<path:object_id>/receipt/",
                self.admin_site.admin_view(self.receipt_view),
                name="licensing_paymentreport_receipt",
            ),
            *super().get_urls(),
        ]

    def receipt_view(self, request, object_id):
        report = self.get_object(request, unquote(object_id))  # scoped: another institution's is 404
        if report is None or not report.receipt or not self.has_view_permission(request, report):
            raise Http404
        return receipt_response(report)

    @admin.display(description=_("receipt"))
    def receipt_link(self, obj):
        if not obj.receipt:
            return "—"
        url = reverse("admin:licensing_paymentreport_receipt", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download"))
