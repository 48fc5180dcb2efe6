"""Institutions and their staff, enterprises (read, and corrected only under the rule in
services.staff_may_correct_enterprise) and their portal members."""

from django.contrib import admin
from django.db.models import Count
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import selectors, services
from ..domain import industries
from ..domain.numbers import money_text
from ..formfields import NUMBER_OVERRIDES
from ..models import (
    AuditEvent,
    Enterprise,
    EnterpriseMember,
    EnterpriseNeeds,
    Institution,
    StaffProfile,
)
from . import actions as admin_actions
from .base import AuditedAdmin, AuditTrailMixin, ReadOnlyInline, ServiceActionsAdmin
from .paging import LongListAdmin


@admin.register(Institution)
class InstitutionAdmin(AuditedAdmin):
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
class StaffProfileAdmin(AuditedAdmin):
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
class EnterpriseAdmin(LongListAdmin, admin.ModelAdmin):
    """Enterprises keep their own master data in the portal. Staff see the enterprises that deal
    with their institution and may correct one only under `services.staff_may_correct_enterprise`;
    every change goes through `services.update_enterprise` and is an audit event."""

    formfield_overrides = NUMBER_OVERRIDES
    list_display = ["name", "uscc", "industry_section", "employees", "annual_revenue", "size_class", "high_tech"]
    list_filter = ["size_class", "industry_section", "industry", "high_tech"]
    search_fields = ["name", "uscc"]
    inlines = [AuditEventInline]

    def get_queryset(self, request):
        return selectors.enterprises_for(request.user, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["size_class"]
        editable = services.ENTERPRISE_MASTER_DATA if services.staff_may_correct_enterprise(obj, request.user) else ()
        fixed = [f.name for f in Enterprise._meta.fields if f.name not in editable and f.name != "id"]
        return [*fixed, "needs_summary"]

    @admin.display(description=_("what it needs"))
    def needs_summary(self, obj):
        """Its needs as its members wrote them (kept by them in the portal), and whether it asked
        for fitting offers."""
        needs = EnterpriseNeeds.objects.filter(enterprise=obj).first()
        if needs is None or needs.is_empty:
            return _("Not described yet.")
        language = translation.get_language() or "zh-hans"
        return format_html(
            "{}: {}<br>{}: {}<br>{}: {}<br>{}: {}<br>{}: {}",
            _("products and services"),
            needs.products or "—",
            _("technical problems to solve"),
            needs.problems or "—",
            _("industries (GB/T 4754 divisions)"),
            "; ".join(industries.division_name(code, language) for code in needs.division_list) or "—",
            _("keywords"),
            needs.keywords or "—",
            _("offers pushed since"),
            needs.push_consented_at or _("not asked for"),
        )

    def has_delete_permission(self, request, obj=None):
        return False  # licenses, members and the audit trail hang on it

    def save_model(self, request, obj, form, change):
        if not change:
            services.register_enterprise(enterprise=obj, by=request.user)
            return
        fields = [name for name in form.changed_data if name in services.ENTERPRISE_MASTER_DATA]
        if fields:
            services.update_enterprise(
                enterprise_id=obj.pk,
                by=request.user,
                changes={name: form.cleaned_data[name] for name in fields},
                reason=gettext("Corrected by TTO staff in the admin"),
            )


@admin.register(EnterpriseMember)
class EnterpriseMemberAdmin(AuditTrailMixin, ServiceActionsAdmin):
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
    # What to check before approving: who signed up, for which enterprise (its USCC and the size
    # figures it gave), which email the notices go to, and the privacy consent.
    readonly_fields = [
        "user",
        "email",
        "full_name",
        "phone",
        "enterprise",
        "uscc",
        "industry_section",
        "size_figures",
        "enterprise_email",
        "state",
        "created_at",
        "consent",
        "history",
    ]
    fields = readonly_fields
    confirming_fields = (
        "full_name",
        "email",
        "phone",
        "enterprise",
        "uscc",
        "industry_section",
        "size_figures",
        "enterprise_email",
        "consent",
    )

    @admin.display(description=_("email"))
    def email(self, obj):
        return obj.user.email

    @admin.display(description=_("USCC"))
    def uscc(self, obj):
        return obj.enterprise.uscc

    @admin.display(description=_("industry (GB/T 4754 section)"))
    def industry_section(self, obj):
        return obj.enterprise.get_industry_section_display() or "—"

    @admin.display(description=_("size"))
    def size_figures(self, obj):
        e = obj.enterprise
        return gettext(
            "%(size)s: %(industry)s, %(employees)s employees, annual revenue CNY %(revenue)s ten thousand"
        ) % {
            "size": e.get_size_class_display(),
            "industry": e.get_industry_display(),
            "employees": e.employees,
            "revenue": money_text(e.annual_revenue),
        }

    @admin.display(description=_("enterprise's email for notices"))
    def enterprise_email(self, obj):
        return obj.enterprise.contact_email or "—"

    @admin.display(description=_("privacy consent"))
    def consent(self, obj):
        if not obj.privacy_notice_version:
            return "—"
        return gettext("Version %(version)s, at %(when)s") % {
            "version": obj.privacy_notice_version,
            "when": date_format(timezone.localtime(obj.privacy_consented_at), "Y-m-d H:i"),
        }

    def has_add_permission(self, request):
        return False  # members sign up in the portal
