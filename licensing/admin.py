"""The TTO's workplace. Staff see only their institution's rows (scoped querysets, so other
rows 404); state changes go through the service buttons in admin_actions, never the form."""

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import admin_actions, selectors, services
from .models import (
    AuditEvent,
    Enterprise,
    EnterpriseMember,
    EquityConversion,
    Export,
    Installment,
    Institution,
    InsuranceClaim,
    InsurancePolicy,
    License,
    Offer,
    Patent,
    Payment,
    PaymentReport,
    Reminder,
    ReminderSchedule,
    StaffProfile,
    today,
)
from .receipts import receipt_response


class InstitutionScopedAdmin(admin.ModelAdmin):
    """Rows of the staff member's own institution only; superusers see all. These are the tables
    that grow with the book, so their search matches related rows by key (`selectors.search`)."""

    def get_search_results(self, request, queryset, search_term):
        return selectors.search(queryset, search_term, self.get_search_fields(request)), False

    @property
    def institution_path(self) -> str:
        return selectors.INSTITUTION_PATH[self.model]

    def get_queryset(self, request):
        if self.institution_path is None:
            return super().get_queryset(request)
        return selectors.scope_to_user(super().get_queryset(request), request.user, self.institution_path)

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and self.institution_path is not None:
            filters.append((self.institution_path, admin.RelatedFieldListFilter))  # few rows; no scan of the book
        return filters

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if related is Institution and not request.user.is_superuser:
            kwargs["queryset"] = Institution.objects.filter(staff__user=request.user)
        elif related in selectors.INSTITUTION_PATH:
            kwargs["queryset"] = selectors.scope_to_user(
                related.objects.all(), request.user, selectors.INSTITUTION_PATH[related]
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class RecordsOnlyAdmin(InstitutionScopedAdmin):
    """Records written by services (payments, the reminder ledger): listed, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceActionsAdmin(InstitutionScopedAdmin):
    """Adds one button per service action on the change page, each with its own small form."""

    service_actions: list[admin_actions.ServiceAction] = []
    changes_only_through_actions = True  # every field read-only: no Save button
    change_form_template = "admin/licensing/service_actions_change_form.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/act/<str:action>/",
                self.admin_site.admin_view(self.action_view),
                name="{}_{}_act".format(*info),
            ),
            *super().get_urls(),
        ]

    def available_actions(self, request, obj):
        return [a for a in self.service_actions if a.available(obj)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        extra_context = extra_context or {}
        if obj is not None and self.has_change_permission(request, obj):
            extra_context["service_actions"] = self.available_actions(request, obj)
        if self.changes_only_through_actions:
            extra_context.update(show_save=False, show_save_and_continue=False, show_delete=False)
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request, object_id, action):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        spec = next((a for a in self.available_actions(request, obj) if a.name == action), None)
        if spec is None:
            raise Http404
        form_kwargs = {"obj": obj} if spec.takes_obj else {}
        # A POST is always a submission, even with no fields: it acts, or says why not.
        form = spec.form(request.POST if request.method == "POST" else None, **form_kwargs)
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        if request.method == "POST" and form.is_valid():
            try:
                spec.perform(obj, request.user, form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc) if not hasattr(exc, "error_dict") else _add_field_errors(form, exc)
            else:
                self.message_user(request, gettext("Done: %(action)s.") % {"action": spec.label}, messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        if form.is_bound:
            _show_hidden_errors(form)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": f"{spec.label}: {obj}",
            "form": form,
            "action": spec,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/licensing/service_action.html", context)


def _add_field_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _show_hidden_errors(form) -> None:
    """A hidden field's error (an altered or expired form) is shown above the form, since the
    field itself is not: every refusal says why."""
    for field in form.hidden_fields():
        for error in field.errors:
            if error not in form.non_field_errors():
                form.add_error(None, error)


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
        ]

    def queryset(self, request, queryset):
        value, now = self.value(), today()
        if value == "overdue":
            return selectors.with_installment_due(queryset, end=now - timedelta(days=1))
        if value in ("7", "30"):
            return selectors.with_installment_due(queryset, start=now, end=now + timedelta(days=int(value)))
        if value == "none":
            return selectors.without_anything_due(queryset)
        return queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class InstallmentInline(ReadOnlyInline):
    model = Installment
    fields = ["kind", "sequence", "amount", "due_date", "effective_due_date", "paid_amount", "state"]
    readonly_fields = fields
    show_change_link = False


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["amount", "paid_on", "reference", "recorded_by", "recorded_at"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")


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
    fields = ["state", "share", "converted_amount", "valuation", "stake", "proposed_on", "executed_on"]
    readonly_fields = fields


class TransitionLogMixin:
    """Shows the object's transition log (who, when, from, to, why) on its change page."""

    @admin.display(description=_("History of state changes"))
    def history(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        state_labels = dict(obj._meta.get_field("state").flatchoices)
        rows = [
            {
                "timestamp": log.timestamp,
                "by": log.by,
                "source": state_labels.get(log.source_state, log.source_state),
                "target": state_labels.get(log.state, log.state),
                "transition": log.transition,
                "description": log.description,
            }
            for log in selectors.transition_log(obj)
        ]
        return render_to_string("admin/licensing/transition_log.html", {"rows": rows})


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "contact_email", "patent_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        qs = super().get_queryset(request).annotate(patent_count=Count("patents"))
        if request.user.is_superuser:
            return qs
        return qs.filter(staff__user=request.user)

    @admin.display(description=_("number of patents"), ordering="patent_count")
    def patent_count(self, obj):
        return obj.patent_count


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "institution"]
    list_select_related = ["user", "institution"]
    autocomplete_fields = ["user"]


class AuditEventInline(ReadOnlyInline):
    model = AuditEvent
    fields = ["at", "action", "by", "what_changed", "reason"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("History of changes")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")

    @admin.display(description=_("changes"))
    def what_changed(self, obj):
        return format_html_join(mark_safe("<br>"), "{}: {} → {}", obj.readable_changes()) or "—"


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    """Enterprises keep their own master data in the portal. Staff see the enterprises that deal
    with their institution and may correct one only under `services.staff_may_correct_enterprise`;
    every change goes through `services.update_enterprise` and is an audit event."""

    list_display = ["name", "uscc", "industry", "employees", "annual_revenue", "size_class", "high_tech"]
    list_filter = ["size_class", "industry", "high_tech"]
    search_fields = ["name", "uscc"]
    inlines = [AuditEventInline]

    def get_queryset(self, request):
        return selectors.enterprises_for(request.user, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["size_class"]
        editable = services.ENTERPRISE_MASTER_DATA if services.staff_may_correct_enterprise(obj, request.user) else ()
        return [f.name for f in Enterprise._meta.fields if f.name not in editable and f.name != "id"]

    def has_delete_permission(self, request, obj=None):
        return False  # licenses, members and the audit trail hang on it

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            services.record_enterprise_created(obj, by=request.user)
            return
        fields = [name for name in form.changed_data if name in services.ENTERPRISE_MASTER_DATA]
        if fields:
            services.update_enterprise(
                enterprise_id=obj.pk,
                by=request.user,
                changes={name: form.cleaned_data[name] for name in fields},
                reason=gettext("Corrected by TTO staff in the admin"),
            )


@admin.register(Patent)
class PatentAdmin(InstitutionScopedAdmin):
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
    readonly_fields = ["patent_type"]
    date_hierarchy = "filing_date"

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        institution = selectors.institution_of(request.user)
        if institution:
            initial["owner"] = institution
        return initial


@admin.register(Offer)
class OfferAdmin(TransitionLogMixin, ServiceActionsAdmin):
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


class ReminderInline(ReadOnlyInline):
    model = Reminder
    fields = ["kind", "offset_days", "deadline", "state", "sent_at", "attempts", "last_error"]
    readonly_fields = fields
    show_change_link = False


@admin.register(License)
class LicenseAdmin(TransitionLogMixin, ServiceActionsAdmin):
    service_actions = admin_actions.LICENSE_ACTIONS
    list_display = [
        "__str__",
        "patent_number",
        "enterprise",
        "size_class",
        "state",
        "trial_end",
        "next_due",
        "outstanding",
    ]
    list_filter = ["state", "enterprise__size_class", InstallmentDueFilter, "trial_end", "offer__exclusive"]
    search_fields = ["offer__patent__number", "offer__patent__title", "enterprise__name", "enterprise__uscc"]
    inlines = [InstallmentInline, PaymentInline, PolicyInline, ClaimInline, EquityInline, ReminderInline]
    readonly_fields = [
        "offer",
        "enterprise",
        "state",
        "applied_at",
        "intended_use",
        "price",
        "trial_fee",
        "trial_start",
        "trial_end",
        "trial_end_effective",
        "plan",
        "purchased_on",
        "defaulted_on",
        "history",
    ]
    fields = readonly_fields
    list_per_page = 50
    show_full_result_count = False
    actions = None  # no bulk "delete selected": a license ends by a transition, kept in its history

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return selectors.licenses_with_balances(super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # applications come from the portal or the `apply` action on an offer

    @admin.display(description=_("patent"), ordering="offer__patent__number")
    def patent_number(self, obj):
        return obj.offer.patent.number

    @admin.display(description=_("size class"), ordering="enterprise__size_class")
    def size_class(self, obj):
        return obj.enterprise.get_size_class_display()

    @admin.display(description=_("next due (effective)"), ordering="next_due_date")
    def next_due(self, obj):
        return obj.next_due_date

    @admin.display(description=_("outstanding (CNY)"), ordering="outstanding_amount")
    def outstanding(self, obj):
        return f"{obj.outstanding_amount:,.2f}"


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


@admin.register(InsuranceClaim)
class InsuranceClaimAdmin(TransitionLogMixin, ServiceActionsAdmin):
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


@admin.register(EquityConversion)
class EquityConversionAdmin(TransitionLogMixin, ServiceActionsAdmin):
    service_actions = admin_actions.EQUITY_ACTIONS
    list_display = ["__str__", "license", "state", "share", "converted_amount", "valuation", "stake", "proposed_on"]
    list_filter = ["state"]
    list_select_related = ["license"]
    readonly_fields = [
        "license",
        "state",
        "share",
        "converted_amount",
        "valuation",
        "stake",
        "proposed_on",
        "executed_on",
        "history",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False


@admin.register(Reminder)
class ReminderAdmin(RecordsOnlyAdmin):
    """The ledger: what was sent to whom, and what could not be sent yet (with the error)."""

    list_display = [
        "kind",
        "license",
        "offset_days",
        "deadline",
        "state",
        "attempts",
        "sent_at",
        "recipients",
        "last_error",
    ]
    list_filter = ["state", "kind", "deadline"]
    list_select_related = ["license"]
    search_fields = ["recipients", "key"]
    show_full_result_count = False  # the ledger grows by a row per notice: count it once, not twice


@admin.register(ReminderSchedule)
class ReminderScheduleAdmin(InstitutionScopedAdmin):
    list_display = ["institution", "trial_ending_days", "installment_due_days", "overdue_days"]


@admin.register(EnterpriseMember)
class EnterpriseMemberAdmin(TransitionLogMixin, ServiceActionsAdmin):
    """SME portal users. Staff see the members of enterprises that deal with their institution,
    and sign-ups of enterprises that deal with nobody yet; they approve or revoke one only when
    the enterprise deals with no other institution (`services.member_decision_allowed`)."""

    institution_path = None
    service_actions = admin_actions.MEMBER_ACTIONS

    def get_queryset(self, request):
        return super().get_queryset(request).filter(enterprise__in=selectors.enterprises_for(request.user))

    def available_actions(self, request, obj):
        if not services.member_decision_allowed(obj, request.user):
            return []
        return super().available_actions(request, obj)

    list_display = ["full_name", "user", "enterprise", "state", "created_at"]
    list_filter = ["state"]
    list_select_related = ["user", "enterprise"]
    search_fields = ["full_name", "user__username", "user__email", "enterprise__name", "enterprise__uscc"]
    readonly_fields = ["user", "enterprise", "full_name", "phone", "state", "created_at", "history"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # members sign up in the portal


@admin.register(PaymentReport)
class PaymentReportAdmin(TransitionLogMixin, ServiceActionsAdmin):
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


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """Spreadsheets requested from the dashboard: each user's own. The page of one shows its
    progress and reloads itself until the file is ready."""

    list_display = ["__str__", "kind", "state", "progress", "rows_total", "created_at", "download"]
    list_filter = ["kind", "state"]
    fields = [
        "kind",
        "state",
        "progress",
        "rows_total",
        "institution",
        "ipc_section",
        "date_from",
        "date_to",
        "requested_by",
        "created_at",
        "finished_at",
        "error",
        "download",
    ]
    readonly_fields = fields
    change_form_template = "admin/licensing/export_change_form.html"

    def get_queryset(self, request):
        return selectors.exports_of(request.user).select_related("requested_by", "institution")

    def has_add_permission(self, request):
        return False  # requested from the dashboard

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return format_html('<progress value="{}" max="100"></progress> {}%', obj.percent, obj.percent)

    @admin.display(description=_("file"))
    def download(self, obj):
        if obj.state != Export.State.DONE:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:export_download", args=[obj.pk]), gettext("Download"))
