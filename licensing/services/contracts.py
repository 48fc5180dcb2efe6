"""The license contract: issuing it under the institution's next number, and rendering each version
of its document (Chinese, then the English version) to PDF from the license's own copy of the terms.

The document states every payment relative to the day the contract takes effect ("3 months after
the contract takes effect"), as Chinese license contracts do: its dates are not known until both
sides have signed. The months come from the one schedule (planned_schedule), built from the first
day of a month, so no rule of the schedule is restated here."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import pdf
from ..domain import clock, royalties, windows
from ..domain.money import CENT, ZERO, add_months, split_evenly, split_proportionally
from ..domain.numbers import money_text
from ..domain.text import clean_single_line
from ..models import (
    MAX_PRICE,
    AuditEvent,
    Contract,
    ContractNumberSeries,
    ContractVersion,
    DealTerms,
    Enterprise,
    Installment,
    Institution,
    License,
    LicensePatent,
    Patent,
    Recordal,
    Reminder,
    SystemReason,
    package_life,
)
from ..receipts import validate_signed_copy
from . import _audit
from ._runner import (
    _decimal,
    _lock_license,
    _lock_with_license,
    _notify_once,
    _refused,
    _require_reason,
    _run,
    _without_stale_schedule,
)
from .licenses import take_effect
from .obligations import obligations
from .recordals import owe_recordal
from .schedule import INSTALLMENT_TERMS

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# What each party must have on file before its name goes into a contract, and who keeps it.
LICENSOR_DATA = ("uscc", "address", "legal_representative", "contract_prefix")
LICENSEE_DATA = ("uscc", "address", "legal_representative")
PAYEE_DATA = ("payee_name", "payee_bank", "payee_account")  # where a paid license's fees go


@dataclass(frozen=True)
class ContractPayment:
    """A fixed payment as the contract words it: after how many months from the effective date."""

    name: str
    amount: Decimal
    months: int  # after the contract takes effect; 0: on that day
    deferred: bool  # held back to the end of the deferral
    due: date | None = None  # once the contract has taken effect: the day itself


@dataclass(frozen=True)
class ContractTerms:
    """What a version of the document states, besides the license's own terms."""

    license: License
    contract: Contract
    version: int
    reason: str
    licensor: Institution
    licensee: Enterprise
    patents: list
    payments: list[ContractPayment]
    fixed_total: Decimal
    event_milestones: list
    tiers: list[royalties.Tier]
    term_end: date
    policy: object | None
    issued_on: date
    articles: dict[str, int]  # the number of each article the document has, consecutive


def missing_party_data(lic: License) -> list[str]:
    """What is missing to name the parties, in words: the institution's (kept by its staff) and the
    enterprise's (kept by its members in the portal)."""
    missing = []
    institution, enterprise = lic.offer.patent.owner, lic.enterprise
    for name in (*LICENSOR_DATA, *(() if lic.is_free else PAYEE_DATA)):
        if not getattr(institution, name):
            missing.append(
                _("the institution's %(field)s (Institutions, in the admin)") % {"field": _label(Institution, name)}
            )
    for name in LICENSEE_DATA:
        if not getattr(enterprise, name):
            missing.append(
                _("the enterprise's %(field)s (its Enterprise page in the portal)")
                % {"field": _label(Enterprise, name)}
            )
    return missing


def _label(model: type[Institution] | type[Enterprise], name: str) -> str:
    field: Any = model._meta.get_field(name)  # a concrete field of the party, never a relation
    return str(field.verbose_name)


