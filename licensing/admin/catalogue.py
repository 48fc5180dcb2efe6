"""Patents and offers."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..models import (
    DealTerms,
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
        "license_type",
        "open_licence",
        "version",
        "equity_allowed",
        "insurance_required",
    ]
    list_filter = ["state", "license_type", "open_licence", "equity_allowed", "insurance_required"]
    list_select_related = ["patent"]
    search_fields = ["patent__number", "patent__title"]
    autocomplete_fields = ["patent"]

    def get_fieldsets(self, request, obj=None):
        terms = DealTerms.GROUPS
        groups = [
            (None, {"fields": ["patent", "state", "version", "replaces"]}),
            (_("License"), {"fields": terms["license"]}),
            (_("Trial, price and payment plans"), {"fields": terms["money"]}),
            (_("Risk: equity and insurance"), {"fields": terms["risk"]}),
            (_("Reporting"), {"fields": terms["reporting"]}),
        ]
        return [*groups, (_("History"), {"fields": ["history"]})] if obj else groups

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["state", "version", "replaces"]
        if obj.state == Offer.State.DRAFT:
            return (
                ["patent", "state", "version", "replaces", "history"]
                if obj.replaces_id
                else [
                    "state",
                    "version",
                    "replaces",
                    "history",
                ]
            )
        # Published terms are what licensees applied on: they change by a new version (the button).
        return [f.name for f in Offer._meta.fields if f.editable] + ["state", "version", "replaces", "history"]
