"""Money received: payments recorded by the TTO (once per transfer, whatever the number of forms),
and transfers reported by SMEs, which the TTO confirms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ..domain import clock, windows
from ..domain.clock import today
from ..domain.money import ZERO
from ..domain.text import clean_single_line
from ..models import (
    Allocation,
    CreditMovement,
    Installment,
    InvoiceRequest,
    License,
    Payment,
    PaymentReport,
    Reminder,
)
from ..receipts import validate_receipt
from . import _audit
from ._runner import (
    _applied_on,
    _lock_license,
    _lock_with_license,
    _notify_once,
    _pay_oldest_first,
    _refused,
    _require_amount,
    _require_reason,
    _run,
    _settle_license_if_done,
)
from .credit import _move_credit
from .distribution import allocate_payment, take_back_payment, take_back_to_credit

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile


def _check_transfer(amount: Decimal | int | str, reference: str) -> tuple[Decimal, str]:
    """What any transfer needs, recorded by the TTO or reported by the SME (its date is checked
    against the license, once it is locked: `_check_paid_on`)."""
    amount = _require_amount(amount)
    reference = clean_single_line(reference, "reference", max_length=100)
    if not reference:
        raise ValidationError({"reference": _("Enter the bank reference of the transfer.")})
    return amount, reference


def _check_paid_on(lic: License, paid_on: date) -> date:
    return windows.payment_date(paid_on, _applied_on(lic), today())


def _check_not_recorded_yet(
    lic: License, amount: Decimal | int | str, paid_on: date, reference: str, reuse_confirmed: bool
) -> None:
    """The same bank transfer is recorded once, however many forms it is entered in; a reference the
    institution has seen with another amount is a likely typo, recorded only once confirmed."""
    # A reversed payment is a transfer that did not stay: the same one may come again.
    same = lic.payments.standing().filter(reference=reference, amount=amount, paid_on=paid_on).first()
    if same is not None:
        raise _refused(
            _("This transfer (%(reference)s, %(amount)s on %(date)s) was already recorded on %(recorded)s.")
            % {
                "reference": reference,
                "amount": amount,
                "date": paid_on,
                "recorded": timezone.localtime(same.recorded_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    if reuse_confirmed:
        return
    institution = lic.offer.patent.owner_id
    reused = (
        Payment.objects.standing()
        .filter(reference=reference, license__institution_id=institution)
        .exclude(amount=amount)
        .first()
    )
    if reused is not None:
        raise ValidationError(
            {
                "reference": _(
                    "The bank reference %(reference)s was already used for a payment of %(amount)s on "
                    "%(date)s. Check it; if this is another transfer, confirm below."
                )
                % {"reference": reference, "amount": reused.amount, "date": reused.paid_on}
            },
            code="reference_reused",
        )


# Keys a client may choose (a form's random token, a partner system's id); keys of the form
# "<source>:<id>" are the app's own (a confirmed report's is "report:<id>"), so none can be taken.
CLIENT_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _check_payable(lic: License, amount: Decimal) -> None:
    """Payments are taken while money is owed. What exceeds it becomes a credit (not a refusal)."""
    if not lic.accepts_payments():
        raise _refused(
            _("Payments cannot be recorded while the license is %(state)s.") % {"state": lic.get_state_display()}
        )


@transaction.atomic
def record_payment(*, idempotency_key: str, **transfer: Any) -> Payment:
    """Record money received; it pays the oldest installments first. The same idempotency key
    submitted twice on a license returns the first payment and records nothing more; the same
    transfer (reference, amount, date) entered again under another key is refused; a reference
    already used with another amount is recorded only once the user confirms it
    (`reference_reuse_confirmed`). `transfer`: license_id, amount, paid_on, reference, by."""
    if not isinstance(idempotency_key, str) or not CLIENT_KEY.fullmatch(idempotency_key):
        raise ValidationError(
            {
                "idempotency_key": _(
                    "This form has expired or was altered (its one-time key is missing or invalid). "
                    "Open the form again and resubmit."
                )
            }
        )
    return _record_payment(idempotency_key=idempotency_key, **transfer)


@transaction.atomic
def _record_payment(
    *,
    license_id: int,
    amount: Decimal | int | str,
    paid_on: date,
    reference: str,
    idempotency_key: str,
    by: User | None,
    reference_reuse_confirmed: bool = False,
) -> Payment:
    amount, reference = _check_transfer(amount, reference)
    lic = _lock_license(license_id)  # under this lock no other payment of the license is written
    previous = lic.payments.filter(idempotency_key=idempotency_key).first()  # this license's keys only
    if previous is not None:
        if (previous.amount, previous.paid_on, previous.reference) != (amount, paid_on, reference):
            raise _refused(_("This form was already used for a different payment. Open the form again."))
        return previous
    _check_payable(lic, amount)
    paid_on = _check_paid_on(lic, paid_on)
    _check_not_recorded_yet(lic, amount, paid_on, reference, reference_reuse_confirmed)
    payment = Payment.objects.create(
        license=lic,
        amount=amount,
        paid_on=paid_on,
        reference=reference,
        idempotency_key=idempotency_key,
        recorded_by=by,
    )
    _audit.created(payment, by=by, fields=("amount", "paid_on", "reference"))
    paid_by = _("Paid by payment %(ref)s") % {"ref": payment.reference}
    paid = _pay_oldest_first(lic, amount, by=by, reason=paid_by)
    allocate_payment(lic, payment, paid, by=by)  # income, split in this same transaction
    remaining = amount - sum((take for _inst, take in paid), ZERO)
    if remaining:  # more than was owed: kept as credit, used on what falls due next
        _move_credit(lic, CreditMovement.Kind.OVERPAYMENT, remaining, by=by, payment=payment)
    _settle_license_if_done(lic, by)
    return payment


@transaction.atomic
def report_payment(
    *,
    license_id: int,
    amount: Decimal | int | str,
    paid_on: date,
    reference: str,
    receipt: UploadedFile | None = None,
    by: User | None,
) -> PaymentReport:
    """The SME says it paid. Reported twice (a double submit, a reloaded page), it is kept once."""
    amount, reference = _check_transfer(amount, reference)
    if receipt:
        try:
            validate_receipt(receipt)
        except ValidationError as exc:
            raise ValidationError({"receipt": exc.messages}) from exc
    lic = _lock_license(license_id)
    same = lic.payment_reports.filter(
        state=PaymentReport.State.REPORTED, amount=amount, paid_on=paid_on, reference=reference
    ).first()
    if same is not None:
        return same
    _check_payable(lic, amount)
    paid_on = _check_paid_on(lic, paid_on)
    report = PaymentReport(license=lic, amount=amount, paid_on=paid_on, reference=reference, reported_by=by)
    if receipt:
        report.receipt.save(receipt.name or "receipt", receipt, save=False)
    try:
        report.save()
    except Exception:
        if report.receipt:
            report.receipt.delete(save=False)  # no orphan file when the row is not written
        raise
    reported = _audit.created(report, by=by, fields=("amount", "paid_on", "reference", "receipt"))
    _notify_once(Reminder.Kind.PAYMENT_REPORTED, report, event=reported, license=lic, made_by=by)
    return report


def _lock_report(report_id: int) -> PaymentReport:
    return _lock_with_license(PaymentReport, report_id)[1]


@transaction.atomic
def confirm_payment_report(*, report_id: int, by: User | None) -> PaymentReport:
    """The TTO found the transfer on its account: record it as a payment (once, whatever the
    number of clicks) and mark the report confirmed."""
    report = _lock_report(report_id)
    if report.state != PaymentReport.State.REPORTED:
        raise _refused(_("This payment report was already handled."))
    # The report's own key, in the app's namespace ("report:<id>"): no client can take it first.
    payment = _record_payment(
        license_id=report.license_id,
        amount=report.amount,
        paid_on=report.paid_on,
        reference=report.reference,
        idempotency_key=f"report:{report.pk}",
        by=by,
        reference_reuse_confirmed=True,  # the TTO checks the transfer against its account here
    )
    confirmed = _run(report, "confirm", payment, by=by)
    _notify_once(Reminder.Kind.PAYMENT_CONFIRMED, report, event=confirmed)
    return report


@transaction.atomic
def reject_payment_report(*, report_id: int, by: User | None, reason: str) -> PaymentReport:
    report = _lock_report(report_id)
    rejected = _run(report, "reject", by=by, reason=_require_reason(reason))
    _notify_once(Reminder.Kind.PAYMENT_REJECTED, report, event=rejected)
    return report


# -- reversal -------------------------------------------------------------------------------------


@dataclass
class PaymentReversal:
    """What reversing a payment does, read before it is done (the decision page shows it) and
    done by `reverse_payment` exactly so: what the payment paid into each installment is owed
    again; the credit it left is taken back, and where that credit was already applied to later
    installments, they owe it again, the most recent first. `refused`: why it cannot be reversed."""

    payment: Payment
    unpaid: list[tuple[Installment, Decimal]] = field(default_factory=list)
    from_credit: Decimal = ZERO
    unapplied: list[tuple[Installment, Decimal]] = field(default_factory=list)
    refused: str = ""

    @property
    def owed_again(self) -> Decimal:
        return sum((amount for _inst, amount in [*self.unpaid, *self.unapplied]), ZERO)


def plan_payment_reversal(payment: Payment, lic: License | None = None) -> PaymentReversal:
    lic = lic or payment.license
    plan = PaymentReversal(payment)
    if payment.state == Payment.State.REVERSED:
        plan.refused = _("This payment was already reversed on %(date)s.") % {
            "date": timezone.localtime(payment.reversed_at).strftime("%Y-%m-%d %H:%M") if payment.reversed_at else ""
        }
        return plan
    invoice = InvoiceRequest.objects.filter(payment=payment).first()
    if invoice is not None:
        plan.refused = _(
            "An invoice was requested for this payment (%(state)s): the finance office voids it or issues a red-letter "
            "invoice (红字发票) in the tax system first; a payment with an invoice is not reversed here."
        ) % {"state": invoice.get_state_display()}
        return plan
    allocations = Allocation.objects.filter(payment=payment, source=Allocation.Source.PAYMENT).order_by(
        "installment__effective_due_date", "installment_id"
    )
    installments = {inst.pk: inst for inst in lic.installments.all()}  # the locked schedule, changed in place
    left_as_credit = (
        CreditMovement.objects.filter(payment=payment, kind=CreditMovement.Kind.OVERPAYMENT).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    paid = [(installments[a.installment_id], a.amount) for a in allocations if a.installment_id is not None]
    if sum((amount for _inst, amount in paid), ZERO) + left_as_credit != payment.amount:
        plan.refused = _(
            "This payment was recorded before the distribution ledger: run the command allocate_book first, "
            "then reverse it."
        )
        return plan
    # A royalty corrected down since gave part of what the payment paid to the credit: that part
    # is taken back from the credit.
    plan.unpaid = [(inst, min(amount, inst.paid_amount)) for inst, amount in paid if min(amount, inst.paid_amount)]
    plan.from_credit = payment.amount - sum((amount for _inst, amount in plan.unpaid), ZERO)
    short = plan.from_credit - lic.credit
    if short > ZERO:
        plan.unapplied, short = _credit_to_give_back(lic, installments, plan.unpaid, short)
    if short > ZERO:
        plan.refused = _(
            "CNY %(amount)s of the credit this payment left was refunded to the enterprise: a payment whose money "
            "was paid back cannot be reversed."
        ) % {"amount": short}
    return plan


def _credit_to_give_back(
    lic: License, installments: dict[int, Installment], unpaid: list[tuple[Installment, Decimal]], short: Decimal
) -> tuple[list[tuple[Installment, Decimal]], Decimal]:
    """Credit applied to installments (net of what an earlier reversal gave back), the most
    recently applied first, up to `short`."""
    kind = CreditMovement.Kind
    applied = (
        lic.credit_movements.filter(kind__in=[kind.APPLIED, kind.UNAPPLIED], installment__isnull=False)
        .values("installment_id")
        .annotate(
            net=Sum("amount", filter=Q(kind=kind.APPLIED), default=ZERO)
            - Sum("amount", filter=Q(kind=kind.UNAPPLIED), default=ZERO),
            last=Max("at", filter=Q(kind=kind.APPLIED)),
        )
        .filter(net__gt=0)
        .order_by("-last", "-installment_id")
    )
    already = {inst.pk: amount for inst, amount in unpaid}
    given: list[tuple[Installment, Decimal]] = []
    for row in applied:
        inst = installments[row["installment_id"]]
        amount = min(short, row["net"], inst.paid_amount - already.get(inst.pk, ZERO))
        if amount > ZERO:
            given.append((inst, amount))
            short -= amount
        if not short:
            break
    return given, short


def _unpay(inst: Installment, amount: Decimal, *, by: User | None, reason: str) -> None:
    before = _audit.snapshot(inst)
    inst.paid_amount -= amount
    if inst.state == Installment.State.PAID:
        _run(inst, "owe_again", by=by, reason=reason, before=before)
    else:
        inst.save()
        _audit.changed(inst, before, by=by, reason=reason)
    if inst.state == Installment.State.DUE and inst.is_overdue_on(today()):
        _run(inst, "mark_overdue", by=by, reason=reason)


@transaction.atomic
def reverse_payment(*, payment_id: int, by: User | None, reason: str) -> Payment:
    """A payment recorded in error (the transfer bounced, it was another license's money): what it
    paid is owed again, the credit it left is taken back, its allocation is taken back by negative
    allocations dated today, and the enterprise is told. Nothing is deleted (`plan_payment_reversal`)."""
    reason = _require_reason(reason)
    lic, payment = _lock_with_license(Payment, payment_id)
    plan = plan_payment_reversal(payment, lic)
    if plan.refused:
        raise _refused(plan.refused)
    why = _("Payment %(ref)s reversed: %(reason)s") % {"ref": payment.reference, "reason": reason}
    for inst, amount in plan.unpaid:
        _unpay(inst, amount, by=by, reason=why)
    take_back_payment(lic, payment, plan.unpaid, by=by)
    for inst, amount in plan.unapplied:
        movement = _move_credit(lic, CreditMovement.Kind.UNAPPLIED, amount, by=by, installment=inst, reason=reason)
        _unpay(inst, amount, by=by, reason=why)
        take_back_to_credit(lic, inst, movement, by=by, reversal=True)
    if plan.from_credit:
        _move_credit(lic, CreditMovement.Kind.REVERSED, plan.from_credit, by=by, payment=payment, reason=reason)
    reversed_event = _run(payment, "reverse", clock.now(), by, reason, by=by, reason=reason)
    if lic.state == License.State.PAID_UP and lic.owes_again():
        _run(lic, "reopen", by=by, reason=why)
    if lic.state == License.State.PURCHASED and lic.is_overdue():
        _run(lic, "fall_into_arrears", by=by, reason=why)
    _notify_once(Reminder.Kind.PAYMENT_REVERSED, payment, event=reversed_event, license=lic)
    return payment
