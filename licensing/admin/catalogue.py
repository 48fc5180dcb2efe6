"""Patents and offers."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .. import selectors, services
from ..formfields import NUMBER_OVERRIDES
from ..models import (
    DealTerms,
    Offer,
    OfferMilestone,
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


class MilestoneInline(admin.TabularInline):
    """A draft's milestones are edited here; a published offer's are read-only (a new version changes them)."""

    model = OfferMilestone
    extra = 0
    formfield_overrides = NUMBER_OVERRIDES

    def has_add_permission(self, request, obj=None):
        return obj is None or obj.state == Offer.State.DRAFT

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.state == Offer.State.DRAFT

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.state == Offer.State.DRAFT


class OfferForm(forms.ModelForm):
    """The offer's terms, and the other patents of its package (a draft's only)."""

    package = forms.ModelMultipleChoiceField(
        queryset=Patent.objects.none(),
        required=False,
        label=_("other patents in the package"),
        help_text=_("Patents of the same institution licensed together with the lead patent."),
    )

    class Meta:
        model = Offer
        fields = ["patent", *DealTerms.term_names()]

    def clean(self):
        cleaned = super().clean()
        lead = cleaned.get("patent") or getattr(self.instance, "patent", None)
        if lead is not None and "package" in self.fields:
            try:
                services.check_package(lead, cleaned.get("package") or [])
            except ValidationError as exc:
                self.add_error("package", exc.message_dict["package"])
        return cleaned


@admin.register(Offer)
class OfferAdmin(AuditTrailMixin, ServiceActionsAdmin):
    form = OfferForm
    inlines = [MilestoneInline]
    service_actions = admin_actions.OFFER_ACTIONS
    changes_only_through_actions = False  # draft terms are edited in the form
    list_display = [
        "patent",
        "package_size",
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
        package = "package" if obj is None or obj.state == Offer.State.DRAFT else "package_list"
        groups = [
            (None, {"fields": ["patent", package, "state", "version", "replaces"]}),
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
        editable = [f.name for f in Offer._meta.fields if f.editable]
        return [*editable, "package_list", "state", "version", "replaces", "history"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and obj.state != Offer.State.DRAFT:
            form.base_fields.pop("package", None)  # a published package changes by a new version
        if "package" in form.base_fields:
            field = form.base_fields["package"]
            field.queryset = selectors.scope_to_user(Patent.objects.all(), request.user, "owner")
            field.widget = AutocompleteSelectMultiple(Offer._meta.get_field("patents"), self.admin_site)
            if obj is not None:
                field.initial = [pk for pk in obj.patents.values_list("pk", flat=True) if pk != obj.patent_id]
        return form

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "package" in form.cleaned_data:
            services.set_package(offer_id=form.instance.pk, patents=form.cleaned_data["package"], by=request.user)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(package_size=Count("patent_links"))

    @admin.display(description=_("patents"), ordering="package_size")
    def package_size(self, obj):
        return obj.package_size

    @admin.display(description=_("patents in the package"))
    def package_list(self, obj):
        return ", ".join(obj.patents.order_by("number").values_list("number", flat=True)) if obj else "—"