@transaction.atomic
def issue_contract(*, license_id: int, by: User | None) -> Contract:
    """Issue the contract of a bought license: the institution's next number of the year, and its
    first version's document. The number's row stays locked until the issue commits, so two
    issues of one institution take consecutive numbers, and an issue that fails gives its number
    back."""
    lic = _lock_license(license_id, schedule=False)
    if lic.state not in License.BOUGHT_STATES:
        raise _refused(
            _("A contract is issued for a bought license; this one is %(state)s.") % {"state": lic.get_state_display()}
        )
    existing = Contract.objects.filter(license=lic).first()
    if existing is not None:
        raise _refused(_("This license already has contract %(number)s.") % {"number": existing.number})
    missing = missing_party_data(lic)
    if missing:
        raise _refused(
            _("Before the contract can name the parties, fill in: %(missing)s.") % {"missing": "; ".join(missing)}
        )
    institution = lic.offer.patent.owner
    issued_at = clock.now()
    year = clock.local_date(issued_at).year
    serial = _next_serial(institution, year)
    contract = Contract.objects.create(
        license=lic,
        institution=institution,
        year=year,
        serial=serial,
        number=Contract.number_for(institution.contract_prefix, year, serial),
        issued_at=issued_at,
    )
    issued = _audit.created(contract, by=by, fields=("number", "state", "issued_at"))
    _write_version(contract, by=by, reason="")
    _notify_once(Reminder.Kind.CONTRACT_ISSUED, contract, event=issued, license=lic)
    return contract


@transaction.atomic
def upload_licensee_copy(*, contract_id: int, copy: Any, by: User) -> Contract:
    """The licensee's members upload the copy they signed and sealed; the TTO is told. A later
    upload replaces it until the signing is recorded."""
    contract = _lock_contract(contract_id)
    member = getattr(by, "enterprise_member", None)
    if member is None or member.enterprise_id != contract.license.enterprise_id:
        raise _refused(_("Only a member of the licensee uploads its signed copy."))
    if contract.state != Contract.State.ISSUED:
        raise _refused(_("This contract is signed already: its signing was recorded."))
    _validated(copy, "licensee_copy")
    before = _audit.snapshot(contract, ["licensee_copy", "licensee_signed_at"])
    contract.licensee_copy.save(f"{contract.number}-licensee.pdf", copy, save=False)
    contract.licensee_signed_at = clock.now()
    contract.save(update_fields=["licensee_copy", "licensee_signed_at"])
    uploaded = _audit.changed(contract, before, by=by)
    _notify_once(Reminder.Kind.CONTRACT_SIGNED_BY_LICENSEE, contract, event=uploaded, license=contract.license)
    return contract


@transaction.atomic
def record_signing(
    *, contract_id: int, signed_copy: Any, signed_on: date, effective_on: date, by: User | None
) -> Contract:
    """The TTO records that both parties signed, with the copy they signed and the day it takes
    effect: from that day, not the purchase click, run the deferral, the dated payments and
    milestones and the report periods (services.take_effect); the licensee is told."""
    contract = _lock_contract(contract_id)
    lic = contract.license
    assert lic.purchased_on  # a contract is issued for a bought license
    if contract.state != Contract.State.ISSUED:
        raise _refused(_("This contract is signed already: its signing was recorded."))
    issued_on = clock.local_date(contract.issued_at)
    windows.contract_dates(signed_on, effective_on, issued_on, lic.purchased_on, clock.today())
    _validated(signed_copy, "signed_copy")
    before = _audit.snapshot(contract)
    contract.signed_copy.save(f"{contract.number}-signed.pdf", signed_copy, save=False)
    signed = _run(contract, "sign", signed_on, effective_on, by=by, before=before)
    take_effect(
        lic,
        effective_on,
        by=by,
        reason=SystemReason(gettext_noop("Contract %(number)s takes effect"), {"number": contract.number}),
    )
    owe_recordal(contract, Recordal.Kind.RECORDAL, effective_on, by=by)
    _notify_once(Reminder.Kind.CONTRACT_SIGNED, contract, event=signed, license=lic)
    return contract


@transaction.atomic
def register_technology_contract(
    *, contract_id: int, registration_number: str, registered_on: date, by: User | None
) -> Contract:
    """The TTO records the contract's technology-contract registration (技术合同认定登记): its
    number and day. From then its fees are exempt from VAT; a correction is a change, audited."""
    contract = _lock_contract(contract_id)
    if contract.state != Contract.State.SIGNED:
        raise _refused(_("A contract is registered once both parties have signed it."))
    number = clean_single_line(registration_number, "registration_number", max_length=40, required=True)
    assert contract.signed_on  # signed
    windows.require_within(registered_on, "registered_on", contract.signed_on, clock.today())
    before = _audit.snapshot(contract, ["registration_number", "registered_on"])
    contract.registration_number, contract.registered_on = number, registered_on
    contract.save(update_fields=["registration_number", "registered_on"])
    _audit.changed(contract, before, by=by)
    return contract


