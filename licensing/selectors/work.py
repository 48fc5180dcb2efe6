"""What is waiting for a TTO officer today: the work queue on the admin index. Each figure is a
count of the rows the linked admin list shows with its filter, scoped as that list is, in one
aggregate per table (10 queries for staff, whatever the size of the book)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Model, Q, QuerySet

from ..models import (
    AuditEvent,
    Contract,
    EnterpriseMember,
    Export,
    InsuranceClaim,
    InvoiceRequest,
    License,
    PaymentReport,
    Recordal,
    RoyaltyReport,
)
from .scope import INSTITUTION_PATH, enterprises_for, institution_of, scope_to_user

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SOON = 7  # days: "trials ending soon"


@dataclass(frozen=True)
class Task:
    key: str  # what the row is (also the admin list filter it links to: see admin/site.py)
    count: int


def work_queue(user: User, on: dt.date) -> list[Task]:
    def scoped(model: type[Model]) -> QuerySet[Any]:
        return scope_to_user(model._default_manager.order_by(), user, INSTITUTION_PATH[model])

    licenses = scoped(License).aggregate(
        applications=Count("pk", filter=Q(state=License.State.APPLIED)),
        trials_ending=Count("pk", filter=License.trial_ending_q(on, SOON)),
        overdue=Count("pk", filter=License.overdue_q(on)),
        defaults=Count("pk", filter=Q(state=License.State.DEFAULTED)),
        contracts_to_issue=Count("pk", filter=License.awaits_contract_q()),
    )
    contracts = scoped(Contract).aggregate(
        to_sign=Count("pk", filter=Contract.awaits_licensor_q()),
        with_licensee=Count("pk", filter=Contract.awaits_licensee_q()),
        unregistered=Count("pk", filter=Contract.unregistered_q()),
    )
    invoices = scoped(InvoiceRequest).aggregate(
        to_issue=Count("pk", filter=Q(state=InvoiceRequest.State.REQUESTED)),
        overdue=Count("pk", filter=InvoiceRequest.overdue_q(on)),
    )
    recordals = scoped(Recordal).aggregate(
        to_file=Count("pk", filter=Q(state=Recordal.State.DUE)),
        late=Count("pk", filter=Recordal.late_q(on)),
    )
    reports = scoped(RoyaltyReport).aggregate(
        to_accept=Count("pk", filter=Q(state=RoyaltyReport.State.FILED)),
        late=Count("pk", filter=RoyaltyReport.late_q(on)),
    )
    claims = scoped(InsuranceClaim).aggregate(
        to_decide=Count("pk", filter=Q(state=InsuranceClaim.State.FILED)),
        to_be_paid=Count("pk", filter=Q(state=InsuranceClaim.State.APPROVED)),
    )
    payments = scoped(PaymentReport).filter(state=PaymentReport.State.REPORTED).count()
    members = EnterpriseMember.objects.filter(
        state=EnterpriseMember.State.PENDING, enterprise__in=enterprises_for(user)
    ).count()
    exports = Export.objects.filter(state=Export.State.DONE, **({} if user.is_superuser else {"requested_by": user}))
    return [
        Task("applications", licenses["applications"]),
        Task("payment_reports", payments),
        Task("royalty_reports", reports["to_accept"]),
        Task("members", members),
        Task("trials_ending", licenses["trials_ending"]),
        Task("overdue", licenses["overdue"]),
        Task("late_reports", reports["late"]),
        Task("defaults", licenses["defaults"]),
        Task("contracts_to_issue", licenses["contracts_to_issue"]),
        Task("contracts_to_sign", contracts["to_sign"]),
        Task("contracts_with_licensee", contracts["with_licensee"]),
        Task("recordals_to_file", recordals["to_file"]),
        Task("recordals_late", recordals["late"]),
        Task("contracts_to_register", contracts["unregistered"]),
        Task("invoices_to_issue", invoices["to_issue"]),
        Task("invoices_overdue", invoices["overdue"]),
        Task("claims_to_decide", claims["to_decide"]),
        Task("claims_to_be_paid", claims["to_be_paid"]),
        Task("exports", exports.count()),
    ]


def recent_changes(user: User, limit: int = 10) -> QuerySet[AuditEvent]:
    """The latest audit events the user may read: a superuser's all; staff those on their
    institution's licenses, and their own changes. (Django's "Recent actions" box stays empty:
    the services write the audit trail, not admin LogEntry rows.) One query."""
    events = AuditEvent.objects.select_related("by").order_by("-at", "-pk")
    institution = institution_of(user)
    if institution is False:
        return events.none()
    if institution is not None:
        events = events.filter(Q(license__institution=institution) | Q(by=user))
    return events[:limit]
