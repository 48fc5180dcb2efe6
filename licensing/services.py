"""Use cases. Each service runs its transition inside one transaction, saves, and leaves the
audit row (who, when, from, to, why) through the transition log. Views, admin, commands and
tasks call these and nothing else to change state.

Every service that changes a license locks its row first (SELECT ... FOR UPDATE), so two
conflicting operations on one license run one after the other; ConcurrentTransitionMixin is
the second guard should a caller hold a stale instance.
"""

import logging
import tempfile
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from . import exports, notifications, tables, workdays
from .models import (
    Enterprise,
    EnterpriseMember,
    EquityConversion,
    Export,
    Installment,
    InsuranceClaim,
    InsurancePolicy,
    License,
    Offer,
    Patent,
    Payment,
    PaymentReport,
    new_token,
    today,
    transition_label,
)
from .money import CENT, ZERO, add_months, cny, split_evenly, split_proportionally
from .receipts import validate_receipt

log = logging.getLogger(__name__)


def _lock_license(license_id: int, *, schedule: bool = True) -> License:
    """Lock the license row and, with `schedule`, load its installments into the cache the
    transition conditions read (a service whose transitions read none saves the query). Every
    service that touches a schedule locks its license first, so that one lock serialises all
    changes to the license, its installments and its payments."""
    locked = License.objects.select_for_update(of=("self",)).select_related("offer__patent")
    return (locked.prefetch_related("installments") if schedule else locked).get(pk=license_id)


def _without_stale_schedule(lic: License) -> License:
    """Forget the schedule locked before installments were added, so callers read the new one."""
    getattr(lic, "_prefetched_objects_cache", {}).pop("installments", None)
    return lic


def _refused(message: str) -> ValidationError:
    return ValidationError(message, code="refused")


def _run(obj, method_name: str, *args, by=None, reason: str = "", **kwargs) -> None:
    """Run a transition and save, with a clear error when the state or conditions forbid it."""
    method = getattr(obj, method_name)
    if not can_proceed(method):
        raise _refused(
            _("“%(action)s” is not possible while %(object)s is “%(state)s”.")
            % {"action": transition_label(method), "object": obj, "state": obj.get_state_display()}
        )
    method(*args, by=by, description=reason or None, **kwargs)
    obj.save()


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason: it is kept in the license history.")})
    return reason


def _require_amount(amount) -> Decimal:
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    if amount <= ZERO:
        raise ValidationError({"amount": _("The amount must be greater than zero.")})
    if amount != amount.quantize(CENT):
        raise ValidationError({"amount": _("Amounts have at most two decimal places (fen).")})
    return amount


# -- offers ------------------------------------------------------------------------------


@transaction.atomic
def publish_offer(*, offer_id: int, by) -> Offer:
    offer = Offer.objects.select_for_update().select_related("patent").get(pk=offer_id)
    if not offer.patent.is_in_force(today()):
        raise _refused(_("Patent %(number)s is not in force: it cannot be offered.") % {"number": offer.patent.number})
    offer.full_clean(exclude=["state"])  # the protected FSM field is not re-assigned
    _run(offer, "publish", by=by)
    return offer


@transaction.atomic
def withdraw_offer(*, offer_id: int, by, reason: str) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    _run(offer, "withdraw", by=by, reason=_require_reason(reason))
    return offer


# -- application and trial -------------------------------------------------------------------


@transaction.atomic
def apply_for_trial(
    *, offer_id: int, enterprise: Enterprise, intended_use: str = "", contact: str = "", by=None
) -> License:
    offer = Offer.objects.select_related("patent").get(pk=offer_id)
    # Serialise applications per patent so the exclusivity check cannot race.
    patent = Patent.objects.select_for_update().get(pk=offer.patent_id)
    if offer.state != Offer.State.PUBLISHED:
        raise _refused(_("This offer is not open for applications."))
    if not patent.is_in_force(today()):
        raise _refused(_("Patent %(number)s has expired or is no longer valid.") % {"number": patent.number})
    live = License.objects.live().filter(offer__patent=patent)
    if live.filter(enterprise=enterprise).exists():
        raise _refused(_("Your enterprise already has a live license for this patent."))
    if live.filter(offer__exclusive=True).exists() or (offer.exclusive and live.exists()):
        raise _refused(_("This patent is licensed exclusively to another enterprise at the moment."))
    return License.objects.create(
        offer=offer,
        enterprise=enterprise,
        intended_use=intended_use,
        contact=contact,
        price=offer.price,
        trial_fee=offer.trial_fee,
    )


