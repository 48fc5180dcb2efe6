"""Equity conversions and their decisions."""

from django.contrib import admin

from ..models import (
    EquityConversion,
)
from . import actions as admin_actions
from .base import AuditTrailMixin, ServiceActionsAdmin, as_percent

# What a conversion shows, on its page, in its list and in the license's inline; its two
# fractions as percentages.
CONVERSION_FIELDS = [
    "state",
    "share_converted",
    "converted_amount",
    "valuation",
    "resulting_stake",
    "proposed_on",
    "executed_on",
]


class ConversionPercentages:
    share_converted = as_percent(EquityConversion, "share")
    resulting_stake = as_percent(EquityConversion, "stake")


@admin.register(EquityConversion)
class EquityConversionAdmin(ConversionPercentages, AuditTrailMixin, ServiceActionsAdmin):
    service_actions = admin_actions.EQUITY_ACTIONS
    list_display = ["__str__", "license", *CONVERSION_FIELDS[:-1]]
    list_filter = ["state"]
    list_select_related = ["license"]
    readonly_fields = ["license", *CONVERSION_FIELDS, "history"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False
