"""Matching in the admin: push campaigns and their funnels (a campaign is made by an offer's
"Push to fitting enterprises" button, services.push_to_fitting)."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..models import PushCampaign
from ..reporting.dashboard import FUNNEL_LABELS
from .base import AuditTrailMixin, RecordsOnlyAdmin


@admin.register(PushCampaign)
class PushCampaignAdmin(AuditTrailMixin, RecordsOnlyAdmin):
    list_display = ["name", "created_at", "created_by", "institution"]
    list_select_related = ["created_by", "institution"]
    search_fields = ["name"]
    fields = ["name", "institution", "created_by", "created_at", "funnel", "history"]
    readonly_fields = fields

    @admin.display(description=_("funnel by size class"))
    def funnel(self, obj):
        """From the email to the purchase: how many of the pushes reached each step."""
        rows = selectors.campaign_funnel(obj)
        steps = selectors.FUNNEL_STEPS
        head = format_html_join("", "<th>{}</th>", ((FUNNEL_LABELS[step],) for step in steps))
        body = format_html_join(
            "",
            "<tr><th>{}</th>{}</tr>",
            (
                (row["size_class"], format_html_join("", "<td>{}</td>", ((row[step],) for step in steps)))
                for row in rows
            ),
        )
        return format_html(
            '<table class="funnel"><thead><tr><th>{}</th>{}</tr></thead><tbody>{}</tbody></table>',
            _("size class"),
            head,
            body,
        )