@transaction.atomic
def approve_trial(*, license_id: int, by, start: date | None = None, reason: str = "") -> License:
    lic = _lock_license(license_id, schedule=False)
    start = start or today()
    patent = lic.offer.patent
    if not patent.is_in_force(start):
        raise _refused(_("Patent %(number)s has expired or is no longer valid.") % {"number": patent.number})
    if add_months(start, lic.offer.trial_months) > patent.expiry_date:
        raise _refused(_("The trial would end after the patent expires on %(date)s.") % {"date": patent.expiry_date})
    _run(lic, "approve", start, by=by, reason=reason)
    if lic.trial_fee > ZERO:
        # A trial fee is due when the trial starts and is tracked like an installment.
        Installment.objects.create(
            license=lic, kind=Installment.Kind.TRIAL_FEE, sequence=1, amount=lic.trial_fee, due_date=start
        )
    return _without_stale_schedule(lic)


@transaction.atomic
def reject_application(*, license_id: int, by, reason: str) -> License:
    lic = _lock_license(license_id, schedule=False)
    _run(lic, "reject", by=by, reason=_require_reason(reason))
    return lic


@transaction.atomic
def return_patent(*, license_id: int, by, reason: str = "") -> License:
    lic = _lock_license(license_id, schedule=False)
    _run(lic, "return_patent", by=by, reason=reason)
    return lic


@transaction.atomic
def expire_trial(*, license_id: int, by=None) -> License:
    lic = _lock_license(license_id, schedule=False)
    _run(lic, "expire", by=by, reason=_("The trial ended with no decision."))
    return lic


# -- purchase and payments -------------------------------------------------------------------


def build_schedule(offer: Offer, price: Decimal, plan: str, purchased_on: date) -> list[tuple[Decimal, date]]:
    """(amount, due date) of each purchase installment. Due dates are counted from the purchase
    date each time, so a schedule from Jan 31 stays on month ends instead of drifting."""
    if plan == License.Plan.LUMP_SUM:
        return [(price, add_months(purchased_on, offer.first_due_months))]
    amounts = split_evenly(price, offer.installment_count)
    return [
        (amount, add_months(purchased_on, offer.first_due_months + i * offer.installment_interval_months))
        for i, amount in enumerate(amounts)
    ]


@transaction.atomic
def purchase(*, license_id: int, plan: str, by, on: date | None = None) -> License:
    lic = _lock_license(license_id, schedule=False)
    on = on or today()
    if plan not in lic.offer.plans:
        raise ValidationError({"plan": _("This offer does not allow that payment plan.")})
    if lic.state == License.State.TRIAL and not lic.insurance_in_place_if_required():
        raise _refused(_("This offer requires insurance or a guarantee: register the policy before the purchase."))
    _run(lic, "purchase", plan, on, by=by)
    Installment.objects.bulk_create(
        Installment(
            license=lic,
            kind=Installment.Kind.PURCHASE,
            sequence=n,
            amount=amount,
            due_date=due,
            effective_due_date=workdays.effective_date(due),
        )
        for n, (amount, due) in enumerate(build_schedule(lic.offer, lic.price, plan, on), start=1)
    )
    return _without_stale_schedule(lic)


def _settle_license_if_done(lic: License, by) -> None:
    """After money or equity reduced what is owed: paid up, or back from arrears when cured."""
    if lic.state in (License.State.PURCHASED, License.State.IN_ARREARS) and lic.is_settled():
        _run(lic, "settle", by=by)
    elif lic.state == License.State.IN_ARREARS and not lic.is_overdue():
        _run(lic, "cure", by=by)


