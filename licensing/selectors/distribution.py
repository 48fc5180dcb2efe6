"""Reads of the distribution ledger: what is owed to each payee and what was paid, per party and
year, and an inventor's annual statement. Sums in SQL, one query per table read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import ExtractYear

from ..domain import distribution as rules
from ..domain.money import ZERO
from ..models import Allocation, AllocationLine, Inventor, PayoutBatch, PayoutItem
from .reports import BookFilter

PAYEE_PARTY: dict[str, str] = {PayoutBatch.Payee.INVENTORS: rules.INVENTOR, PayoutBatch.Payee.COLLEGES: rules.COLLEGE}


@dataclass
class Owed:
    """One payee's account: allocated up to a day, in batches not cancelled, and the difference."""

    inventor: int | None
    college: str
    allocated: Decimal = ZERO
    batched: Decimal = ZERO

    @property
    def owed(self) -> Decimal:
        return self.allocated - self.batched


def owed_to_payees(institution_id: int, payee: str, up_to: date) -> list[Owed]:
    """Each inventor (or college) of the institution: what the ledger gives them for money
    received up to `up_to`, less what earlier batches (prepared or paid) already hold. Lines
    whose inventors were not recorded yet have no payee and are left out (`unassigned`)."""
    party = PAYEE_PARTY[payee]
    key = "inventor_id" if party == rules.INVENTOR else "college"
    lines = AllocationLine.objects.filter(institution_id=institution_id, party=party, received_on__lte=up_to)
    lines = lines.exclude(inventor__isnull=True) if party == rules.INVENTOR else lines.exclude(college="")
    accounts: dict[int | str, Owed] = {}
    for payee_key, total in lines.values_list(key).annotate(total=Sum("amount")).order_by(key):
        accounts[payee_key] = _account(party, payee_key)
        accounts[payee_key].allocated = total
    items = PayoutItem.objects.filter(batch__institution_id=institution_id, batch__payee=payee).exclude(
        batch__state=PayoutBatch.State.CANCELLED
    )
    for payee_key, total in items.values_list(key).annotate(total=Sum("amount")).order_by(key):
        accounts.setdefault(payee_key, _account(party, payee_key)).batched = total
    return [accounts[k] for k in sorted(accounts, key=str)]


def _account(party: str, key: int | str) -> Owed:
    return Owed(inventor=key, college="") if party == rules.INVENTOR else Owed(inventor=None, college=str(key))  # type: ignore[arg-type]


def unassigned(institution_id: int) -> Decimal:
    """Inventors' and colleges' parts of patents whose inventors were not recorded when the money
    came: owed to someone the TTO has still to name."""
    lines = AllocationLine.objects.filter(institution_id=institution_id).filter(
        Q(party=rules.INVENTOR, inventor__isnull=True) | Q(party=rules.COLLEGE, college="")
    )
    return lines.aggregate(total=Sum("amount"))["total"] or ZERO


@dataclass
class StatementLicense:
    license_id: int
    enterprise: str
    patents: list[str] = field(default_factory=list)
    received: Decimal = ZERO  # by the institution on those licenses' patents in the year
    deducted: Decimal = ZERO  # VAT, taxes, service fee and costs on the inventor's patents
    share: Decimal = ZERO  # the inventor's own lines


@dataclass
class Statement:
    inventor: Inventor
    year: int
    licenses: list[StatementLicense]
    paid_in_year: Decimal
    owed_at_end: Decimal

    @property
    def share(self) -> Decimal:
        return sum((row.share for row in self.licenses), ZERO)

    @property
    def received(self) -> Decimal:
        return sum((row.received for row in self.licenses), ZERO)

    @property
    def deducted(self) -> Decimal:
        return sum((row.deducted for row in self.licenses), ZERO)


