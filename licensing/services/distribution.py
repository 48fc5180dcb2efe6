"""Revenue distribution: inventors' shares, the institution's policy, patent costs, and the
allocation of every amount of income in the transaction that applies it.

Income is money applied to what a license owes: a payment into its installments, its credit
applied to what falls due, an insurer's compensation, a stake taken instead of a fee. Money kept
as credit is not income until it is applied; a royalty corrected down after it was paid gives the
excess back to the credit, and the allocation of that excess is taken back (a negative allocation,
in proportion to what the period's allocations hold). A refund of credit therefore takes back
nothing: what it refunds was never allocated. Nothing in the ledger is edited.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _

from .. import queue, selectors
from ..domain import clock
from ..domain import distribution as rules
from ..domain.money import ZERO
from ..domain.text import REASON_MAX_LENGTH, clean_multi_line, clean_single_line
from ..models import (
    Allocation,
    AllocationLine,
    AuditEvent,
    Contract,
    CreditMovement,
    DistributionPolicy,
    EquityConversion,
    Installment,
    Institution,
    InsuranceClaim,
    Inventor,
    InventorShare,
    InventorShareSet,
    License,
    Patent,
    PatentCost,
    Payment,
    PayoutBatch,
    PayoutItem,
)
from . import _audit
from ._runner import _decimal, _lock_license, _refused, _require_amount, _require_reason, _run

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# -- the shares and the policy ------------------------------------------------------------------


def check_inventor_shares(
    patent: Patent, shares: Sequence[tuple[int, Decimal | str]], effective_from: date
) -> list[tuple[int, Decimal]]:
    """The shares as read, or why not: each above zero, together exactly 100%, each inventor of
    the patent's institution and named once, from a day after the shares in force and after the
    last money allocated on the patent (what was allocated keeps its shares). Forms call it to
    explain a refusal; `set_inventor_shares` calls it again under the patent's lock."""
    read: list[tuple[int, Decimal]] = []
    for inventor_id, share in shares:
        value = _decimal(share, "shares")
        if value <= ZERO or value > 1 or value != value.quantize(Decimal("0.0001")):
            raise ValidationError(
                {"shares": _("Each share is a fraction above 0 and at most 1, to four decimal places.")}
            )
        read.append((int(inventor_id), value))
    if not read:
        raise ValidationError({"shares": _("Name at least one inventor.")})
    if len({inventor for inventor, _share in read}) != len(read):
        raise ValidationError({"shares": _("Each inventor is named once.")})
    total = sum((share for _inventor, share in read), ZERO)
    if total != 1:
        raise ValidationError(
            {
                "shares": _("The shares add up to %(sum)s%%: they must add up to exactly 100%%.")
                % {"sum": f"{total * 100:.2f}"}
            }
        )
    known = Inventor.objects.filter(institution_id=patent.owner_id, pk__in=[i for i, _s in read]).count()
    if known != len(read):
        raise ValidationError({"shares": _("Every inventor must be one of the patent owner's inventors.")})
    latest = patent.share_sets.order_by("-effective_from").values_list("effective_from", flat=True).first()
    if latest is not None and effective_from <= latest:
        raise ValidationError(
            {"effective_from": _("A change applies after the shares in force from %(date)s.") % {"date": latest}}
        )
    allocated = AllocationLine.objects.filter(patent=patent).order_by("-received_on")
    last_allocated = allocated.values_list("received_on", flat=True).first()
    if last_allocated is not None and effective_from <= last_allocated:
        raise ValidationError(
            {
                "effective_from": _(
                    "Money received on %(date)s was already allocated by the shares before: a change applies "
                    "from a later day."
                )
                % {"date": last_allocated}
            }
        )
    return read


