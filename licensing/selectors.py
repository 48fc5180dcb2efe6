"""Reads. Anything a page or report needs that goes beyond one object lives here, in SQL."""

from django.db.models import DecimalField, Exists, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django_fsm_log.models import StateLog

from .models import (
    EquityConversion,
    Installment,
    InsuranceClaim,
    License,
    Offer,
    Patent,
    Payment,
    Reminder,
    ReminderSchedule,
)
from .money import ZERO

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def institution_of(user):
    """The institution a staff user works for; None for superusers (who see all)."""
    if user.is_superuser:
        return None
    profile = getattr(user, "staff_profile", None)
    return profile.institution if profile else False


# Lookup from each scoped model to the institution that owns its rows.
INSTITUTION_PATH = {
    Patent: "owner",
    Offer: "patent__owner",
    License: "offer__patent__owner",
    Installment: "license__offer__patent__owner",
    Payment: "license__offer__patent__owner",
    InsuranceClaim: "license__offer__patent__owner",
    EquityConversion: "license__offer__patent__owner",
    Reminder: "license__offer__patent__owner",
    ReminderSchedule: "institution",
}


def scope_to_user(queryset, user, path: str):
    """Rows of the user's institution only; none at all for staff with no institution."""
    institution = institution_of(user)
    if institution is None:
        return queryset
    if institution is False:
        return queryset.none()
    return queryset.filter(**{path: institution})


def unpaid_installments():
    """Installments of the outer license (OuterRef) that still have something to pay."""
    return Installment.objects.filter(license=OuterRef("pk"), paid_amount__lt=F("amount"))


def licenses_with_balances(queryset=None):
    """Licenses with what is outstanding and the next unpaid due date. Correlated subqueries, not
    a GROUP BY: the database computes them only for the rows of the page shown."""
    queryset = License.objects.all() if queryset is None else queryset
    outstanding = (
        unpaid_installments()
        .order_by()
        .values("license")
        .annotate(total=Sum(F("amount") - F("paid_amount"), output_field=_MONEY))
        .values("total")
    )
    next_due = unpaid_installments().order_by("due_date").values("due_date")[:1]
    return queryset.select_related("offer__patent__owner", "enterprise").annotate(
        outstanding_amount=Coalesce(Subquery(outstanding, output_field=_MONEY), Value(ZERO, output_field=_MONEY)),
        next_due_date=Subquery(next_due),
    )


def with_installment_due(queryset, start=None, end=None):
    """Licenses with an unpaid installment due between start and end (either may be open)."""
    due = unpaid_installments()
    if start is not None:
        due = due.filter(due_date__gte=start)
    if end is not None:
        due = due.filter(due_date__lte=end)
    return queryset.filter(Exists(due))


def without_anything_due(queryset):
    return queryset.filter(~Exists(unpaid_installments()))


def transition_log(obj):
    """Every state change of one object: who, when, from, to, why."""
    return StateLog.objects.for_(obj).select_related("by").order_by("-timestamp", "-pk")