def inventor_statement(inventor: Inventor, year: int) -> Statement:
    """An inventor's year: per license on their patents, what the institution received, what was
    deducted, and the inventor's share; what was paid to them in the year, and what is owed at its end."""
    mine = AllocationLine.objects.filter(inventor=inventor, party=rules.INVENTOR, received_on__year=year)
    by_license: dict[int, StatementLicense] = {}
    for license_id, enterprise, total in (
        mine.values_list("allocation__license_id", "allocation__license__enterprise__name")
        .annotate(total=Sum("amount"))
        .order_by("allocation__license_id")
    ):
        by_license[license_id] = StatementLicense(license_id, enterprise, share=total)
    patents = set(mine.values_list("patent_id", flat=True).distinct().order_by())
    on_patents = AllocationLine.objects.filter(
        allocation__license_id__in=by_license, patent_id__in=patents, received_on__year=year
    )
    for license_id, party, total in (
        on_patents.values_list("allocation__license_id", "party")
        .annotate(total=Sum("amount"))
        .order_by("allocation__license_id", "party")
    ):
        by_license[license_id].received += total
        if party in rules.DEDUCTIONS:
            by_license[license_id].deducted += total
    for license_id, number in (
        on_patents.values_list("allocation__license_id", "patent__number")
        .distinct()
        .order_by("allocation__license_id", "patent__number")
    ):
        by_license[license_id].patents.append(number)
    paid = PayoutItem.objects.filter(inventor=inventor, batch__state=PayoutBatch.State.PAID)
    paid_in_year = paid.filter(batch__paid_on__year=year).aggregate(total=Sum("amount"))["total"] or ZERO
    end = date(year, 12, 31)
    allocated = AllocationLine.objects.filter(inventor=inventor, received_on__lte=end).aggregate(total=Sum("amount"))
    paid_by_end = paid.filter(batch__paid_on__lte=end).aggregate(total=Sum("amount"))["total"] or ZERO
    return Statement(
        inventor=inventor,
        year=year,
        licenses=[by_license[k] for k in sorted(by_license)],
        paid_in_year=paid_in_year,
        owed_at_end=(allocated["total"] or ZERO) - paid_by_end,
    )


def statement_years(inventor: Inventor) -> list[int]:
    """The years in which the inventor was allocated anything, newest first."""
    days = AllocationLine.objects.filter(inventor=inventor).dates("received_on", "year", order="DESC")
    return [d.year for d in days]


def allocations_of_license(license_id: int) -> QuerySet[Allocation]:
    return Allocation.objects.filter(license_id=license_id).order_by("-received_on", "-id")


@dataclass
class PayeeYear:
    """One inventor or college in the finance office's overview."""

    name: str
    college: str
    staff_number: str
    allocated_in_year: Decimal = ZERO
    paid_in_year: Decimal = ZERO
    owed_now: Decimal = ZERO  # allocated, less what was paid or is in a batch being paid
    inventor_id: int | None = None  # an inventor's row links to their statement


def owed_overview(institution_id: int, year: int) -> dict:
    """Per inventor and per college of the institution: what the year's income gave them, what was
    paid to them in the year, and what is owed now (not yet in a prepared or paid batch); plus the
    parts still waiting for a patent's inventors to be recorded. Five grouped queries."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    lines = AllocationLine.objects.filter(institution_id=institution_id)
    items = PayoutItem.objects.filter(batch__institution_id=institution_id)
    inventors: dict[int, PayeeYear] = {}
    colleges: dict[str, PayeeYear] = {}

    def inventor(pk: int, name: str, college: str, staff_number: str) -> PayeeYear:
        return inventors.setdefault(pk, PayeeYear(name, college, staff_number, inventor_id=pk))

    def college(name: str) -> PayeeYear:
        return colleges.setdefault(name, PayeeYear(name, name, ""))

    mine = lines.filter(party=rules.INVENTOR, inventor__isnull=False)
    fields = ("inventor_id", "inventor__name", "inventor__college", "inventor__staff_number")
    for *who, in_year, total in (
        mine.values_list(*fields)
        .annotate(
            in_year=Sum("amount", filter=Q(received_on__gte=start, received_on__lte=end)),
            total=Sum("amount"),
        )
        .order_by("inventor_id")
    ):
        row = inventor(*who)
        row.allocated_in_year, row.owed_now = in_year or ZERO, total
    theirs = lines.filter(party=rules.COLLEGE).exclude(college="")
    for name, in_year, total in (
        theirs.values_list("college")
        .annotate(
            in_year=Sum("amount", filter=Q(received_on__gte=start, received_on__lte=end)),
            total=Sum("amount"),
        )
        .order_by("college")
    ):
        row = college(name)
        row.allocated_in_year, row.owed_now = in_year or ZERO, total
    live = items.exclude(batch__state=PayoutBatch.State.CANCELLED)
    paid_in_year = Sum("amount", filter=Q(batch__state=PayoutBatch.State.PAID, batch__paid_on__year=year))
    for *who, paid, batched in (
        live.filter(inventor__isnull=False)
        .values_list(*fields)
        .annotate(paid=paid_in_year, batched=Sum("amount"))
        .order_by("inventor_id")
    ):
        row = inventor(*who)
        row.paid_in_year, row.owed_now = paid or ZERO, row.owed_now - batched
    for name, paid, batched in (
        live.filter(inventor__isnull=True)
        .values_list("college")
        .annotate(paid=paid_in_year, batched=Sum("amount"))
        .order_by("college")
    ):
        row = college(name)
        row.paid_in_year, row.owed_now = paid or ZERO, row.owed_now - batched
    inventor_rows = sorted(inventors.values(), key=lambda r: (r.name, r.staff_number))
    college_rows = sorted(colleges.values(), key=lambda r: r.name)
    return {
        "inventors": inventor_rows,
        "colleges": college_rows,
        "unassigned": unassigned(institution_id),
        "totals": {
            "inventors": _totals(inventor_rows),
            "colleges": _totals(college_rows),
        },
    }


def _totals(rows: list[PayeeYear]) -> PayeeYear:
    return PayeeYear(
        "",
        "",
        "",
        sum((r.allocated_in_year for r in rows), ZERO),
        sum((r.paid_in_year for r in rows), ZERO),
        sum((r.owed_now for r in rows), ZERO),
    )


def inventor_patents(inventor: Inventor) -> list[dict]:
    """The inventor's patents with their share in force today, and the licenses on each (any state)."""
    from ..domain import clock
    from ..models import InventorShare, LicensePatent

    today = clock.today()
    shares = (
        InventorShare.objects.filter(inventor=inventor, share_set__effective_from__lte=today)
        .select_related("share_set__patent")
        .order_by("share_set__patent__number", "-share_set__effective_from")
    )
    patents: dict[int, dict] = {}
    for share in shares:  # the latest set in force per patent comes first
        patent = share.share_set.patent
        patents.setdefault(patent.pk, {"patent": patent, "share": share.share, "licenses": []})
    links = (
        LicensePatent.objects.filter(patent_id__in=patents)
        .select_related("license__enterprise")
        .order_by("patent_id", "license_id")
    )
    for link in links:
        patents[link.patent_id]["licenses"].append(link.license)
    return list(patents.values())