@transaction.atomic
def set_inventor_shares(
    *,
    patent_id: int,
    shares: Sequence[tuple[int, Decimal | str]],
    effective_from: date,
    by: User | None,
    reason: str = "",
) -> InventorShareSet:
    """The patent's inventors and their shares from `effective_from` on (`check_inventor_shares`)."""
    patent = Patent.objects.select_for_update().get(pk=patent_id)  # one change of a patent's shares at a time
    reason = clean_multi_line(reason, "reason", max_length=REASON_MAX_LENGTH)
    read = check_inventor_shares(patent, shares, effective_from)
    share_set = InventorShareSet.objects.create(
        patent=patent, effective_from=effective_from, reason=reason, recorded_by=by
    )
    InventorShare.objects.bulk_create(
        InventorShare(share_set=share_set, inventor_id=inventor, share=share) for inventor, share in read
    )
    share_set.summary = _shares_text(share_set)
    share_set.save(update_fields=["summary"])
    why = reason or _("Inventors' shares from %(date)s") % {"date": effective_from}
    _audit.created(share_set, by=by, fields=("patent", "effective_from", "summary"), reason=why)
    return share_set


def _shares_text(share_set: InventorShareSet) -> str:
    return ", ".join(
        f"{s.inventor.name} {s.share * 100:.2f}%" for s in share_set.shares.select_related("inventor").order_by("pk")
    )


def policy_on(institution_id: int, on: date) -> DistributionPolicy | None:
    """The institution's policy in force on a day; None: the law's default applies."""
    return (
        DistributionPolicy.objects.filter(institution_id=institution_id, effective_from__lte=on)
        .order_by("-effective_from")
        .first()
    )


def check_policy_day(institution_id: int, effective_from: date) -> None:
    """A new policy applies from a day after the last money allocated (that money keeps its policy)."""
    allocated = (
        Allocation.objects.filter(institution_id=institution_id, received_on__gte=effective_from)
        .order_by("-received_on")
        .values_list("received_on", flat=True)
        .first()
    )
    if allocated is not None:
        raise ValidationError(
            {
                "effective_from": _(
                    "Money received on %(date)s was already allocated: a new policy applies from a later day."
                )
                % {"date": allocated}
            }
        )


@transaction.atomic
def adopt_policy(*, by: User | None, **fields: Any) -> DistributionPolicy:
    """A new version of an institution's distribution policy, from its day on. It is refused below
    the legal floor unless the institution's own approved rule is named; a version that money was
    already allocated by stays as it is (a change is a new version from a later day)."""
    policy = DistributionPolicy(recorded_by=by, **fields)
    policy.full_clean()
    check_policy_day(policy.institution_id, policy.effective_from)
    policy.save()
    _audit.created(policy, by=by, fields=DistributionPolicy.TERMS)
    return policy


@transaction.atomic
def record_patent_cost(
    *, patent_id: int, kind: str, amount: Decimal | int | str, incurred_on: date, description: str = "", by: User | None
) -> PatentCost:
    cost = PatentCost(
        patent_id=patent_id,
        kind=kind,
        amount=_require_amount(amount),
        incurred_on=incurred_on,
        description=description,
        recorded_by=by,
    )
    cost.full_clean()
    cost.save()
    _audit.created(cost, by=by, fields=("kind", "amount", "incurred_on", "description"))
    return cost


# -- allocation ---------------------------------------------------------------------------------


@dataclass
class _Books:
    """What allocating a license's income on a day reads, once per service call: the policy in
    force, the VAT exemption, and for each patent its weight, inventors and costs left to recover
    (kept up to date as allocations recover them)."""

    lic: License
    on: date
    policy: DistributionPolicy | None
    vat_exempt: bool
    patents: list[rules.PatentPart]

    @property
    def split(self) -> rules.Split:
        policy = self.policy or DistributionPolicy.statutory(self.lic.offer.patent.owner)
        return policy.split(self.vat_exempt)

    @property
    def equity_inventors_share(self) -> Decimal:
        return self.policy.equity_inventors_share if self.policy else rules.LEGAL_FLOOR

    def recovered(self, lines: Iterable[rules.Line]) -> None:
        spent: dict[int, Decimal] = {}
        for line in lines:
            if line.party == rules.COSTS:
                spent[line.patent] = spent.get(line.patent, ZERO) + line.amount
        self.patents = [
            rules.PatentPart(p.patent, p.weight, p.costs_unrecovered - spent.get(p.patent, ZERO), p.inventors)
            for p in self.patents
        ]


