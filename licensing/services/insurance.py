"""Insurance policies and guarantees, and claims on them."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..domain import windows
from ..domain.clock import today
from ..models import (
    InsuranceClaim,
    InsurancePolicy,
    Reminder,
    SystemReason,
)
from . import _audit
from ._runner import (
    _applied_on,
    _lock_license,
    _lock_with_license,
    _notify_once,
    _refused,
    _require_amount,
    _require_reason,
    _run,
)
from .distribution import allocate_claim
from .royalties import unreported_minimum

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# What a policy is registered with (the admin's form asks these; its audit event lists them).
POLICY_TERMS = (
    "kind",
    "insurer",
    "insurer_email",
    "insurer_language",
    "policy_number",
    "coverage_ratio",
    "premium",
    "starts_on",
    "ends_on",
)


@transaction.atomic
def register_policy(*, license_id: int, by: User | None, **fields: Any) -> InsurancePolicy:
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
    _audit.created(policy, by=by, fields=POLICY_TERMS)
    return policy


@transaction.atomic
def file_claim(*, license_id: int, by: User | None, reason: str | SystemReason = "") -> InsuranceClaim:
    """Claim coverage x outstanding from the insurer of a defaulted license. Royalties of periods
    whose reports never came count at the contract's floor (their share of the minimum)."""
    lic = _lock_license(license_id)
    outstanding = lic.outstanding + unreported_minimum(lic, today())
    _run(lic, "file_claim", by=by, reason=reason)
    policy = lic.insurance_policy
    claim = InsuranceClaim.objects.create(
        license=lic,
        policy=policy,
        outstanding_at_filing=outstanding,
        claimed_amount=InsuranceClaim.amount_for(policy, outstanding),
        filed_on=today(),
    )
    _audit.created(
        claim, by=by, fields=("policy", "outstanding_at_filing", "claimed_amount", "filed_on"), reason=reason
    )
    _notify_claim_filed(claim)  # emailed to the TTO and the insurer after commit
    return claim


def _lock_claim(claim_id: int) -> InsuranceClaim:
    return _lock_with_license(InsuranceClaim, claim_id, schedule=False)[1]


@transaction.atomic
def approve_claim(*, claim_id: int, by: User | None, reason: str = "") -> InsuranceClaim:
    claim = _lock_claim(claim_id)
    _run(claim, "approve", by=by, reason=reason)
    return claim


@transaction.atomic
def reject_claim(*, claim_id: int, by: User | None, reason: str) -> InsuranceClaim:
    claim = _lock_claim(claim_id)
    _run(claim, "reject", by=by, reason=_require_reason(reason))
    return claim


@transaction.atomic
def record_claim_paid(*, claim_id: int, amount: Decimal | int | str, by: User | None) -> InsuranceClaim:
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
    allocate_claim(claim.license, claim, by=by)  # the compensation is the license's income
    return claim


def _notify_claim_filed(claim: InsuranceClaim) -> None:
    """Tell the TTO and the insurer that a claim was filed, each in their own language and with
    what they can open (the TTO a link to the admin, the insurer everything in the email);
    sent once the transaction commits."""
    for kind in (Reminder.Kind.CLAIM_FILED, Reminder.Kind.CLAIM_FILED_INSURER):
        _notify_once(kind, claim, license=claim.license)
