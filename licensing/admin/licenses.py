"""Licenses: the list with balances and due filters, the page with its schedule, payments, policy,
claims, conversions and reminders, and the service buttons."""

from datetime import timedelta

from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..domain.clock import today
from ..domain.numbers import money_text
from ..models import (
    Contract,
    CreditMovement,
    DealTerms,
    EquityConversion,
    Installment,
    InsuranceClaim,
    InsurancePolicy,
    License,
    LicenseMilestone,
    Payment,
    Reminder,
    RoyaltyReport,
)
from . import actions as admin_actions
from .base import AuditTrailMixin, ReadOnlyInline, ServiceActionsAdmin
from .contracts import contract_on_license
from .equity import CONVERSION_FIELDS


class InstallmentDueFilter(admin.SimpleListFilter):
    """Licenses with an unpaid installment overdue, or due soon, by the effective due date as the
    sweep, reminders and dashboard count it (EXISTS subqueries: fast on a large book)."""

    title = _("installments due")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("7", _("Within 7 days")),
            ("30", _("Within 30 days")),
            ("none", _("Nothing due")),
            ("unpaid", _("Something unpaid (what the dashboard counts as outstanding)")),
        ]

    def queryset(self, request, queryset):
        value, now = self.value(), today()
        if value == "overdue":
            return queryset.filter(License.overdue_q(now))
        if value in ("7", "30"):
            return selectors.with_installment_due(queryset, start=now, end=now + timedelta(days=int(value)))
        if value == "none":
            return selectors.without_anything_due(queryset)
        if value == "unpaid":
            return selectors.with_installment_due(queryset).filter(state__in=selectors.OWED_STATES)
        return queryset


