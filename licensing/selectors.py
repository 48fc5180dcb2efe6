"""Reads. Anything a page or report needs that goes beyond one object lives here, in SQL."""

from django.db.models import DecimalField, F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from django_fsm_log.models import StateLog

from .models import Installment, License, Offer, Patent, Payment
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
}


def scope_to_user(queryset, user, path: str):
    """Rows of the user's institution only; none at all for staff with no institution."""
    institution = institution_of(user)
    if institution is None:
        return queryset
    if institution is False:
        return queryset.none()
    return queryset.filter(**{path: institution})


def licenses_with_balances(queryset=None):
    """Licenses annotated with what is outstanding and the next unpaid due date, in one query."""
    queryset = License.objects.all() if queryset is None else queryset
    return queryset.select_related("offer__patent__owner", "enterprise").annotate(
        outstanding_amount=Coalesce(
            Sum(F("installments__amount") - F("installments__paid_amount"), output_field=_MONEY),
            Value(ZERO, output_field=_MONEY),
        ),
        next_due_date=Min(
            "installments__due_date",
            filter=Q(installments__paid_amount__lt=F("installments__amount")),
        ),
    )


def transition_log(obj):
    """Every state change of one object: who, when, from, to, why."""
    return StateLog.objects.for_(obj).select_related("by").order_by("-timestamp", "-pk")
