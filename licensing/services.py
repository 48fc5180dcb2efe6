"""Use cases. Each service runs its transition inside one transaction, saves, and leaves the
audit row (who, when, from, to, why) through the transition log. Views, admin, commands and
tasks call these and nothing else to change state.

Every service that changes a license locks its row first (SELECT ... FOR UPDATE), so two
conflicting operations on one license run one after the other; ConcurrentTransitionMixin is
the second guard should a caller hold a stale instance.
"""

import logging
import re
import tempfile
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from . import exports, notifications, tables, windows, workdays
from .models import (
    AuditEvent,
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
from .text import REASON_MAX_LENGTH, clean_multi_line, clean_single_line

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
    reason = clean_multi_line(reason, "reason", max_length=REASON_MAX_LENGTH)
    method = getattr(obj, method_name)
    if not can_proceed(method):
        raise _refused(
            _("“%(action)s” is not possible while %(object)s is “%(state)s”.")
            % {"action": transition_label(method), "object": obj, "state": obj.get_state_display()}
        )
    method(*args, by=by, description=reason or None, **kwargs)
    obj.save()


def _require_reason(reason: str) -> str:
    reason = clean_multi_line(reason, "reason", max_length=REASON_MAX_LENGTH)
    if not reason:
        raise ValidationError({"reason": _("Give a reason: it is kept in the license history.")})
    return reason


MAX_VALUATION = Decimal("999999999999.99")  # what the valuation column holds


def _decimal(value, field: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError as exc:
        raise ValidationError({field: _("Enter a number.")}) from exc
    if not number.is_finite():
        raise ValidationError({field: _("Enter a number.")})
    return number


def _applied_on(lic: License) -> date:
    return timezone.localdate(lic.applied_at)


def _require_patent_in_force(patent: Patent, on: date) -> None:
    """Nothing is tried, bought or decided on a patent that is not in force on that day."""
    if not patent.is_in_force(on):
        raise _refused(
            _("Patent %(number)s is not in force on %(date)s (expired or no longer valid).")
            % {"number": patent.number, "date": on}
        )


def _require_amount(amount) -> Decimal:
    amount = _decimal(amount, "amount")
    if amount <= ZERO:
        raise ValidationError({"amount": _("The amount must be greater than zero.")})
    if amount > MAX_VALUATION:
        raise ValidationError({"amount": _("The amount must be at most %(max)s.") % {"max": f"{MAX_VALUATION:,}"}})
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
    intended_use = clean_multi_line(intended_use, "intended_use", max_length=2000)
    contact = clean_single_line(contact, "contact", max_length=200)
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
    start = windows.trial_start(start or today(), _applied_on(lic), today())
    patent = lic.offer.patent
    _require_patent_in_force(patent, start)
    # The trial runs to its effective end (moved past weekends and holidays): that day too.
    if workdays.effective_date(add_months(start, lic.offer.trial_months)) > patent.expiry_date:
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
    if lic.state == License.State.TRIAL:
        windows.purchase_date(on, lic.trial_start, lic.trial_end_effective)
        _require_patent_in_force(lic.offer.patent, max(on, today()))
        if not lic.insurance_in_place_if_required():
            raise _refused(_("This offer requires insurance or a guarantee: register the policy before the purchase."))
    schedule = build_schedule(lic.offer, lic.price, plan, on)
    if schedule[-1][1] > lic.offer.patent.expiry_date:
        raise _refused(
            _("The last payment would fall on %(last)s, after the patent expires on %(expiry)s.")
            % {"last": schedule[-1][1], "expiry": lic.offer.patent.expiry_date}
        )
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
        for n, (amount, due) in enumerate(schedule, start=1)
    )
    return _without_stale_schedule(lic)


def _settle_license_if_done(lic: License, by) -> None:
    """After money or equity reduced what is owed: paid up, or back from arrears when cured."""
    if lic.state in (License.State.PURCHASED, License.State.IN_ARREARS) and lic.is_settled():
        _run(lic, "settle", by=by)
    elif lic.state == License.State.IN_ARREARS and not lic.is_overdue():
        _run(lic, "cure", by=by)


def _check_transfer(amount, reference: str) -> tuple[Decimal, str]:
    """What any transfer needs, recorded by the TTO or reported by the SME (its date is checked
    against the license, once it is locked: `_check_paid_on`)."""
    amount = _require_amount(amount)
    reference = clean_single_line(reference, "reference", max_length=100)
    if not reference:
        raise ValidationError({"reference": _("Enter the bank reference of the transfer.")})
    return amount, reference


def _check_paid_on(lic: License, paid_on: date) -> date:
    return windows.payment_date(paid_on, _applied_on(lic), today())


def _check_not_recorded_yet(lic: License, amount, paid_on: date, reference: str, reuse_confirmed: bool) -> None:
    """The same bank transfer is recorded once, however many forms it is entered in; a reference the
    institution has seen with another amount is a likely typo, recorded only once confirmed."""
    same = lic.payments.filter(reference=reference, amount=amount, paid_on=paid_on).first()
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
        Payment.objects.filter(reference=reference, license__offer__patent__owner_id=institution)
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
def record_payment(*, idempotency_key: str, **transfer) -> Payment:
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
    amount,
    paid_on: date,
    reference: str,
    idempotency_key: str,
    by,
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
    windows.policy_dates(policy.starts_on, policy.ends_on, _applied_on(lic), today())
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
    share, valuation = _decimal(share, "share"), _decimal(valuation, "valuation")
    if valuation > MAX_VALUATION:
        raise ValidationError(
            {"valuation": _("The valuation must be at most %(max)s.") % {"max": f"{MAX_VALUATION:,}"}}
        )
    if not offer.equity_allowed:
        raise _refused(_("This offer does not allow converting the fee into equity."))
    if lic.state not in (License.State.PURCHASED, License.State.IN_ARREARS):
        raise _refused(_("Only a purchased license can convert part of its fee into equity."))
    _require_patent_in_force(offer.patent, today())
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
        stake=(amount / valuation).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP),
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
    TTO staff to approve it: nobody sees an enterprise's licenses on their word alone.

    Two identical sign-ups at once make one account: the second finds the username taken (the
    unique index decides, inside a savepoint) and is told so; two sign-ups for one new USCC make
    one enterprise, which both join."""
    full_name = clean_single_line(full_name, "full_name", max_length=100, required=True)
    phone = clean_single_line(phone, "phone", max_length=30)
    created = False
    if enterprise.pk is None:
        enterprise.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                enterprise.save()
                created = True
        except IntegrityError:  # registered meanwhile, or before: join it
            enterprise = Enterprise.objects.get(uscc=enterprise.uscc)
    fields = dict(user_fields)
    password = fields.pop("password")
    user = get_user_model()(**fields)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"username": _("An account with this username exists already. Log in, or choose another username.")}
        ) from exc
    member = EnterpriseMember.objects.create(user=user, enterprise=enterprise, full_name=full_name, phone=phone)
    if created:
        record_enterprise_created(enterprise, by=user)
    AuditEvent.objects.create(
        action=AuditEvent.Action.MEMBER_SIGNED_UP, enterprise=enterprise, by=user, changes={"member": [None, member.pk]}
    )
    return member


# An enterprise's master data: what it says about itself, and what its size class comes from.
ENTERPRISE_MASTER_DATA = ("name", "industry", "employees", "annual_revenue", "high_tech", "contact_email", "language")


def _audit_value(value):
    return str(value) if isinstance(value, Decimal) else value


def record_enterprise_created(enterprise: Enterprise, *, by) -> AuditEvent:
    """The audit event of a new enterprise: each of its details, from nothing."""
    return AuditEvent.objects.create(
        action=AuditEvent.Action.ENTERPRISE_CREATED,
        enterprise=enterprise,
        by=by,
        changes={name: [None, _audit_value(getattr(enterprise, name))] for name in ENTERPRISE_MASTER_DATA},
    )


def staff_may_correct_enterprise(enterprise: Enterprise, user) -> bool:
    """The enterprise keeps its own master data, through its active members in the portal. Staff
    may correct it only while the enterprise has no active member and deals with no institution
    but theirs (every license it has is with their institution); a superuser always may."""
    if user.is_superuser:
        return True
    institution = getattr(getattr(user, "staff_profile", None), "institution", None)
    if institution is None:
        return False
    if enterprise.members.filter(state=EnterpriseMember.State.ACTIVE).exists():
        return False
    return not enterprise.licenses.exclude(offer__patent__owner=institution).exists()


@transaction.atomic
def update_enterprise(*, enterprise_id: int, by, changes: dict, reason: str = "") -> Enterprise:
    """Change an enterprise's master data, by an active member of it or by staff allowed to
    correct it (`staff_may_correct_enterprise`); every change is an audit event, from -> to."""
    enterprise = Enterprise.objects.select_for_update().get(pk=enterprise_id)
    member = getattr(by, "enterprise_member", None)
    is_own_member = (
        member is not None and member.enterprise_id == enterprise.pk and member.state == EnterpriseMember.State.ACTIVE
    )
    if not is_own_member and not (by.is_staff and staff_may_correct_enterprise(enterprise, by)):
        raise _refused(
            _(
                "This enterprise keeps its details itself, in the portal: it has active members or deals with "
                "other institutions too."
            )
        )
    reason = clean_multi_line(reason, "reason", max_length=REASON_MAX_LENGTH)
    unknown = set(changes) - set(ENTERPRISE_MASTER_DATA)
    if unknown:
        raise ValidationError(_("These details cannot be changed here: %(fields)s") % {"fields": ", ".join(unknown)})
    before = {name: getattr(enterprise, name) for name in changes}
    for name, value in changes.items():
        setattr(enterprise, name, value)
    enterprise.full_clean(exclude=["uscc"])
    diff = {
        name: [_audit_value(before[name]), _audit_value(getattr(enterprise, name))]
        for name in changes
        if before[name] != getattr(enterprise, name)
    }
    if not diff:
        return enterprise
    old_size = enterprise.size_class
    enterprise.save()
    if enterprise.size_class != old_size:
        diff["size_class"] = [old_size, enterprise.size_class]
    AuditEvent.objects.create(
        action=AuditEvent.Action.ENTERPRISE_CHANGED, enterprise=enterprise, by=by, changes=diff, reason=reason
    )
    return enterprise


def member_decision_allowed(member: EnterpriseMember, user) -> bool:
    """Who may approve or revoke a portal member: a superuser; or staff of an institution when
    every license of the member's enterprise is with that institution (an enterprise that deals
    with several institutions, whose members would see all their contracts, is for a superuser)."""
    if user.is_superuser:
        return True
    institution = getattr(getattr(user, "staff_profile", None), "institution", None)
    if institution is None:
        return False
    return not member.enterprise.licenses.exclude(offer__patent__owner=institution).exists()


def _check_member_decision(member: EnterpriseMember, by) -> None:
    if by is not None and not member_decision_allowed(member, by):
        raise _refused(
            _("This enterprise also deals with other institutions: a platform administrator decides on its members.")
        )


def request_password_reset(*, email: str, language: str) -> None:
    """Queue the reset email; the worker looks the address up and sends it, so the request takes
    the same time whether or not an account exists."""
    from .tasks import send_password_reset as task

    transaction.on_commit(lambda: notifications.enqueue(task, email, language))


def send_password_reset(*, email: str, language: str) -> None:
    """Email a reset link to every active account with this address (none: nothing is sent)."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.contrib.auth.forms import PasswordResetForm

    site = urlsplit(settings.SITE_URL)
    form = PasswordResetForm(data={"email": email})
    if not form.is_valid():
        return
    with translation.override(language):
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            subject_template_name="portal/emails/password_reset.subject.txt",
            email_template_name="portal/emails/password_reset.txt",
            html_email_template_name="portal/emails/password_reset.html",
        )


def _lock_member(member_id: int) -> EnterpriseMember:
    return EnterpriseMember.objects.select_for_update().get(pk=member_id)


@transaction.atomic
def approve_member(*, member_id: int, by, reason: str = "") -> EnterpriseMember:
    member = _lock_member(member_id)
    _check_member_decision(member, by)
    _run(member, "approve", by=by, reason=reason)
    return member


@transaction.atomic
def revoke_member(*, member_id: int, by, reason: str) -> EnterpriseMember:
    member = _lock_member(member_id)
    _check_member_decision(member, by)
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
