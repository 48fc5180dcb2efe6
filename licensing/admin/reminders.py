"""The reminder ledger and each institution's reminder schedule."""

from django.contrib import admin

from ..models import (
    Reminder,
    ReminderSchedule,
)
from .base import InstitutionScopedAdmin, RecordsOnlyAdmin


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