# What an amendment may change: the scope and term, the fixed price (spread over what is still
# unpaid of it), the schedule of what is still owed of the price, and the package. Other terms
# change by a new license.
AMENDABLE_TERMS = ("territory", "field_of_use", "term_end", "price", "schedule")
AMENDED_FIELDS = ("territory", "field_of_use", "term_end", "price", "plan", "installment_count")
MAX_INSTALLMENTS = 120


@transaction.atomic
def amend_contract(
    *,
    contract_id: int,
    changes: dict[str, Any],
    reason: str,
    by: User | None,
    patents: Iterable[Patent] | None = None,
) -> ContractVersion:
    """Amend the license's terms and write the contract's next version under the same number.
    A new price is spread over the price's installments still open, in proportion to what each
    still owes (what is paid stays paid); a term never ends before the license took effect or after
    the package's last patent. A recorded contract then owes its change recordal; the licensee is
    told."""
    contract = _lock_contract(contract_id)
    lic = contract.license
    reason = _require_reason(reason)
    unknown = set(changes) - set(AMENDABLE_TERMS)
    if unknown:
        raise ValidationError(_("These terms are not amended here: %(terms)s") % {"terms": ", ".join(sorted(unknown))})
    before = _audit.snapshot(lic, AMENDED_FIELDS)
    for name in ("territory", "field_of_use"):
        if name in changes:
            setattr(lic, name, clean_single_line(changes[name], name, max_length=300))
    if patents is not None:
        _amend_package(lic, patents, by=by, reason=reason)
    if "term_end" in changes:
        lic.term_end = changes["term_end"]  # None: until the last patent of the package expires
        last = package_life(lic.patents.all())
        assert lic.takes_effect_on  # a contract's license was bought
        if lic.term_end is not None:
            windows.require_within(lic.term_end, "term_end", max(lic.takes_effect_on, clock.today()), last)
    if "price" in changes:
        _amend_price(lic, _decimal(changes["price"], "price"), by=by, reason=reason)
    if "schedule" in changes:
        _amend_schedule(lic, changes["schedule"], by=by, reason=reason)
    lic.save(update_fields=[*AMENDED_FIELDS])
    if not _audit.changed(lic, before, by=by, reason=reason) and patents is None:
        raise _refused(_("Nothing to amend: the terms are as they were."))
    version = _write_version(contract, by=by, reason=reason)
    recorded = contract.recordals.filter(kind=Recordal.Kind.RECORDAL, state=Recordal.State.RECORDED).exists()
    if recorded:
        owe_recordal(contract, Recordal.Kind.CHANGE, clock.today(), by=by, reason=reason)
    _notify_once(Reminder.Kind.CONTRACT_AMENDED, version, license=lic, event=_audit.trail(version).first())
    return version


def _amend_price(lic: License, price: Decimal, *, by: User | None, reason: str) -> None:
    if price != price.quantize(CENT) or price > MAX_PRICE:
        raise ValidationError({"price": _("Enter the price in yuan with at most two decimal places (fen).")})
    purchase = [i for i in lic.installments.all() if i.kind == Installment.Kind.PURCHASE]
    paid = sum((i.paid_amount for i in purchase), ZERO)
    open_ = [i for i in purchase if i.outstanding > ZERO]
    if price < paid:
        raise ValidationError(
            {
                "price": _("%(paid)s of the price is paid already: the price cannot be less.")
                % {"paid": money_text(paid)}
            }
        )
    if price != lic.price and not open_:
        raise ValidationError({"price": _("No installment of the price is still open to carry a new price.")})
    if open_ and price != lic.price:
        shares = split_proportionally(price - paid, [i.outstanding for i in open_])
        for inst, share in zip(open_, shares, strict=True):
            inst_before = _audit.snapshot(inst, ["amount"])
            inst.amount = inst.paid_amount + share
            inst.save(update_fields=["amount"])
            _audit.changed(inst, inst_before, by=by, reason=reason)
    lic.price = price


