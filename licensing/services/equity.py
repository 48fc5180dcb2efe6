"""'Transfer then equity': proposing, approving and executing a conversion of the fee into a stake."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..domain.clock import today
from ..domain.money import ZERO, cny, split_proportionally
from ..models import (
    EquityConversion,
    Installment,
    License,
    Reminder,
)
from . import _audit
from ._runner import (
    MAX_VALUATION,
    _decimal,
    _lock_license,
    _lock_with_license,
    _notify_once,
    _refused,
    _require_package_in_force,
    _require_reason,
    _run,
    _settle_license_if_done,
)
from .distribution import allocate_equity
from .licenses import purchase

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def propose_equity_conversion(
    *, license_id: int, share: Decimal | int | str, valuation: Decimal | int | str, by: User | None
) -> EquityConversion:
    lic = _lock_license(license_id)
    share, valuation = _decimal(share, "share"), _decimal(valuation, "valuation")
    if valuation > MAX_VALUATION:
        raise ValidationError(
            {"valuation": _("The valuation must be at most %(max)s.") % {"max": f"{MAX_VALUATION:,}"}}
        )
    if not lic.equity_allowed:
        raise _refused(_("This license's terms do not allow converting the fee into equity."))
    if lic.state not in (License.State.PURCHASED, License.State.IN_ARREARS):
        raise _refused(_("Only a purchased license can convert part of its fee into equity."))
    _require_package_in_force(lic.patents.all(), today())
    if not ZERO < share <= lic.equity_max_share:
        raise ValidationError(
            {
                "share": _("The share must be above 0 and at most %(max)s of the remaining fee.")
                % {"max": f"{lic.equity_max_share:.2%}"}
            }
        )
    if valuation <= ZERO:
        raise ValidationError({"valuation": _("The valuation must be greater than zero.")})
    if lic.equity_conversions.filter(state__in=["proposed", "approved"]).exists():
        raise _refused(_("Another equity conversion is already pending on this license."))
    amount = cny(share * _purchase_outstanding(lic))
    if amount <= ZERO:
        raise _refused(_("Nothing remains to be paid: there is no fee left to convert."))
    if amount > valuation:
        raise ValidationError({"valuation": _("The valuation must be at least the converted amount.")})
    conversion = EquityConversion.objects.create(
        license=lic,
        share=share,
        converted_amount=amount,
        valuation=valuation,
        stake=(amount / valuation).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP),
        proposed_on=today(),
    )
    proposed = _audit.created(
        conversion, by=by, fields=("share", "converted_amount", "valuation", "stake", "proposed_on")
    )
    _notify_once(Reminder.Kind.EQUITY_PROPOSED, conversion, event=proposed, license=lic, made_by=by)
    return conversion


def _purchase_outstanding(lic: License) -> Decimal:
    return sum((i.outstanding for i in lic.installments.all() if i.kind == Installment.Kind.PURCHASE), ZERO)


def _lock_conversion(conversion_id: int) -> tuple[EquityConversion, License]:
    lic, conversion = _lock_with_license(EquityConversion, conversion_id)
    return conversion, lic


@transaction.atomic
def approve_equity_conversion(*, conversion_id: int, by: User | None, reason: str = "") -> EquityConversion:
    conversion, _lic = _lock_conversion(conversion_id)
    _run(conversion, "approve", by=by, reason=reason)
    return conversion


@transaction.atomic
def reject_equity_conversion(*, conversion_id: int, by: User | None, reason: str) -> EquityConversion:
    conversion, _lic = _lock_conversion(conversion_id)
    _run(conversion, "reject", by=by, reason=_require_reason(reason))
    return conversion


@transaction.atomic
def execute_equity_conversion(*, conversion_id: int, by: User | None) -> EquityConversion:
    """Lower the remaining purchase installments by exactly the converted amount, in proportion
    to what each still owes."""
    conversion, lic = _lock_conversion(conversion_id)
    if lic.state not in (License.State.PURCHASED, License.State.IN_ARREARS):
        raise _refused(
            _("The license is %(state)s: the conversion can no longer be executed.")
            % {"state": lic.get_state_display()}
        )
    open_installments = [i for i in lic.installments.all() if i.kind == Installment.Kind.PURCHASE and i.outstanding]
    remaining = sum((i.outstanding for i in open_installments), ZERO)
    if conversion.converted_amount > remaining:
        raise _refused(
            _("Only %(remaining)s remains to be paid, less than the %(amount)s to convert.")
            % {"remaining": remaining, "amount": conversion.converted_amount}
        )
    _run(conversion, "execute", today(), by=by)
    reductions = split_proportionally(conversion.converted_amount, [i.outstanding for i in open_installments])
    settled_by = _("Lowered by equity conversion %(conversion)s") % {"conversion": conversion}
    for inst, reduction in zip(open_installments, reductions, strict=True):
        before = _audit.snapshot(inst)
        inst.amount -= reduction
        if inst.outstanding == ZERO:
            _run(inst, "mark_paid", by=by, reason=settled_by, before=before)
        else:
            inst.save()
            _audit.changed(inst, before, by=by, reason=settled_by)
    allocate_equity(lic, conversion, by=by)  # the stake is shared by the policy's equity rule
    _settle_license_if_done(lic, by)
    return conversion


@transaction.atomic
def purchase_with_equity(
    *, license_id: int, plan: str, share: Decimal | int | str, valuation: Decimal | int | str, by: User | None
) -> EquityConversion:
    """'Transfer then equity' decided at the end of the trial: buy, and propose at once that part
    of the fee becomes a stake. Either both happen or neither."""
    purchase(license_id=license_id, plan=plan, by=by)
    return propose_equity_conversion(license_id=license_id, share=share, valuation=valuation, by=by)