def inventor_lines(inventor: Inventor) -> QuerySet[AllocationLine]:
    """The money allocated to the inventor, newest first, with what it came from."""
    return (
        AllocationLine.objects.filter(inventor=inventor)
        .select_related("patent", "allocation__license__enterprise")
        .order_by("-received_on", "-id")
    )


def distribution_by_year(book: BookFilter) -> list[tuple[int, str, Decimal, Decimal | None]]:
    """For the dashboard: per year the money was received and per party, what the ledger gave it,
    and for the inventors and colleges what was paid out to them in that year (the institution's
    own parts and the deductions are not paid out: None). Within the book's institution, IPC
    section and period. Two grouped queries."""
    lines = AllocationLine.objects.filter(book.period("received_on"))
    items = PayoutItem.objects.filter(batch__state=PayoutBatch.State.PAID).filter(book.period("batch__paid_on"))
    if book.institution is not None:
        lines = lines.filter(institution=book.institution)
        items = items.filter(batch__institution=book.institution)
    if book.ipc_section:
        lines = lines.filter(patent__ipc_class__istartswith=book.ipc_section)
    allocated = {
        (year, party): total
        for year, party, total in lines.annotate(year=ExtractYear("received_on"))
        .values_list("year", "party")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    paid = {
        (year, PAYEE_PARTY[payee]): total
        for year, payee, total in items.annotate(year=ExtractYear("batch__paid_on"))
        .values_list("year", "batch__payee")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    order = (*rules.NET_PARTIES, *rules.DEDUCTIONS)
    years = sorted({year for year, _party in (*allocated, *paid)}, reverse=True)
    return [
        (
            year,
            party,
            allocated.get((year, party), ZERO),
            paid.get((year, party), ZERO) if party in PAYEE_PARTY.values() else None,
        )
        for year in years
        for party in order
        if (year, party) in allocated or (year, party) in paid
    ]


def export_distribution(book: BookFilter) -> QuerySet[AllocationLine]:
    """Every line of the ledger for money received in the period, in the order it was written:
    what the finance office reconciles and books."""
    lines = AllocationLine.objects.filter(book.period("received_on"))
    if book.institution is not None:
        lines = lines.filter(institution=book.institution)
    if book.ipc_section:
        lines = lines.filter(patent__ipc_class__istartswith=book.ipc_section)
    return lines.order_by("received_on", "allocation_id", "id")
