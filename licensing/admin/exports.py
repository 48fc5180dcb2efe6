"""Spreadsheets requested from the dashboard, each user's own."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..models import (
    Export,
)


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