def _amend_schedule(lic: License, schedule: dict[str, Any], *, by: User | None, reason: str) -> None:
    """What is still owed of the price, paid in `count` installments `interval_months` apart from
    `first_due` instead: the open installments close at what was paid on them (or go, when nothing
    was), and the new ones split the rest exactly (split_evenly), each held to the deferral's end."""
    count = int(_decimal(schedule.get("count"), "count"))
    interval = int(_decimal(schedule.get("interval_months", 1), "interval_months"))
    first_due: Any = schedule.get("first_due")  # require_within below refuses what is not a date
    if not 1 <= count <= MAX_INSTALLMENTS:
        raise ValidationError({"count": _("Between 1 and %(max)s installments.") % {"max": MAX_INSTALLMENTS}})
    if not 1 <= interval <= 24:
        raise ValidationError({"interval_months": _("Between 1 and 24 months between installments.")})
    last_day = package_life(lic.patents.all())
    windows.require_within(first_due, "first_due", clock.today(), last_day)
    if add_months(first_due, (count - 1) * interval) > last_day:
        raise ValidationError(
            {"count": _("The last installment would fall after the patent expires on %(date)s.") % {"date": last_day}}
        )
    purchase = [i for i in lic.installments.all() if i.kind == Installment.Kind.PURCHASE]
    open_ = [i for i in purchase if i.outstanding > ZERO]
    remaining = sum((i.outstanding for i in open_), ZERO)
    if not remaining:
        raise ValidationError({"count": _("Nothing of the price is left to reschedule.")})
    for inst in open_:
        if inst.paid_amount:
            before = _audit.snapshot(inst)
            inst.amount = inst.paid_amount
            _run(inst, "mark_paid", by=by, reason=reason, before=before)  # closed at what was paid on it
        else:
            _audit.record(AuditEvent.Action.DELETED, inst, by=by, reason=reason)
            inst.delete()
    sequence = max((i.sequence for i in purchase), default=0)
    for n, amount in enumerate(split_evenly(remaining, count)):
        inst = Installment(license=lic, kind=Installment.Kind.PURCHASE, sequence=sequence + n + 1, amount=amount)
        inst.fall_due(add_months(first_due, n * interval), lic.payments_start)
        inst.save()
        _audit.created(inst, by=by, fields=INSTALLMENT_TERMS, reason=reason)
    lic.plan = License.Plan.INSTALLMENTS if count > 1 else License.Plan.LUMP_SUM
    lic.installment_count = len([i for i in purchase if i.pk and i.paid_amount]) + count
    _without_stale_schedule(lic)


def _amend_package(lic: License, patents: Iterable[Patent], *, by: User | None, reason: str) -> None:
    from .offers import check_package

    chosen = check_package(lic.offer.patent, patents)
    before = sorted(lic.patents.values_list("number", flat=True))
    LicensePatent.objects.filter(license=lic).exclude(patent_id__in=chosen).delete()
    LicensePatent.objects.bulk_create(
        [LicensePatent(license=lic, patent=patent) for patent in chosen.values()], ignore_conflicts=True
    )
    after = sorted(patent.number for patent in chosen.values())
    if after != before:
        _audit.record(AuditEvent.Action.CHANGED, lic, by=by, changes={"patents": [before, after]}, reason=reason)


def _lock_contract(contract_id: int) -> Contract:
    """The license first, then its contract: the lock order of every service."""
    lic, contract = _lock_with_license(Contract, contract_id)
    contract.license = lic
    return contract


def _validated(upload: Any, field: str) -> None:
    if not upload:
        raise ValidationError({field: _("Upload the signed contract as a PDF file (a scan of every page).")})
    try:
        validate_signed_copy(upload)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def _next_serial(institution: Institution, year: int) -> int:
    """The next serial of the institution's year, its row locked until the transaction ends."""
    ContractNumberSeries.objects.bulk_create(
        [ContractNumberSeries(institution=institution, year=year)], ignore_conflicts=True
    )
    series = ContractNumberSeries.objects.select_for_update().get(institution=institution, year=year)
    series.last_serial += 1
    series.save(update_fields=["last_serial"])
    return series.last_serial