def _check_transfer(amount, paid_on: date, reference: str) -> tuple[Decimal, str]:
    """What any transfer needs, recorded by the TTO or reported by the SME."""
    amount = _require_amount(amount)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("Enter the bank reference of the transfer.")})
    if paid_on > today():
        raise ValidationError({"paid_on": _("The payment date cannot be in the future.")})
    return amount, reference


def _check_payable(lic: License, amount: Decimal) -> None:
    if lic.state not in License.PAYABLE_STATES:
        raise _refused(
            _("Payments cannot be recorded while the license is %(state)s.") % {"state": lic.get_state_display()}
        )
    if amount > lic.outstanding:
        raise ValidationError(
            {
                "amount": _("%(amount)s is more than the %(outstanding)s outstanding on this license.")
                % {"amount": amount, "outstanding": lic.outstanding}
            }
        )


@transaction.atomic
def record_payment(*, license_id: int, amount, paid_on: date, reference: str, idempotency_key: str, by) -> Payment:
    """Record money received; it pays the oldest installments first. The same idempotency key
    submitted twice returns the first payment and records nothing more."""
    amount, reference = _check_transfer(amount, paid_on, reference)
    if not idempotency_key:
        raise ValidationError({"idempotency_key": _("A payment needs an idempotency key.")})
    lic = _lock_license(license_id)
    previous = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if previous is not None:
        if previous.license_id != lic.pk or previous.amount != amount:
            raise _refused(_("This idempotency key was already used for a different payment."))
        return previous
    _check_payable(lic, amount)
    try:
        with transaction.atomic():  # savepoint: a key taken meanwhile on another license
            payment = Payment.objects.create(
                license=lic,
                amount=amount,
                paid_on=paid_on,
                reference=reference,
                idempotency_key=idempotency_key,
                recorded_by=by,
            )
    except IntegrityError as exc:
        raise _refused(_("This idempotency key was already used for a different payment.")) from exc
    remaining = amount
    for inst in lic.installments.all():
        if not remaining:
            break
        take = min(remaining, inst.outstanding)
        if not take:
            continue
        inst.paid_amount += take
        remaining -= take
        if inst.outstanding == ZERO:
            inst.mark_paid(by=by, description=_("Paid by payment %(ref)s") % {"ref": payment.reference})
        inst.save()
    _settle_license_if_done(lic, by)
    return payment


@transaction.atomic
def mark_overdue(*, license_id: int, by=None, on: date | None = None) -> License:
    """Installments past their due date become overdue; a purchased license goes into arrears."""
    lic = _lock_license(license_id)
    on = on or today()
    for inst in lic.installments.all():
        if inst.state == Installment.State.DUE and inst.outstanding and inst.effective_due_date < on:
            inst.mark_overdue(by=by)
            inst.save()
    if lic.state == License.State.PURCHASED and lic.is_overdue():
        _run(lic, "fall_into_arrears", by=by)
    return lic


@transaction.atomic
def declare_default(*, license_id: int, by, reason: str = "") -> License:
    lic = _lock_license(license_id)
    if lic.state == License.State.IN_ARREARS and not lic.grace_exceeded():
        raise _refused(
            _("The grace period of %(days)s days after the oldest overdue installment has not passed yet.")
            % {"days": lic.offer.grace_days}
        )
    _run(lic, "declare_default", today(), by=by, reason=reason)
    return lic


@transaction.atomic
def terminate(*, license_id: int, by, reason: str) -> License:
    lic = _lock_license(license_id, schedule=False)
    _run(lic, "terminate", by=by, reason=_require_reason(reason))
    return lic


@transaction.atomic
def write_off(*, license_id: int, by, reason: str) -> License:
    lic = _lock_license(license_id, schedule=False)
    if lic.state == License.State.CLAIM_FILED and not lic.has_rejected_claim_only():
        raise _refused(_("An insurance claim is still open on this license: decide it first."))
    _run(lic, "write_off", by=by, reason=_require_reason(reason))
    return lic


# -- insurance -------------------------------------------------------------------------------


