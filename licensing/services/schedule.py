"""A new amount falls due on a bought license, outside the schedule set at the purchase: a
milestone reached, a minimum-royalty shortfall, an audit finding. One way for all of them: the
installment and its audit event, a paid-up license owing again, the credit used on it first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from ..models import Installment, License, SystemReason
from . import _audit
from ._runner import _run, _settle_license_if_done, _without_stale_schedule
from .credit import apply_credit

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# What an installment's audit event says it was created with.
INSTALLMENT_TERMS = ("kind", "sequence", "amount", "due_date", "effective_due_date", "deferred_from")


def next_sequence(lic: License, kind: str) -> int:
    return lic.installments.filter(kind=kind).count() + 1


def add_amount_due(
    lic: License, kind: str, amount: Decimal, due: date, *, by: User | None, reason: str | SystemReason
) -> Installment:
    """`amount` falls due on `due` (moved to the next working day). The license is locked."""
    installment = Installment(license=lic, kind=kind, sequence=next_sequence(lic, kind), amount=amount)
    installment.fall_due(due, lic.payments_start)  # not before payments start (deferred start)
    installment.save()
    _audit.created(installment, by=by, fields=INSTALLMENT_TERMS, reason=reason)
    lic = _without_stale_schedule(lic)  # the schedule now has the new installment
    if lic.state == License.State.PAID_UP:
        _run(lic, "reopen", by=by, reason=reason)
    apply_credit(lic, by=by)
    _settle_license_if_done(lic, by)
    return installment
