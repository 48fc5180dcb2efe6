"""Who sees what: the institution a staff member works for, and every scoped queryset through one
mechanism (scope_to_user, with each model's path to its institution)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Exists,
    Model,
    OuterRef,
    QuerySet,
)

from ..models import (
    Allocation,
    AllocationLine,
    Contract,
    ContractVersion,
    DistributionPolicy,
    Enterprise,
    EquityConversion,
    Installment,
    Institution,
    InsuranceClaim,
    Inventor,
    InventorShareSet,
    InvoiceRequest,
    License,
    Offer,
    Patent,
    PatentCost,
    Payment,
    PaymentReport,
    PayoutBatch,
    PushCampaign,
    Recordal,
    Reminder,
    ReminderSchedule,
    RoyaltyReport,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

M = TypeVar("M", bound=Model)


def institution_of(user: User) -> Institution | Literal[False] | None:
    """The institution a staff user works for; None for superusers (who see all)."""
    if user.is_superuser:
        return None
    profile = getattr(user, "staff_profile", None)
    return profile.institution if profile else False


# Lookup from each scoped model to the institution that owns its rows.
INSTITUTION_PATH = {
    Patent: "owner",
    Offer: "patent__owner",
    License: "institution",
    Installment: "license__institution",
    Payment: "license__institution",
    PaymentReport: "license__institution",
    RoyaltyReport: "license__institution",
    InsuranceClaim: "license__institution",
    EquityConversion: "license__institution",
    Contract: "institution",  # the licensor it was issued by (its number is that institution's)
    ContractVersion: "contract__institution",
    Recordal: "contract__institution",
    InvoiceRequest: "license__institution",
    Inventor: "institution",
    InventorShareSet: "patent__owner",
    PatentCost: "patent__owner",
    DistributionPolicy: "institution",
    Allocation: "institution",
    AllocationLine: "institution",
    PayoutBatch: "institution",
    Reminder: "institution",  # every notice names its institution, a sign-up notice too
    ReminderSchedule: "institution",
    PushCampaign: "institution",
}


def enterprises_for(user: User, queryset: QuerySet[Enterprise] | None = None) -> QuerySet[Enterprise]:
    """Enterprises a user may see in the admin: a superuser all; staff those that deal with their
    institution (a license in any state) and those that deal with no institution yet (new
    sign-ups, prospects of every institution); staff with no institution none."""
    queryset = Enterprise.objects.all() if queryset is None else queryset
    institution = institution_of(user)
    if institution is None:
        return queryset
    if institution is False:
        return queryset.none()
    ours = License.objects.filter(enterprise=OuterRef("pk"), institution=institution)
    anyone = License.objects.filter(enterprise=OuterRef("pk"))
    return queryset.filter(Exists(ours) | ~Exists(anyone))


def scope_to_user(queryset: QuerySet[M], user: User, path: str) -> QuerySet[M]:
    """Rows of the user's institution only; none at all for staff with no institution."""
    institution = institution_of(user)
    if institution is None:
        return queryset
    if institution is False:
        return queryset.none()
    return queryset.filter(**{path: institution})


def report_scope(user: User, picked: Institution | None = None) -> Institution | None:
    """The institution a user's reports cover: staff always their own; a superuser the one
    picked, or all (None). Staff with no institution see nothing."""
    institution = institution_of(user)
    if institution is False:
        raise PermissionDenied
    return picked if institution is None else institution
