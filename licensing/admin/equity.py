"""Equity conversions and their decisions."""

from django.contrib import admin

from ..models import (
    EquityConversion,
)
from . import actions as admin_actions
from .base import AuditTrailMixin, ServiceActionsAdmin

# What a conversion shows, on its page, in its list and in the license's inline.
CONVERSION_FIELDS = ["state", "share", "converted_amount", "valuation", "stake", "proposed_on", "executed_on"]


@admin.register(EquityConversion)
class EquityConversionAdmin(AuditTrailMixin, ServiceActionsAdmin):
    service_actions = admin_actions.EQUITY_ACTIONS
    list_display = ["__str__", "license", *CONVERSION_FIELDS[:-1]]
    list_filter = ["state"]
    list_select_related = ["license"]
    readonly_fields = ["license", *CONVERSION_FIELDS, "history"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False
