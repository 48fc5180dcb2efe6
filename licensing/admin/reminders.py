"""The reminder ledger and each institution's reminder schedule."""

from django.contrib import admin
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from ..models import (
    Reminder,
    ReminderSchedule,
)
from .base import InstitutionScopedAdmin, RecordsOnlyAdmin


@admin.register(Reminder)
class ReminderAdmin(RecordsOnlyAdmin):
    """The ledger: what was sent to whom, and what could not be sent yet (with the error)."""

    list_display = ["kind", "license", "deadline", "state", "sent_at", "recipients", "error_summary"]
    list_filter = ["state", "kind", "deadline"]
    list_select_related = ["license"]
    search_fields = ["recipients", "key"]
    show_full_result_count = False  # the ledger grows by a row per notice: count it once, not twice

    @admin.display(description=_("last error"))
    def error_summary(self, obj):
        """The error's first line, short enough for the list; its page has all of it."""
        first = obj.last_error.splitlines()[0] if obj.last_error else ""
        return Truncator(first).chars(120) or "—"


@admin.register(ReminderSchedule)
class ReminderScheduleAdmin(InstitutionScopedAdmin):
    list_display = ["institution", "trial_ending_days", "installment_due_days", "overdue_days"]
