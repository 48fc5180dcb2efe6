"""Insurance claims and their decisions."""

from django.contrib import admin

from ..models import (
    InsuranceClaim,
)
from . import actions as admin_actions
from .base import AuditTrailMixin, ServiceActionsAdmin


@admin.register(InsuranceClaim)
class InsuranceClaimAdmin(AuditTrailMixin, ServiceActionsAdmin):
    service_actions = admin_actions.CLAIM_ACTIONS
    list_display = ["__str__", "license", "policy", "state", "filed_on", "claimed_amount", "paid_amount"]
    list_filter = ["state", "filed_on"]
    list_select_related = ["license", "policy"]
    readonly_fields = [
        "license",
        "policy",
        "state",
        "outstanding_at_filing",
        "claimed_amount",
        "paid_amount",
        "filed_on",
        "history",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False
