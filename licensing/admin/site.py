"""The admin site of the TTO: Django's, plus the dashboard and the exports (admin_reports)."""

from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _

from . import reports as admin_reports


class TTOAdminSite(admin.AdminSite):
    site_header = _("Patent licensing: try before you pay")
    # The side menu repeats the index (with its work queue) and the breadcrumbs, and at 1280 px it
    # took 300 px from every list: the next due date and the amount outstanding were off screen.
    enable_nav_sidebar = False
    site_title = _("TTO licensing")
    index_title = _("Technology transfer office")

    def has_permission(self, request):
        """Staff work on one institution's book: a staff account tied to no institution (and not
        a superuser) sees and changes nothing, anywhere in the admin."""
        user = request.user
        if not super().has_permission(request):
            return False
        return user.is_superuser or hasattr(user, "staff_profile")

    def get_urls(self):
        def view(function):
            return self.admin_view(lambda request, **kwargs: function(request, self, **kwargs))

        return [
            path("dashboard/", view(admin_reports.dashboard), name="dashboard"),
            path("dashboard/<slug:slug>.<str:fmt>", view(admin_reports.dashboard_table), name="dashboard_table"),
            path("exports/<str:kind>.csv", view(admin_reports.export_csv), name="export_csv"),
            path("exports/<str:kind>/xlsx/", view(admin_reports.request_export), name="export_xlsx"),
            path("exports/<int:export_id>/download/", view(admin_reports.export_download), name="export_download"),
            *super().get_urls(),
        ]