@transaction.atomic
def register_policy(*, license_id: int, by, **fields) -> InsurancePolicy:
    lic = _lock_license(license_id, schedule=False)
    if lic.is_insured():
        raise _refused(_("This license already has an insurance policy or guarantee."))
    if not lic.accepts_policy():
        raise _refused(
            _("A policy cannot be registered while the license is %(state)s.") % {"state": lic.get_state_display()}
        )
    policy = InsurancePolicy(license=lic, **fields)
    policy.full_clean()
    policy.save()
    return policy


@transaction.atomic
def file_claim(*, license_id: int, by, reason: str = "") -> InsuranceClaim:
    """Claim coverage x outstanding from the insurer of a defaulted license."""
    lic = _lock_license(license_id)
    if lic.state == License.State.DEFAULTED and not lic.is_insured():
        raise _refused(_("This license has no insurance policy or guarantee to claim on."))
    outstanding = lic.outstanding
    _run(lic, "file_claim", by=by, reason=reason)
    policy = lic.insurance_policy
    claim = InsuranceClaim.objects.create(
        license=lic,
        policy=policy,
        outstanding_at_filing=outstanding,
        claimed_amount=InsuranceClaim.amount_for(policy, outstanding),
        filed_on=today(),
    )
    notifications.notify_claim_filed(claim)  # emailed to the TTO and the insurer after commit
    return claim


def _lock_claim(claim_id: int) -> InsuranceClaim:
    claim = InsuranceClaim.objects.select_for_update().get(pk=claim_id)
    _lock_license(claim.license_id, schedule=False)
    return claim


@transaction.atomic
def approve_claim(*, claim_id: int, by, reason: str = "") -> InsuranceClaim:
    claim = _lock_claim(claim_id)
    _run(claim, "approve", by=by, reason=reason)
    return claim


@transaction.atomic
def reject_claim(*, claim_id: int, by, reason: str) -> InsuranceClaim:
    claim = _lock_claim(claim_id)
    _run(claim, "reject", by=by, reason=_require_reason(reason))
    return claim


@transaction.atomic
def record_claim_paid(*, claim_id: int, amount, by) -> InsuranceClaim:
    """The insurer paid: the claim is closed and the license compensated."""
    amount = _require_amount(amount)
    claim = _lock_claim(claim_id)
    if amount > claim.claimed_amount:
        raise ValidationError(
            {
                "amount": _("The insurer cannot pay more than the claimed %(claimed)s.")
                % {"claimed": claim.claimed_amount}
            }
        )
    _run(claim, "record_paid", amount, by=by)
    _run(claim.license, "compensate", by=by)
    return claim


# -- equity ("transfer then equity") --------------------------------------------------------


