"""A license's credit: money received beyond what was owed, used on what falls due next (oldest
first), and refunds of it, each a movement in the ledger (CreditMovement) and an audit event."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..domain.text import clean_single_line
from ..models import CreditMovement, License, Payment, SystemReason
from . import _audit
from ._runner import (
    _lock_license,
    _pay_oldest_first,
    _require_amount,
    _require_reason,
    _settle_license_if_done,
    _without_stale_schedule,
)
from .distribution import allocate_credit

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# The reason each movement writes in the license's trail: the kind's own words, kept as a message
# and worded when read, in the reader's language.
MOVED_BECAUSE: dict[str, str] = {
    CreditMovement.Kind.OVERPAYMENT: gettext_noop("Overpayment kept as credit"),
    CreditMovement.Kind.APPLIED: gettext_noop("Credit applied to a payment due"),
    CreditMovement.Kind.REFUNDED: gettext_noop("Credit refunded"),
    CreditMovement.Kind.UNAPPLIED: gettext_noop("Credit given back by a reversed payment"),
    CreditMovement.Kind.REVERSED: gettext_noop("Credit taken back: its payment was reversed"),
}


def _move_credit(
    lic: License, kind: str, amount: Decimal, *, by: User | None, payment: Payment | None = None, **details: Any
) -> CreditMovement:
    """One movement of the license's credit, its balance changed with it (the license is locked)."""
    before = _audit.snapshot(lic, ["credit"])
    lic.credit += amount if kind in CreditMovement.INCREASES else -amount
    lic.save(update_fields=["credit"])
    movement = CreditMovement.objects.create(license=lic, kind=kind, amount=amount, payment=payment, by=by, **details)
    _audit.changed(lic, before, by=by, reason=SystemReason(MOVED_BECAUSE[kind]))
    return movement


def apply_credit(lic: License, *, by: User | None) -> None:
    """Use the license's credit on what it owes, oldest first. Called under the license's lock
    whenever something new falls due (a trial fee, a purchase)."""
    if not lic.credit:
        return
    lic = _without_stale_schedule(lic)
    reason = SystemReason(gettext_noop("Paid from the license's credit"))
    applied = [
        (inst, _move_credit(lic, CreditMovement.Kind.APPLIED, take, by=by, installment=inst))
        for inst, take in _pay_oldest_first(lic, lic.credit, by=by, reason=reason)
    ]
    allocate_credit(lic, applied, by=by)  # income from the day it is applied
    _settle_license_if_done(lic, by)


@transaction.atomic
def refund_credit(
    *, license_id: int, amount: Decimal | int | str, reference: str, by: User | None, reason: str
) -> CreditMovement:
    """Pay back some or all of a license's credit: recorded with its bank reference and reason."""
    amount = _require_amount(amount)
    reference = clean_single_line(reference, "reference", max_length=100)
    if not reference:
        raise ValidationError({"reference": _("Enter the bank reference of the transfer.")})
    reason = _require_reason(reason)
    lic = _lock_license(license_id, schedule=False)
    if amount > lic.credit:
        raise ValidationError(
            {"amount": _("The license's credit is %(credit)s: no more can be refunded.") % {"credit": lic.credit}}
        )
    return _move_credit(lic, CreditMovement.Kind.REFUNDED, amount, by=by, reference=reference, reason=reason)