class ContractFilter(admin.SimpleListFilter):
    """Where each bought license's contract stands (License.awaits_contract_q, Contract's twins)."""

    title = _("contract")
    parameter_name = "contract"

    def lookups(self, request, model_admin):
        return [
            ("to_issue", _("Bought, no contract issued yet")),
            ("licensee", _("Awaiting the licensee's signature")),
            ("licensor", _("Signed by the licensee, to sign and record")),
            ("signed", _("Signed")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "to_issue":
            return queryset.filter(License.awaits_contract_q())
        if value == "licensee":
            return queryset.filter(contract__in=Contract.objects.filter(Contract.awaits_licensee_q()))
        if value == "licensor":
            return queryset.filter(contract__in=Contract.objects.filter(Contract.awaits_licensor_q()))
        if value == "signed":
            return queryset.filter(contract__state=Contract.State.SIGNED)
        return queryset


class TrialEndsFilter(admin.SimpleListFilter):
    """Trials ending soon, by their effective end (what the reminders and the sweep read)."""

    title = _("trial ends")
    parameter_name = "trial_ends"

    def lookups(self, request, model_admin):
        return [("7", _("In the next 7 days")), ("30", _("In the next 30 days")), ("past", _("Ended, no decision"))]

    def queryset(self, request, queryset):
        value, now = self.value(), today()
        if value in ("7", "30"):
            return queryset.filter(License.trial_ending_q(now, int(value)))
        if value == "past":
            return queryset.filter(License.trial_ended_q(now))
        return queryset


class InstallmentInline(ReadOnlyInline):
    """What is due; a royalty period still to report is listed with the reports instead."""

    model = Installment
    fields = ["kind", "sequence", "amount", "due_date", "effective_due_date", "paid_amount", "state"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(report_pending=False)


class RoyaltyReportInline(ReadOnlyInline):
    """The reports of the periods begun so far (the link opens a report to accept or dispute it)."""

    model = RoyaltyReport
    fields = ["period_start", "period_end", "due_date", "state_shown", "base_amount", "units", "royalty"]
    readonly_fields = fields
    verbose_name_plural = _("royalty and use reports")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(period_start__lte=today()).select_related("license")

    @admin.display(description=_("state"))
    def state_shown(self, obj):
        return obj.state_in_words(today())  # "nil report accepted", "late: it was due …"


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["amount", "paid_on", "reference", "state", "recorded_by", "recorded_at"]
    readonly_fields = fields
    show_change_link = True  # its page reverses one recorded in error

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")


class CreditInline(ReadOnlyInline):
    model = CreditMovement
    fields = ["at", "kind", "amount", "payment", "installment", "reference", "reason", "by"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("Credit")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment", "installment", "by")


class MilestoneInline(ReadOnlyInline):
    model = LicenseMilestone
    fields = ["name", "amount", "due_days", "state", "reached_on", "installment", "declared_by"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("installment", "declared_by")


class PolicyInline(ReadOnlyInline):
    model = InsurancePolicy
    fields = ["kind", "insurer", "policy_number", "coverage_ratio", "premium", "starts_on", "ends_on"]
    readonly_fields = fields
    show_change_link = False


class ClaimInline(ReadOnlyInline):
    model = InsuranceClaim
    fields = ["state", "filed_on", "outstanding_at_filing", "claimed_amount", "paid_amount"]
    readonly_fields = fields


class EquityInline(ReadOnlyInline):
    model = EquityConversion
    fields = CONVERSION_FIELDS
    readonly_fields = fields


class ReminderInline(ReadOnlyInline):
    model = Reminder
    fields = ["kind", "offset_days", "deadline", "state", "sent_at", "attempts", "last_error"]
    readonly_fields = fields
    show_change_link = False


@admin.register(License)
class LicenseAdmin(AuditTrailMixin, ServiceActionsAdmin):
    service_actions = admin_actions.LICENSE_ACTIONS
    # What an officer scans for first comes first: at 1280 px the next due date and the amount
    # outstanding are in view without scrolling.
    list_display = [
        "__str__",
        "enterprise",
        "state",
        "next_due",
        "outstanding",
        "trial_end",
        "patent_number",
        "size_class",
    ]
    # The sorts an index serves (models/licenses.py), however big the book (issue 25).
    sortable_by = ["enterprise", "state", "next_due", "outstanding"]
    list_filter = [
        "state",
        "enterprise__size_class",
        InstallmentDueFilter,
        TrialEndsFilter,
        ContractFilter,
        "license_type",
    ]
    search_fields = ["offer__patent__number", "offer__patent__title", "enterprise__name", "enterprise__uscc"]
    inlines = [
        InstallmentInline,
        RoyaltyReportInline,
        PaymentInline,
        CreditInline,
        MilestoneInline,
        PolicyInline,
        ClaimInline,
        EquityInline,
        ReminderInline,
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "offer",
                    "package",
                    "enterprise",
                    "contact",
                    "enterprise_email",
                    "state",
                    "applied_at",
                    "intended_use",
                    "trial_start",
                    "trial_end",
                    "trial_end_effective",
                    "plan_name",
                    "purchased_on",
                    "contract_line",
                    "defaulted_on",
                    "credit",
                ]
            },
        ),
        # Folded: forty terms read once, while the summary, schedule and history are read daily.
        (
            _("Terms (fixed when applied for; the lifecycle reads these)"),
            {"fields": DealTerms.term_names(), "classes": ["collapse"]},
        ),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]
    # The history comes last, under the schedule, reports and payments (the change form's
    # after_related_objects block): the money is read daily, the history when something is asked.
    history_last = True
    list_per_page = 50
    show_full_result_count = False
    actions = None  # no bulk "delete selected": a license ends by a transition, kept in its history

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # The contract joined: the page's contract line and its button read it without a query. The
        # balance columns are the license's own (models/balances.py): no subquery per row, so a deep
        # page or a sort by them reads an index, however big the book.
        return super().get_queryset(request).select_related("offer__patent__owner", "enterprise", "contract")

    def get_inline_instances(self, request, obj=None):
        """Only the sections with rows (a trial shows no payments, claims or reminders), known
        from one query and kept for the request."""
        inlines = super().get_inline_instances(request, obj)
        if obj is None:
            return inlines
        if getattr(request, "_license_sections", (None,))[0] != obj.pk:
            request._license_sections = (obj.pk, selectors.related_present(obj, [i.model for i in inlines]))
        present = request._license_sections[1]
        return [inline for inline in inlines if inline.model in present]

    def has_add_permission(self, request):
        return False  # applications come from the portal or the `apply` action on an offer

    @admin.display(description=_("contract"))
    def contract_line(self, obj):
        return contract_on_license(obj)

    @admin.display(description=_("patents"))
    def package(self, obj):
        """The patents the license covers (its own copy of the package), those no longer in force marked."""
        patents = obj.patents.order_by("number")
        return ", ".join(
            p.number if p.in_force_today else f"{p.number} ({gettext('no longer in force')})" for p in patents
        )

    @admin.display(description=_("fee"))
    def plan_name(self, obj):
        return obj.plan_name

    @admin.display(description=_("enterprise's email for reminders"))
    def enterprise_email(self, obj):
        return obj.enterprise.contact_email or "—"

    @admin.display(description=_("offer"), ordering="offer__patent__number")
    def patent_number(self, obj):
        return f"{obj.offer.title} · {obj.offer.patent.number}"  # the deal by its title, and its lead patent

    @admin.display(description=_("size class"), ordering="enterprise__size_class")
    def size_class(self, obj):
        return obj.enterprise.get_size_class_display()

    @admin.display(description=_("next due (effective)"), ordering="next_due_date")
    def next_due(self, obj):
        return obj.next_due_date

    @admin.display(description=_("outstanding (CNY)"), ordering="outstanding_amount")
    def outstanding(self, obj):
        return money_text(obj.outstanding_amount)
