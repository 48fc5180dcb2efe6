"""The admin site of the TTO: Django's, plus the dashboard and the exports (admin_reports)."""

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.urls import path
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..models import LicenseType, Patent
from . import reports as admin_reports


class PickerJsonView(AutocompleteJsonView):
    """Django's autocomplete, with each patent's legal status and live licenses beside it: the
    officer picking patents for an offer or a package sees which are licensed, and how."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        patents = [obj.pk for obj in context["object_list"] if isinstance(obj, Patent)]
        self.held = selectors.live_license_types(patents) if patents else {}
        return context

    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        if isinstance(obj, Patent):
            result["text"] = " · ".join([result["text"], patent_status(obj), held_text(self.held.get(obj.pk, {}))])
        return result


def patent_status(patent: Patent) -> str:
    if patent.legal_status == Patent.LegalStatus.VALID:
        return gettext("in force until %(date)s") % {"date": date_format(patent.expiry_date)}
    return str(patent.get_legal_status_display())


def held_text(counts: dict[str, int]) -> str:
    """'no live license', or 'live: 1 sole, 2 ordinary' in the reader's language."""
    if not counts:
        return gettext("no live license")
    parts = [
        ngettext("%(n)s %(type)s license", "%(n)s %(type)s licenses", counts[value])
        % {"n": counts[value], "type": str(label).lower()}
        for value, label in LicenseType.choices
        if value in counts
    ]
    return gettext("live: %(licenses)s") % {"licenses": ", ".join(parts)}


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

    def autocomplete_view(self, request):
        return PickerJsonView.as_view(admin_site=self)(request)

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