def _books(lic: License, on: date) -> _Books:
    institution_id = lic.offer.patent.owner_id
    links = list(lic.patent_links.order_by("patent_id").values_list("patent_id", "weight"))
    if not links:  # a license applied for before packages were copied: its offer's patent
        links = [(lic.offer.patent_id, Decimal(1))]
    ids = [patent for patent, _weight in links]
    # Costs are recovered once across every license of a patent: one allocation at a time.
    list(Patent.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    in_force: dict[int, int] = {}
    for patent, share_set in (
        InventorShareSet.objects.filter(patent_id__in=ids, effective_from__lte=on)
        .order_by("patent_id", "-effective_from")
        .values_list("patent_id", "pk")
    ):
        in_force.setdefault(patent, share_set)
    inventors: dict[int, list[rules.InventorPart]] = {patent: [] for patent in ids}
    for patent, inventor, college, share in (
        InventorShare.objects.filter(share_set_id__in=in_force.values())
        .order_by("share_set__patent_id", "inventor_id")
        .values_list("share_set__patent_id", "inventor_id", "inventor__college", "share")
    ):
        inventors[patent].append(rules.InventorPart(inventor, college, share))
    policy = policy_on(institution_id, on)
    unrecovered = {patent: ZERO for patent in ids}
    if policy is not None and policy.deduct_costs:
        for patent, total in (
            PatentCost.objects.filter(patent_id__in=ids, incurred_on__lte=on)
            .values_list("patent_id")
            .annotate(Sum("amount"))
            .order_by()
        ):
            unrecovered[patent] += total
        for patent, total in (
            AllocationLine.objects.filter(patent_id__in=ids, party=rules.COSTS)
            .values_list("patent_id")
            .annotate(Sum("amount"))
            .order_by()
        ):
            unrecovered[patent] -= total
    parts = [
        rules.PatentPart(patent, weight, max(unrecovered[patent], ZERO), inventors[patent]) for patent, weight in links
    ]
    return _Books(lic, on, policy, Contract.exempts(lic.pk), parts)


def _write(books: _Books, lines: list[rules.Line], **header: Any) -> Allocation:
    amount = sum((line.amount for line in lines), ZERO)
    allocation = Allocation.objects.create(
        institution_id=books.lic.offer.patent.owner_id,
        license=books.lic,
        amount=amount,
        received_on=books.on,
        policy=books.policy,
        vat_exempt=books.vat_exempt,
        **header,
    )
    AllocationLine.objects.bulk_create(_line_row(allocation, line) for line in lines)
    books.recovered(lines)
    return allocation


def _line_row(allocation: Allocation, line: rules.Line) -> AllocationLine:
    return AllocationLine(
        allocation_id=allocation.pk,
        institution_id=allocation.institution_id,
        received_on=allocation.received_on,
        patent_id=line.patent,
        party=line.party,
        inventor_id=line.inventor,
        college=line.college,
        amount=line.amount,
    )


def _income(books: _Books, amount: Decimal, **header: Any) -> Allocation:
    return _write(books, rules.distribute(amount, books.patents, books.split), **header)


def allocate_payment(
    lic: License, payment: Payment, paid: Sequence[tuple[Installment, Decimal]], *, by: User | None
) -> list[Allocation]:
    """A payment's income, one allocation per installment it paid, by the policy in force on the
    day the money arrived. Called in the payment's transaction, under the license's lock."""
    if not paid:
        return []
    books = _books(lic, payment.paid_on)
    return [
        _income(
            books, take, source=Allocation.Source.PAYMENT, fee_kind=inst.kind, installment=inst, payment=payment, by=by
        )
        for inst, take in paid
    ]


def allocate_credit(lic: License, applied: Sequence[tuple[Installment, CreditMovement]], *, by: User | None) -> None:
    """The license's credit applied to what fell due: income from the day it is applied."""
    if not applied:
        return
    books = _books(lic, clock.today())
    for inst, movement in applied:
        _income(
            books,
            movement.amount,
            source=Allocation.Source.CREDIT,
            fee_kind=inst.kind,
            installment=inst,
            credit_movement=movement,
            by=by,
        )


def _held(lines: Any) -> list[tuple[rules.Line, Decimal]]:
    """What each line key of these allocation lines holds, net of what was taken back."""
    rows = (
        lines.values_list("patent_id", "party", "inventor_id", "college")
        .annotate(held=Sum("amount"))
        .order_by("patent_id", "party", "inventor_id", "college")
    )
    return [
        (rules.Line(patent, party, ZERO, inventor, college), total) for patent, party, inventor, college, total in rows
    ]


def _take_back(
    lic: License, inst: Installment, amount: Decimal, held: list[tuple[rules.Line, Decimal]], **header: Any
) -> Allocation | None:
    # Money paid before the ledger existed is not allocated until the backfill runs: what was is taken back.
    amount = min(amount, sum((total for _line, total in held if total > ZERO), ZERO))
    if not amount:
        return None
    books = _Books(lic, clock.today(), None, False, [])
    return _write(books, rules.reverse(amount, held), fee_kind=inst.kind, installment=inst, **header)


def take_back_to_credit(
    lic: License, inst: Installment, movement: CreditMovement, *, by: User | None, reversal: bool = False
) -> Allocation | None:
    """A paid period corrected down (or credit applied to it given back by a reversed payment,
    `reversal`): that much went back to the credit (`movement`), so its allocation is taken back,
    from each line of the installment in proportion to what it holds."""
    source = Allocation.Source.REVERSAL if reversal else Allocation.Source.CORRECTION
    held = _held(AllocationLine.objects.filter(allocation__installment=inst))
    return _take_back(lic, inst, movement.amount, held, source=source, credit_movement=movement, by=by)


def take_back_payment(
    lic: License, payment: Payment, unpaid: Sequence[tuple[Installment, Decimal]], *, by: User | None
) -> list[Allocation]:
    """A payment reversed: what it paid into each installment is taken back from the lines the
    payment itself allocated there (all of them, to the fen, when it is all taken back), dated the
    day of the reversal; the year it was received keeps its figures."""
    taken = []
    for inst, amount in unpaid:
        held = _held(AllocationLine.objects.filter(allocation__payment=payment, allocation__installment=inst))
        allocation = _take_back(lic, inst, amount, held, source=Allocation.Source.REVERSAL, payment=payment, by=by)
        if allocation is not None:
            taken.append(allocation)
    return taken


def allocate_claim(lic: License, claim: InsuranceClaim, *, by: User | None) -> Allocation:
    """The insurer's compensation is income of the license, from the day it is recorded."""
    books = _books(lic, clock.today())
    assert claim.paid_amount is not None
    return _income(
        books, claim.paid_amount, source=Allocation.Source.INSURANCE, fee_kind="insurance", claim=claim, by=by
    )


def allocate_equity(lic: License, conversion: EquityConversion, *, by: User | None) -> Allocation:
    """A stake taken instead of a fee, at the amount converted, split by the policy's equity share."""
    assert conversion.executed_on is not None
    books = _books(lic, conversion.executed_on)
    lines = rules.distribute_equity(conversion.converted_amount, books.patents, books.equity_inventors_share)
    return _write(books, lines, source=Allocation.Source.EQUITY, fee_kind="equity", conversion=conversion, by=by)


# -- payouts ------------------------------------------------------------------------------------


@transaction.atomic
def prepare_payout(*, institution_id: int, payee: str, up_to: date, by: User | None) -> PayoutBatch:
    """A batch paying each inventor (or college) what the ledger owes them for money received up
    to `up_to`. One batch is prepared at a time per institution (its row is locked), so no amount
    is put in two batches."""
    if payee not in PayoutBatch.Payee.values:
        raise ValidationError({"payee": _("Choose whom the batch pays: the inventors or the colleges.")})
    if up_to > clock.today():
        raise ValidationError({"up_to": _("A batch pays money already received: choose today or an earlier day.")})
    Institution.objects.select_for_update().get(pk=institution_id)
    accounts = [a for a in selectors.owed_to_payees(institution_id, payee, up_to) if a.owed > ZERO]
    if not accounts:
        raise _refused(
            _("Nothing is owed to the %(payee)s for money received up to %(date)s.")
            % {"payee": PayoutBatch.Payee(payee).label, "date": up_to}
        )
    batch = PayoutBatch.objects.create(
        institution_id=institution_id,
        payee=payee,
        up_to=up_to,
        total=sum((a.owed for a in accounts), ZERO),
        prepared_by=by,
    )
    PayoutItem.objects.bulk_create(
        PayoutItem(batch=batch, inventor_id=a.inventor, college=a.college, amount=a.owed) for a in accounts
    )
    _audit.created(batch, by=by, fields=("payee", "up_to", "total"))
    return batch


def _lock_batch(batch_id: int) -> PayoutBatch:
    return PayoutBatch.objects.select_for_update().get(pk=batch_id)


@transaction.atomic
def mark_payout_paid(*, batch_id: int, paid_on: date, reference: str, by: User | None) -> PayoutBatch:
    reference = clean_single_line(reference, "reference", max_length=100)
    if not reference:
        raise ValidationError({"reference": _("Enter the bank or payroll reference of the payment.")})
    batch = _lock_batch(batch_id)
    if paid_on > clock.today():
        raise ValidationError({"paid_on": _("The payment date cannot be in the future.")})
    if paid_on < clock.local_date(batch.prepared_at):
        raise ValidationError(
            {
                "paid_on": _("The batch was prepared on %(date)s: it was paid on or after that day.")
                % {"date": clock.local_date(batch.prepared_at)}
            }
        )
    _run(batch, "mark_paid", paid_on, reference, by=by)
    return batch


@transaction.atomic
def cancel_payout(*, batch_id: int, by: User | None, reason: str) -> PayoutBatch:
    """A batch not paid after all: its amounts are owed again and go into the next batch."""
    batch = _lock_batch(batch_id)
    _run(batch, "cancel", by=by, reason=_require_reason(reason))
    return batch


# -- the inventor's own account -----------------------------------------------------------------


@transaction.atomic
def invite_inventor(*, inventor_id: int, language: str, by: User | None) -> Inventor:
    """Give an inventor read-only access to their patents, money and statements: an account tied
    to them (the one with their email, if there is exactly one, else a new one), and an email with
    a link to choose a password, sent when the transaction commits."""
    from django.contrib.auth import get_user_model

    inventor = Inventor.objects.select_for_update().get(pk=inventor_id)
    if not inventor.email:
        raise ValidationError({"email": _("Enter the inventor's email first: the invitation is sent there.")})
    if inventor.user_id is None:
        users = get_user_model().objects
        same = list(users.filter(email__iexact=inventor.email, is_active=True)[:2])
        taken = same and Inventor.objects.filter(user=same[0]).exists()
        if len(same) == 1 and not taken:
            user = same[0]
        else:
            user = users.create_user(username=f"inventor-{inventor.pk}", email=inventor.email)
        if not user.has_usable_password():  # the reset link is only sent to accounts with one
            user.set_password(secrets.token_urlsafe(32))
            user.save(update_fields=["password"])
        before = _audit.snapshot(inventor, ["user"])
        inventor.user = user
        inventor.save(update_fields=["user"])
        _audit.changed(inventor, before, by=by, reason=_("Invited to see their statements"))
    transaction.on_commit(lambda: queue.enqueue("licensing.send_inventor_invitation", inventor.pk, language))
    return inventor


def send_inventor_invitation(*, inventor_id: int, language: str) -> None:
    """The invitation: what the inventor can see, and a link to choose a password (valid as long
    as Django's password-reset links)."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.contrib.auth.forms import PasswordResetForm

    inventor = Inventor.objects.select_related("user", "institution").get(pk=inventor_id)
    if inventor.user is None or not inventor.user.email:
        return
    site = urlsplit(settings.SITE_URL)
    form = PasswordResetForm(data={"email": inventor.user.email})
    if not form.is_valid():
        return
    with translation.override(language):
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            subject_template_name="portal/emails/inventor_invitation.subject.txt",
            email_template_name="portal/emails/inventor_invitation.txt",
            html_email_template_name="portal/emails/inventor_invitation.html",
            extra_email_context={"inventor": inventor},  # type: ignore[dict-item]  # the stubs say str
        )


# -- the backfill: income recorded before the ledger ---------------------------------------------


@dataclass
class _Known:
    """What the backfill reads once per batch of licenses, to allocate without a query per row."""

    policies: dict[int, list[DistributionPolicy]]  # institution -> versions, newest first
    shares: dict[int, list[tuple[date, list[rules.InventorPart]]]]  # patent -> sets, newest first
    costs: dict[int, list[tuple[date, Decimal]]]  # patent -> costs paid, by day
    recovered: dict[int, Decimal]  # patent -> costs recovered so far

    def policy(self, institution_id: int, on: date) -> DistributionPolicy | None:
        return next((p for p in self.policies.get(institution_id, []) if p.effective_from <= on), None)

    def part(self, patent: int, weight: Decimal, on: date, deduct_costs: bool) -> rules.PatentPart:
        inventors = next((parts for day, parts in self.shares.get(patent, []) if day <= on), [])
        unrecovered = ZERO
        if deduct_costs:
            paid = sum((amount for day, amount in self.costs.get(patent, []) if day <= on), ZERO)
            unrecovered = max(paid - self.recovered.get(patent, ZERO), ZERO)
        return rules.PatentPart(patent, weight, unrecovered, inventors)


def _known(license_ids: list[int], patent_ids: set[int], institution_ids: set[int]) -> _Known:
    policies: dict[int, list[DistributionPolicy]] = {}
    for policy in DistributionPolicy.objects.filter(institution_id__in=institution_ids).order_by(
        "institution_id", "-effective_from"
    ):
        policies.setdefault(policy.institution_id, []).append(policy)
    sets: dict[int, dict[date, list[rules.InventorPart]]] = {}
    for patent, day, inventor, college, share in (
        InventorShare.objects.filter(share_set__patent_id__in=patent_ids)
        .order_by("share_set__patent_id", "-share_set__effective_from", "inventor_id")
        .values_list("share_set__patent_id", "share_set__effective_from", "inventor_id", "inventor__college", "share")
    ):
        sets.setdefault(patent, {}).setdefault(day, []).append(rules.InventorPart(inventor, college, share))
    costs: dict[int, list[tuple[date, Decimal]]] = {}
    for patent, day, amount in PatentCost.objects.filter(patent_id__in=patent_ids).values_list(
        "patent_id", "incurred_on", "amount"
    ):
        costs.setdefault(patent, []).append((day, amount))
    recovered = dict(
        AllocationLine.objects.filter(patent_id__in=patent_ids, party=rules.COSTS)
        .values_list("patent_id")
        .annotate(Sum("amount"))
        .order_by()
    )
    return _Known(policies, {p: list(days.items()) for p, days in sets.items()}, costs, recovered)


def _replay(
    installments: list[dict], payments: list[dict], taken: dict[int, Decimal], pairs: set[tuple[int, int]]
) -> list[tuple[dict, dict, Decimal]]:
    """Which payment paid what of each installment, as the services pay: installments in the order
    they fall due take the payments in the order they were made (an overpayment's credit paid what
    fell due next, from the same money). `taken`: what each payment already gave; `pairs`: a
    payment and installment already allocated together (one allocation per pair)."""
    attributed = []
    queue = [p for p in payments if p["amount"] > taken.get(p["id"], ZERO)]
    left = {p["id"]: p["amount"] - taken.get(p["id"], ZERO) for p in queue}
    for inst in installments:
        owed = inst["unallocated"]
        for payment in queue:
            if owed <= ZERO:
                break
            if not left[payment["id"]] or (payment["id"], inst["id"]) in pairs:
                continue
            take = min(owed, left[payment["id"]])
            attributed.append((payment, inst, take))
            left[payment["id"]] -= take
            owed -= take
    return attributed


def backfill_licenses(license_ids: list[int], by: User | None = None) -> tuple[int, int]:
    """Allocate the income of these licenses that has no allocation yet: what their installments
    were paid (dated by the payments that paid them), insurance compensation, equity executed.
    Reads a fixed number of queries for the whole batch and writes in bulk. Run under the
    licenses' locks (`backfill`). Returns (allocations, lines) written."""
    from ..models import LicensePatent

    licenses = {
        pk: (patent, owner)
        for pk, patent, owner in License.objects.filter(pk__in=license_ids).values_list(
            "pk", "offer__patent_id", "institution_id"
        )
    }
    links: dict[int, list[tuple[int, Decimal]]] = {}
    for lic, patent, weight in (
        LicensePatent.objects.filter(license_id__in=license_ids)
        .order_by("license_id", "patent_id")
        .values_list("license_id", "patent_id", "weight")
    ):
        links.setdefault(lic, []).append((patent, weight))
    for pk, (patent, _owner) in licenses.items():
        links.setdefault(pk, [(patent, Decimal(1))])
    registered: dict[int, date] = {
        lic: day
        for lic, day in Contract.objects.filter(license_id__in=license_ids, registered_on__isnull=False).values_list(
            "license_id", "registered_on"
        )
        if day is not None
    }
    allocated = dict(
        Allocation.objects.filter(license_id__in=license_ids, installment__isnull=False)
        .values_list("installment_id")
        .annotate(Sum("amount"))
        .order_by()
    )
    taken = dict(
        Allocation.objects.filter(license_id__in=license_ids, payment__isnull=False)
        .values_list("payment_id")
        .annotate(Sum("amount"))
        .order_by()
    )
    pairs = set(
        Allocation.objects.filter(license_id__in=license_ids, source=Allocation.Source.PAYMENT).values_list(
            "payment_id", "installment_id"
        )
    )
    installments: dict[int, list[dict]] = {}
    for inst_id, lic, kind, paid in (
        Installment.objects.filter(license_id__in=license_ids, paid_amount__gt=0)
        .order_by("license_id", "due_date", "kind", "sequence")
        .values_list("id", "license_id", "kind", "paid_amount")
    ):
        unallocated = paid - allocated.get(inst_id, ZERO)
        if unallocated > ZERO:
            installments.setdefault(lic, []).append({"id": inst_id, "kind": kind, "unallocated": unallocated})
    payments: dict[int, list[dict]] = {}
    for payment_id, lic, amount, paid_on in (
        Payment.objects.standing()
        .filter(license_id__in=installments)
        .order_by("license_id", "paid_on", "recorded_at", "id")
        .values_list("id", "license_id", "amount", "paid_on")
    ):
        payments.setdefault(lic, []).append({"id": payment_id, "amount": amount, "paid_on": paid_on})
    income: dict[int, list[tuple[date, Decimal, dict[str, Any]]]] = {}
    for lic, owed in installments.items():
        for payment, inst, take in _replay(owed, payments.get(lic, []), taken, pairs):
            header = {"source": Allocation.Source.PAYMENT, "fee_kind": inst["kind"]}
            income.setdefault(lic, []).append(
                (payment["paid_on"], take, {**header, "installment_id": inst["id"], "payment_id": payment["id"]})
            )
    claims = InsuranceClaim.objects.filter(license_id__in=license_ids, state=InsuranceClaim.State.PAID).exclude(
        pk__in=Allocation.objects.filter(claim__isnull=False).values("claim_id")
    )
    paid_at = dict(
        AuditEvent.objects.filter(
            content_type__model="insuranceclaim", object_id__in=claims.values("pk"), transition="record_paid"
        ).values_list("object_id", "at")
    )
    for claim_id, lic, compensation in claims.values_list("pk", "license_id", "paid_amount"):
        paid_day = clock.local_date(paid_at[claim_id]) if claim_id in paid_at else clock.today()
        header = {"source": Allocation.Source.INSURANCE, "fee_kind": "insurance", "claim_id": claim_id}
        income.setdefault(lic, []).append((paid_day, compensation or ZERO, header))
    executed = EquityConversion.objects.filter(
        license_id__in=license_ids, state=EquityConversion.State.EXECUTED
    ).exclude(pk__in=Allocation.objects.filter(conversion__isnull=False).values("conversion_id"))
    for conversion_id, lic, converted, executed_on in executed.values_list(
        "pk", "license_id", "converted_amount", "executed_on"
    ):
        header = {"source": Allocation.Source.EQUITY, "fee_kind": "equity", "conversion_id": conversion_id}
        income.setdefault(lic, []).append((executed_on or clock.today(), converted, header))
    if not income:
        return 0, 0
    patents = {patent for lic in income for patent, _weight in links[lic]}
    known = _known(list(income), patents, {licenses[lic][1] for lic in income})
    headers: list[Allocation] = []
    line_sets: list[list[rules.Line]] = []
    for lic in sorted(income):
        owner = licenses[lic][1]
        for day, amount, header in sorted(income[lic], key=lambda item: (item[0], str(item[2]))):
            if amount <= ZERO:  # a claim closed with nothing paid: no income
                continue
            policy = known.policy(owner, day)
            exempt = lic in registered and registered[lic] <= day
            split = (policy or DistributionPolicy(institution_id=owner)).split(exempt)
            parts = [known.part(p, w, day, split.deduct_costs) for p, w in links[lic]]
            if header["source"] == Allocation.Source.EQUITY:
                share = policy.equity_inventors_share if policy else rules.LEGAL_FLOOR
                lines = rules.distribute_equity(amount, parts, share)
            else:
                lines = rules.distribute(amount, parts, split)
            for line in lines:
                if line.party == rules.COSTS:
                    known.recovered[line.patent] = known.recovered.get(line.patent, ZERO) + line.amount
            headers.append(
                Allocation(
                    institution_id=owner,
                    license_id=lic,
                    amount=amount,
                    received_on=day,
                    policy=policy,
                    vat_exempt=exempt,
                    by=by,
                    **header,
                )
            )
            line_sets.append(lines)
    written = Allocation.objects.bulk_create(headers)
    line_rows = [
        (a.pk, a.institution_id, a.received_on, line.patent, line.party, line.inventor, line.college, line.amount)
        for a, lines in zip(written, line_sets, strict=True)
        for line in lines
    ]
    _insert_lines(line_rows)
    return len(written), len(line_rows)


LINE_COLUMNS = (
    "allocation_id",
    "institution_id",
    "received_on",
    "patent_id",
    "party",
    "inventor_id",
    "college",
    "amount",
)


def _insert_lines(rows: list[tuple]) -> None:
    """Many ledger lines at once: PostgreSQL's COPY (several times faster than INSERT for the
    hundreds of thousands a backfill writes), else a bulk INSERT."""
    if connection.vendor != "postgresql":
        AllocationLine.objects.bulk_create(
            (AllocationLine(**dict(zip(LINE_COLUMNS, row, strict=True))) for row in rows), batch_size=5000
        )
        return
    table = connection.ops.quote_name(AllocationLine._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(LINE_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def backfill(*, batch: int = 1000, progress: Any = None, by: User | None = None) -> dict[str, int]:
    """Allocate a whole book's income recorded before the ledger, a batch of licenses at a time,
    each batch in its own transaction under its licenses' locks (a payment recorded meanwhile
    waits, and is allocated by its own service). Safe to run twice: what is allocated is skipped."""
    totals = {"licenses": 0, "allocations": 0, "lines": 0}
    last = 0
    while True:
        ids = list(License.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return totals
        with transaction.atomic():
            list(License.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
            allocations, lines = backfill_licenses(ids, by)
        totals["licenses"] += len(ids)
        totals["allocations"] += allocations
        totals["lines"] += lines
        last = ids[-1]
        if progress:
            progress(len(ids))


@transaction.atomic
def set_patent_weights(*, license_id: int, weights: dict[int, Decimal | str], by: User | None, reason: str) -> License:
    """How the license's income is shared among its patents before the policy splits it (equal
    by default): a weight above zero for each of its patents. Applies to money allocated from
    now on; what was allocated keeps its split."""
    from ..models import LicensePatent

    reason = _require_reason(reason)
    lic = _lock_license(license_id, schedule=False)
    links = {link.patent_id: link for link in LicensePatent.objects.filter(license=lic).select_related("patent")}
    if set(weights) != set(links):
        raise ValidationError({"weights": _("Give a weight for each of the license's patents, and only those.")})
    read = {}
    for patent_id, weight in weights.items():
        value = _decimal(weight, "weights")
        if value <= ZERO or value != value.quantize(Decimal("0.01")) or value >= 100000:
            raise ValidationError({"weights": _("Each weight is above 0 and below 100,000, to two decimal places.")})
        read[patent_id] = value.quantize(Decimal("0.01"))
    for patent_id, value in sorted(read.items()):
        link = links[patent_id]
        before = _audit.snapshot(link, ["weight"])
        link.weight = value
        link.save(update_fields=["weight"])
        _audit.changed(link, before, by=by, reason=reason)
    return lic
