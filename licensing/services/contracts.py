"""The license contract: issuing it under the institution's next number, and rendering each version
of its document (Chinese, then the English version) to PDF from the license's own copy of the terms.

The document states every payment relative to the day the contract takes effect ("3 months after
the contract takes effect"), as Chinese license contracts do: its dates are not known until both
sides have signed. The months come from the one schedule (planned_schedule), built from the first
day of a month, so no rule of the schedule is restated here."""

from __future__ import annotations

import hashlib
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
from ..domain.money import ZERO
from ..models import (
    Contract,
    ContractNumberSeries,
    ContractVersion,
    DealTerms,
    Enterprise,
    Institution,
    License,
    Recordal,
    Reminder,
    SystemReason,
    package_life,
)
from ..receipts import validate_signed_copy
from . import _audit
from ._runner import _lock_license, _lock_with_license, _notify_once, _refused, _run
from .licenses import take_effect
from .obligations import obligations
from .recordals import owe_recordal

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
