"""Patents and offers."""

from django.contrib import admin

from .. import selectors
from ..models import (
    Offer,
    Patent,
)
from . import actions as admin_actions
from .base import AuditTrailMixin, InstitutionScopedAdmin, ServiceActionsAdmin


@admin.register(Patent)
class PatentAdmin(AuditTrailMixin, InstitutionScopedAdmin):
    list_display = [
        "number",
        "title",
        "patent_type",
        "ipc_class",
        "owner",
        "filing_date",
        "expiry_date",
        "legal_status",
    ]
    list_filter = ["patent_type", "legal_status", "expiry_date"]
    list_select_related = ["owner"]
    search_fields = ["number", "title", "ipc_class"]
    readonly_fields = ["patent_type", "history"]
    date_hierarchy = "filing_date"

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        institution = selectors.institution_of(request.user)
        if institution:
            initial["owner"] = institution
        return initial


@admin.register(Offer)
class OfferAdmin(AuditTrailMixin, ServiceActionsAdmin):
    service_actions = admin_actions.OFFER_ACTIONS
    changes_only_through_actions = False  # draft terms are edited in the form
    list_display = [
        "patent",
        "state",
        "trial_months",
        "trial_fee",
        "price",
        "exclusive",
        "equity_allowed",
        "insurance_required",
    ]
    list_filter = ["state", "exclusive", "equity_allowed", "insurance_required"]
    list_select_related = ["patent"]
    search_fields = ["patent__number", "patent__title"]
    autocomplete_fields = ["patent"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["state"]
        if obj.state == Offer.State.DRAFT:
            return ["state", "history"]
        # Published terms are what licensees applied on: they no longer change.
        return [f.name for f in Offer._meta.fields if f.editable] + ["history"]