def _write_version(contract: Contract, *, by: User | None, reason: str) -> ContractVersion:
    number = (contract.versions.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    document = render_contract_pdf(contract, number, reason)
    stated = _audit.snapshot(contract.license, DealTerms.term_names()) | {"plan": contract.license.plan}
    version = ContractVersion(
        contract=contract,
        version=number,
        sha256=hashlib.sha256(document).hexdigest(),
        terms={name: _audit.plain(value) for name, value in stated.items()},
        reason=reason,
        created_by=by if getattr(by, "pk", None) else None,
    )
    version.document.save(f"{contract.number}-v{number}.pdf", ContentFile(document), save=False)
    version.save()
    _audit.created(version, by=by, fields=("version", "sha256"), reason=reason)
    return version


def contract_terms(contract: Contract, version: int, reason: str) -> ContractTerms:
    lic = contract.license
    patents = sorted(lic.patents.all(), key=lambda patent: patent.number)
    # The one schedule, from the first of a month: its months after that day are the contract's.
    issued_on = clock.local_date(contract.issued_at)
    start = issued_on.replace(day=1)
    plan = lic.plan or License.Plan.LUMP_SUM
    planned = obligations(lic, plan, start)
    payments = [
        ContractPayment(
            row.name,
            row.amount,
            (row.due_date.year - start.year) * 12 + row.due_date.month - start.month,
            row.deferred_from is not None,
        )
        for row in planned.schedule
    ]
    if contract.effective_on is not None:  # in effect: each fixed payment on its own day, as owed now
        payments = _dated_payments(lic)
    return ContractTerms(
        license=lic,
        contract=contract,
        version=version,
        reason=reason,
        licensor=contract.institution,
        licensee=lic.enterprise,
        patents=patents,
        payments=payments,
        fixed_total=planned.fixed_total + sum((m.amount for m in planned.event_milestones), ZERO),
        event_milestones=planned.event_milestones,
        tiers=lic.tiers() if lic.has_royalty else [],
        term_end=lic.term_within(package_life(patents)),
        policy=getattr(lic, "insurance_policy", None),
        issued_on=issued_on,
        articles=_articles(lic, policy=getattr(lic, "insurance_policy", None)),
    )


def _articles(lic: License, *, policy: object | None) -> dict[str, int]:
    """The articles in the order of CNIPA's model contract, those that apply numbered 1, 2, 3..."""
    present = [
        ("patents", True),
        ("scope", True),
        ("trial", True),
        ("fees", True),
        ("reports", lic.files_reports),
        ("equity", lic.equity_allowed),
        ("security", lic.insurance_required or policy is not None),
        ("confidentiality", True),
        ("default", True),
        ("validity", True),
        ("taxes", True),
        ("disputes", True),
        ("effect", True),
    ]
    return {name: number for number, name in enumerate((name for name, applies in present if applies), start=1)}


def _dated_payments(lic: License) -> list[ContractPayment]:
    """The fixed payments of a license in effect, each on its day (an amended schedule included):
    the installments, dated milestones by their names; royalty periods are stated as the royalty."""
    milestones = {m.installment_id: m.name for m in lic.milestones.filter(installment__isnull=False)}
    rows = lic.installments.exclude(kind__in=ROYALTY_KINDS).order_by("due_date", "kind", "sequence")
    return [
        ContractPayment(
            milestones.get(row.pk) or f"{row.get_kind_display()} {row.sequence}",
            row.amount,
            0,
            row.deferred_from is not None,
            row.due_date,
        )
        for row in rows
    ]


ROYALTY_KINDS = (
    Installment.Kind.ROYALTY,
    Installment.Kind.ROYALTY_MINIMUM,
    Installment.Kind.ROYALTY_ADJUSTMENT,
    Installment.Kind.TRIAL_FEE,  # paid in the trial, before the contract: Article 3 states it
)


def render_contract_html(contract: Contract, version: int, reason: str) -> str:
    """The whole document: the Chinese text, then the English version (the Chinese prevails). The
    terms are read in each language (the payments' names are the schedule's own words)."""
    bodies = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            terms = contract_terms(contract, version, reason)
            # Chinese sentences follow each other with no space between them, English ones with one.
            sep = " " if language == "en" else ""
            bodies.append(
                render_to_string("documents/contract_body.html", {"t": terms, "lic": terms.license, "sep": sep})
            )
    return render_to_string("documents/contract.html", {"t": terms, "bodies": bodies})


def render_contract_pdf(contract: Contract, version: int, reason: str) -> bytes:
    return pdf.html_to_pdf(render_contract_html(contract, version, reason))