@transaction.atomic
def propose_equity_conversion(*, license_id: int, share, valuation, by) -> EquityConversion:
    lic = _lock_license(license_id)
    offer = lic.offer
    share, valuation = Decimal(str(share)), Decimal(str(valuation))
    if not offer.equity_allowed:
        raise _refused(_("This offer does not allow converting the fee into equity."))
    if lic.state not in (License.State.PURCHASED, License.State.IN_ARREARS):
        raise _refused(_("Only a purchased license can convert part of its fee into equity."))
    if not ZERO < share <= offer.equity_max_share:
        raise ValidationError(
            {
                "share": _("The share must be above 0 and at most %(max)s of the remaining fee.")
                % {"max": f"{offer.equity_max_share:.2%}"}
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
    return EquityConversion.objects.create(
        license=lic,
        share=share,
        converted_amount=amount,
        valuation=valuation,
        stake=(amount / valuation).quantize(Decimal("0.000001")),
        proposed_on=today(),
    )


def _purchase_outstanding(lic: License) -> Decimal:
    return sum((i.outstanding for i in lic.installments.all() if i.kind == Installment.Kind.PURCHASE), ZERO)


def _lock_conversion(conversion_id: int) -> tuple[EquityConversion, License]:
    conversion = EquityConversion.objects.select_for_update().get(pk=conversion_id)
    return conversion, _lock_license(conversion.license_id)


@transaction.atomic
def approve_equity_conversion(*, conversion_id: int, by, reason: str = "") -> EquityConversion:
    conversion, _lic = _lock_conversion(conversion_id)
    _run(conversion, "approve", by=by, reason=reason)
    return conversion


@transaction.atomic
def reject_equity_conversion(*, conversion_id: int, by, reason: str) -> EquityConversion:
    conversion, _lic = _lock_conversion(conversion_id)
    _run(conversion, "reject", by=by, reason=_require_reason(reason))
    return conversion


@transaction.atomic
def execute_equity_conversion(*, conversion_id: int, by) -> EquityConversion:
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
    for inst, reduction in zip(open_installments, reductions, strict=True):
        inst.amount -= reduction
        if inst.outstanding == ZERO:
            inst.mark_paid(by=by, description=_("Settled by equity conversion"))
        inst.save()
    _settle_license_if_done(lic, by)
    return conversion


@transaction.atomic
def purchase_with_equity(*, license_id: int, plan: str, share, valuation, by) -> EquityConversion:
    """'Transfer then equity' decided at the end of the trial: buy, and propose at once that part
    of the fee becomes a stake. Either both happen or neither."""
    purchase(license_id=license_id, plan=plan, by=by)
    return propose_equity_conversion(license_id=license_id, share=share, valuation=valuation, by=by)


# -- the SME portal: members and reported payments ---------------------------------------------


@transaction.atomic
def sign_up_member(*, user_fields: dict, enterprise: Enterprise, full_name: str, phone: str = "") -> EnterpriseMember:
    """A new portal user for an enterprise (created if its USCC is new). The membership waits for
    TTO staff to approve it: nobody sees an enterprise's licenses on their word alone."""
    if enterprise.pk is None:
        existing = Enterprise.objects.filter(uscc=enterprise.uscc).first()
        if existing is None:
            enterprise.full_clean()
            enterprise.save()
        else:
            enterprise = existing
    password = user_fields.pop("password")
    user = get_user_model()(**user_fields)
    user.set_password(password)
    user.save()
    return EnterpriseMember.objects.create(user=user, enterprise=enterprise, full_name=full_name, phone=phone)


def _lock_member(member_id: int) -> EnterpriseMember:
    return EnterpriseMember.objects.select_for_update().get(pk=member_id)


@transaction.atomic
def approve_member(*, member_id: int, by, reason: str = "") -> EnterpriseMember:
    member = _lock_member(member_id)
    _run(member, "approve", by=by, reason=reason)
    return member


@transaction.atomic
def revoke_member(*, member_id: int, by, reason: str) -> EnterpriseMember:
    member = _lock_member(member_id)
    _run(member, "revoke", by=by, reason=_require_reason(reason))
    return member


def renew_calendar_token(*, member: EnterpriseMember) -> EnterpriseMember:
    """A new private calendar address; the old one stops working at once."""
    member.calendar_token = new_token()
    member.save(update_fields=["calendar_token"])
    return member


@transaction.atomic
def report_payment(*, license_id: int, amount, paid_on: date, reference: str, receipt=None, by) -> PaymentReport:
    """The SME says it paid. Reported twice (a double submit, a reloaded page), it is kept once."""
    amount, reference = _check_transfer(amount, paid_on, reference)
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
    report = PaymentReport(license=lic, amount=amount, paid_on=paid_on, reference=reference, reported_by=by)
    if receipt:
        report.receipt.save(receipt.name, receipt, save=False)
    try:
        report.save()
    except Exception:
        if report.receipt:
            report.receipt.delete(save=False)  # no orphan file when the row is not written
        raise
    return report


def _lock_report(report_id: int) -> PaymentReport:
    report = PaymentReport.objects.only("license_id").get(pk=report_id)
    _lock_license(report.license_id)  # the license first, as every schedule change does
    return PaymentReport.objects.select_for_update().get(pk=report_id)


@transaction.atomic
def confirm_payment_report(*, report_id: int, by) -> PaymentReport:
    """The TTO found the transfer on its account: record it as a payment (once, whatever the
    number of clicks) and mark the report confirmed."""
    report = _lock_report(report_id)
    if report.state != PaymentReport.State.REPORTED:
        raise _refused(_("This payment report was already handled."))
    payment = record_payment(
        license_id=report.license_id,
        amount=report.amount,
        paid_on=report.paid_on,
        reference=report.reference,
        idempotency_key=f"report-{report.pk}",
        by=by,
    )
    _run(report, "confirm", payment, by=by)
    return report


@transaction.atomic
def reject_payment_report(*, report_id: int, by, reason: str) -> PaymentReport:
    report = _lock_report(report_id)
    _run(report, "reject", by=by, reason=_require_reason(reason))
    return report


# -- exports ---------------------------------------------------------------------------------------

# A running export whose progress has not moved for this long lost its worker and may be restarted.
EXPORT_STALE_AFTER = timedelta(minutes=10)
# A spreadsheet is a snapshot of the book: kept this long after it is built, then deleted.
EXPORT_KEPT_FOR = timedelta(days=7)


@transaction.atomic
def request_export(*, kind: str, book, by, language: str) -> Export:
    """Queue a spreadsheet of the book, scoped as the dashboard that asked for it; a worker builds
    it (build_export) and the requester follows its progress."""
    if kind not in Export.Kind.values:
        raise ValidationError({"kind": _("Unknown export.")})
    export = Export.objects.create(
        kind=kind,
        requested_by=by,
        institution=book.institution,
        ipc_section=book.ipc_section,
        date_from=book.date_from,
        date_to=book.date_to,
        language=language,
    )
    from .tasks import build_export as task

    transaction.on_commit(lambda: notifications.enqueue(task, export.pk))
    return export


def _claim_export(export_id: int) -> Export | None:
    """Mark the export running, unless it is finished or another worker is still building it."""
    with transaction.atomic():
        export = Export.objects.select_for_update(skip_locked=True).filter(pk=export_id).first()
        if export is None or export.state in (Export.State.DONE, Export.State.FAILED):
            return None
        now = timezone.now()
        if export.state == Export.State.RUNNING and export.heartbeat_at > now - EXPORT_STALE_AFTER:
            return None
        with translation.override(export.language):
            total = exports.export_row_count(export.kind, exports.book_of(export))
        export.start(total, now)
        export.save()
        return export


def build_export(*, export_id: int) -> str:
    """Write the export's XLSX, reporting progress as it goes. Safe to run twice: a finished
    export, or one another worker is building, is left alone. Returns the outcome."""
    export = _claim_export(export_id)
    if export is None:
        return "skipped"

    def progress(rows: int) -> None:  # autocommit: the requester's page sees it at once
        Export.objects.filter(pk=export.pk).update(rows_done=rows, heartbeat_at=timezone.now())

    try:
        with translation.override(export.language), tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
            tables.write_xlsx([exports.export_table(export.kind, exports.book_of(export))], tmp.name, progress)
            with transaction.atomic():
                export = Export.objects.select_for_update().get(pk=export.pk)
                export.file.save(f"{export.kind}.xlsx", File(tmp), save=False)
                export.finish(timezone.now())
                export.save()
    except Exception as exc:
        log.exception("Export %s failed", export_id)
        with transaction.atomic():
            export = Export.objects.select_for_update().get(pk=export_id)
            if export.file:
                export.file.delete(save=False)
            export.fail(f"{type(exc).__name__}: {exc}", timezone.now())
            export.save()
        return "failed"
    return "done"


def stale_export_ids() -> list[int]:
    """Exports no worker is building: queued while the broker was down, or whose worker died."""
    cutoff = timezone.now() - EXPORT_STALE_AFTER
    return list(
        Export.objects.filter(
            Q(state=Export.State.QUEUED, created_at__lt=cutoff) | Q(state=Export.State.RUNNING, heartbeat_at__lt=cutoff)
        ).values_list("pk", flat=True)
    )


def purge_exports() -> int:
    """Delete exports (rows and files) finished more than EXPORT_KEPT_FOR ago. Returns how many."""
    old = list(Export.objects.filter(finished_at__lt=timezone.now() - EXPORT_KEPT_FOR))
    for export in old:
        if export.file:
            export.file.delete(save=False)
        export.delete()
    return len(old)
