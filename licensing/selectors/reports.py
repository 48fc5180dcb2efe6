"""The TTO dashboard's aggregates (one SQL query per figure group) and the data exports' rows, within
a BookFilter."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, ExtractYear, Substr, TruncMonth, Upper

from ..models import (
    Contract,
    EquityConversion,
    Export,
    Installment,
    Institution,
    InsuranceClaim,
    InvoiceRequest,
    License,
    LicensePatent,
    Payment,
    Recordal,
    RoyaltyReport,
)
from .licenses import _MONEY, licenses_with_balances

if TYPE_CHECKING:
    from django.contrib.auth.models import User

M = TypeVar("M", bound=Model)

# Licenses whose unpaid installments are still owed (by the SME, or its insurer once a claim is
# filed): what "outstanding", aging and insured exposure count.
OWED_STATES = License.OWED_STATES  # the model says which states still owe
AGING_BUCKETS = (("1-30", 1, 30), ("31-90", 31, 90), ("90+", 91, None))  # days past the effective due date
SOON_DAYS = 30


@dataclass(frozen=True)
class BookFilter:
    """The part of the book a report covers: an institution (None: all), an IPC section, and a
    period that applies to the figures that happen on a day (trials ended, purchases, payments,
    claims, conversions). Stock figures (states, outstanding, aging) are as of today."""

    institution: Institution | None = None
    ipc_section: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def licenses(self, queryset: QuerySet[M], to_license: str = "") -> QuerySet[M]:
        """Rows whose license (reached by `to_license`, e.g. "license__") is in scope."""
        if self.institution is not None:
            queryset = queryset.filter(**{f"{to_license}institution": self.institution})
        if self.ipc_section:
            queryset = queryset.filter(**{f"{to_license}offer__patent__ipc_class__istartswith": self.ipc_section})
        return queryset

    def period(self, field: str) -> Q:
        q = Q()
        if self.date_from:
            q &= Q(**{f"{field}__gte": self.date_from})
        if self.date_to:
            q &= Q(**{f"{field}__lte": self.date_to})
        return q


def tallied(book: BookFilter) -> bool:
    """Whether the dashboard reads this book's figures from the kept tallies (PostgreSQL, an IPC
    filter of one section: models/tallies.py) instead of the raw tables, which stay the definition."""
    from django.conf import settings
    from django.db import connection

    from ..models import tallies

    return settings.DASHBOARD_TALLIES and tallies.in_use(connection) and len(book.ipc_section) <= 1


F_ = TypeVar("F_", bound=Callable[..., Any])


def kept_in_tallies(raw: F_) -> F_:
    """A figure read from the tallies where the database keeps them (`tallied`: the function of the
    same name in selectors/tallied.py); the decorated query is its definition, and stays `.raw`."""

    @functools.wraps(raw)
    def figure(book: BookFilter, *args: Any) -> Any:
        if tallied(book):
            from . import tallied as kept

            return getattr(kept, raw.__name__)(book, *args)
        return raw(book, *args)

    figure.raw = raw  # type: ignore[attr-defined]
    return figure  # type: ignore[return-value]


@kept_in_tallies
def pipeline(book: BookFilter, on: dt.date) -> dict:
    """Licenses in each state, and trials ending within SOON_DAYS: one GROUP BY."""
    rows = (
        book.licenses(License.objects.order_by())
        .values("state")
        .annotate(
            n=Count("pk"),
            ending=Count(
                "pk",
                filter=License.trial_ending_q(on, SOON_DAYS),
            ),
        )
    )
    rows = list(rows)
    return {"states": {r["state"]: r["n"] for r in rows}, "trials_ending": sum(r["ending"] for r in rows)}


@kept_in_tallies
def receivables(book: BookFilter, on: dt.date) -> dict:
    """What is owed, as of `on`: outstanding, due within SOON_DAYS, overdue by age, and insured
    exposure (coverage x outstanding). One scan of the unpaid installments."""
    owed = ExpressionWrapper(F("amount") - F("paid_amount"), output_field=_MONEY)

    def due_between(first: int, last: int | None) -> Q:
        """Effective due date between `first` and `last` days before `on` (negative: after)."""
        q = Q(effective_due_date__lte=on - dt.timedelta(days=first))
        return q & Q(effective_due_date__gte=on - dt.timedelta(days=last)) if last is not None else q

    figures = {
        "outstanding": Sum(owed),
        "due_soon_count": Count("pk", filter=due_between(-SOON_DAYS, 0)),
        "due_soon_amount": Sum(owed, filter=due_between(-SOON_DAYS, 0)),
        "insured_exposure": Sum(
            ExpressionWrapper(owed * F("license__insurance_policy__coverage_ratio"), output_field=_MONEY)
        ),
    }
    for name, first, last in AGING_BUCKETS:
        figures[f"aging_{name}_count"] = Count("pk", filter=due_between(first, last))
        figures[f"aging_{name}_amount"] = Sum(owed, filter=due_between(first, last))
    unpaid = book.licenses(Installment.objects.all(), "license__").filter(
        paid_amount__lt=F("amount"), license__state__in=OWED_STATES
    )
    return unpaid.aggregate(**figures)


CONVERSION_DIMENSIONS = {
    "size": F("enterprise__size_class"),
    "institution": F("institution__name"),
    "ipc": Upper(Substr("offer__patent__ipc_class", 1, 1)),
    "year": ExtractYear("trial_ended_on"),
}


@kept_in_tallies
def conversion(book: BookFilter, dimension: str) -> list[dict]:
    """Trials that ended in the period, and how many of them were bought (with or without an
    equity conversion, which comes with a purchase), grouped by one dimension."""
    ended = book.licenses(License.objects.order_by()).filter(
        book.period("trial_ended_on"), trial_ended_on__isnull=False
    )
    return list(
        ended.values(key=CONVERSION_DIMENSIONS[dimension])
        .annotate(ended=Count("pk"), converted=Count("pk", filter=Q(purchased_on__isnull=False)))
        .order_by("key")
    )


@kept_in_tallies
def contracts(book: BookFilter) -> dict:
    """Money contracted in the period: purchase prices on their purchase date, trial fees on the
    trial's first day; how many of the licenses taken were free, and how many patents the
    licenses taken cover (a package of three counts three; a patent in two licenses, once)."""
    bought = book.period("purchased_on") & Q(purchased_on__isnull=False)
    figures = book.licenses(License.objects.all()).aggregate(
        purchases=Count("pk", filter=bought),
        free=Count("pk", filter=bought & Q(price=0)),
        purchase_value=Sum("price", filter=bought),
        trial_fees=Sum("trial_fee", filter=book.period("trial_start") & Q(trial_start__isnull=False)),
    )
    taken = book.licenses(License.objects.all()).filter(bought)
    figures["patents_licensed"] = (
        LicensePatent.objects.filter(license__in=taken).order_by().values("patent").distinct().count()
    )
    return figures


def contract_standing(book: BookFilter, on: dt.date) -> dict:
    """Where the book's contracts stand today (a stock, like the states): bought licenses without
    one, contracts awaiting signatures, recordals to file and late, and signed contracts not
    registered as technology contracts although money came in on them (VAT applies to it), with
    what came in. Three aggregates (the first from the tallies where they are kept)."""
    if tallied(book):
        from . import tallied as kept

        figures = {"to_issue": kept.to_issue(book)}
    else:
        figures = book.licenses(License.objects.order_by()).aggregate(
            to_issue=Count("pk", filter=License.awaits_contract_q())
        )
    paid = Payment.objects.standing().filter(license=OuterRef("license_id"))
    figures |= book.licenses(Contract.objects.order_by(), "license__").aggregate(
        awaiting_signature=Count("pk", filter=Q(state=Contract.State.ISSUED)),
        signed=Count("pk", filter=Q(state=Contract.State.SIGNED)),
        unregistered_with_income=Count("pk", filter=Q(Contract.unregistered_q(), Exists(paid))),
        recordals_to_file=Count("recordals", filter=Q(recordals__state=Recordal.State.DUE)),
        recordals_late=Count("recordals", filter=Q(recordals__in=Recordal.objects.late(on))),
    )
    unregistered = Contract.objects.filter(Contract.unregistered_q()).values("license_id")
    figures["unregistered_income"] = (
        book.licenses(Payment.objects.standing().order_by(), "license__")
        .filter(license_id__in=unregistered)
        .aggregate(total=Sum("amount"))["total"]
    )
    return figures


@kept_in_tallies
def income_by_kind(book: BookFilter, on: dt.date) -> list[dict]:
    """Per fee kind (trial fee, entry fee, fixed price, milestone, royalty, minimum shortfall,
    adjustment), of the amounts fallen due by the period's end (its last day, or `on`, whichever
    is earlier; by the effective due date): what fell due, what of it was collected and what of
    it is outstanding, so each row adds up. An installment due next year has not fallen due; a
    royalty period still to report has no amount yet. One GROUP BY."""
    end = min(book.date_to, on) if book.date_to else on
    installments = book.licenses(Installment.objects.order_by(), "license__").filter(
        report_pending=False, effective_due_date__lte=end
    )
    owed = ExpressionWrapper(F("amount") - F("paid_amount"), output_field=_MONEY)
    rows = installments.values("kind").annotate(
        n=Count("pk"), due=Sum("amount"), collected=Sum("paid_amount"), unpaid=Sum(owed)
    )
    return [dict(row) for row in rows]


@kept_in_tallies
def royalty_reports(book: BookFilter, on: dt.date) -> dict:
    """Royalty and use reports: due within SOON_DAYS, late (past their due date, not filed),
    filed and waiting for the TTO, disputed. One aggregate."""
    reports = book.licenses(RoyaltyReport.objects.all(), "license__").filter(license__state__in=License.BOUGHT_STATES)
    state = RoyaltyReport.State
    unfiled = Q(state__in=RoyaltyReport.TO_FILE)
    return reports.aggregate(
        due_soon=Count("pk", filter=unfiled & Q(due_date__range=(on, on + dt.timedelta(days=SOON_DAYS)))),
        late=Count("pk", filter=RoyaltyReport.late_q(on)),
        awaiting=Count("pk", filter=Q(state=state.FILED)),
        disputed=Count("pk", filter=Q(state=state.DISPUTED)),
    )


@kept_in_tallies
def collections_by_month(book: BookFilter) -> list[dict]:
    payments = book.licenses(Payment.objects.standing().order_by(), "license__").filter(book.period("paid_on"))
    months = payments.values(month=TruncMonth("paid_on")).annotate(count=Count("pk"), amount=Sum("amount"))
    return [dict(row) for row in months.order_by("month")]


@kept_in_tallies
def claims_summary(book: BookFilter) -> dict:
    """Claims filed in the period, and what became of them."""
    claims = book.licenses(InsuranceClaim.objects.all(), "license__").filter(book.period("filed_on"))
    state = InsuranceClaim.State
    return claims.aggregate(
        filed=Count("pk"),
        claimed=Sum("claimed_amount"),
        open=Count("pk", filter=Q(state__in=[state.FILED, state.APPROVED])),
        paid=Count("pk", filter=Q(state=state.PAID)),
        paid_amount=Sum("paid_amount", filter=Q(state=state.PAID)),
        rejected=Count("pk", filter=Q(state=state.REJECTED)),
    )


@kept_in_tallies
def equity_summary(book: BookFilter) -> dict:
    """Equity stakes taken (conversions executed in the period) and those still pending."""
    conversions = book.licenses(EquityConversion.objects.all(), "license__")
    executed = Q(state=EquityConversion.State.EXECUTED) & book.period("executed_on")
    return conversions.aggregate(
        executed=Count("pk", filter=executed),
        converted_amount=Sum("converted_amount", filter=executed),
        pending=Count("pk", filter=Q(state__in=[EquityConversion.State.PROPOSED, EquityConversion.State.APPROVED])),
    )


def exports_of(user: User) -> QuerySet[Export]:
    """Exports a user may see and download: their own; a superuser's, all."""
    return Export.objects.all() if user.is_superuser else Export.objects.filter(requested_by=user)


# The rows of each data export: the book's rows in scope and in order, read by the reports as the
# values their spec names (reporting/exports.py), in chunks (a 100k-license book has ~1M
# installments): no model instances, no per-row queries.


class PatentNumbers(Aggregate):
    """The patent numbers of a package in one text, in number order: STRING_AGG on PostgreSQL,
    GROUP_CONCAT on SQLite (which keeps the order of its sorted subquery)."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, ', ' ORDER BY %(expressions)s)"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        template = "%(function)s(%(expressions)s, ', ')"
        return super().as_sql(compiler, connection, function="GROUP_CONCAT", template=template)


def export_licenses(book: BookFilter) -> QuerySet[License]:
    """Licenses with the patents they cover: how many, and their numbers."""
    package = LicensePatent.objects.filter(license=OuterRef("pk")).order_by().values("license")
    return (
        licenses_with_balances(book.licenses(License.objects.all()))
        .annotate(
            package_size=Subquery(package.annotate(n=Count("pk")).values("n")),
            fee=License.fee_shape_expression(),
            # how a fixed price is paid; a license with none has no such plan (not "lump sum")
            fixed_price_plan=Case(When(price__gt=0, then=F("plan")), default=Value("")),
            patent_numbers=Subquery(
                package.annotate(numbers=PatentNumbers("patent__number")).values("numbers"), output_field=CharField()
            ),
        )
        .order_by("pk")
    )


def export_installments(book: BookFilter) -> QuerySet[Installment]:
    return book.licenses(Installment.objects.all(), "license__").order_by("license_id", "kind", "sequence")


def export_payments(book: BookFilter) -> QuerySet[Payment]:
    return book.licenses(Payment.objects.all(), "license__").filter(book.period("paid_on")).order_by("paid_on", "pk")


def export_claims(book: BookFilter) -> QuerySet[InsuranceClaim]:
    return (
        book.licenses(InsuranceClaim.objects.all(), "license__")
        .filter(book.period("filed_on"))
        .order_by("filed_on", "pk")
    )


def export_royalty_reports(book: BookFilter) -> QuerySet[RoyaltyReport]:
    """Reports falling due in the period (every one, from the purchase to the end of the term)."""
    return (
        book.licenses(RoyaltyReport.objects.all(), "license__")
        .filter(book.period("due_date"))
        .order_by("license_id", "period_start")
    )


class PatentsDescribed(PatentNumbers):
    """Each patent of a package as a recordal application lists it, "number title (filed …,
    granted …)", in number order, in one text."""

    template = "%(function)s(%(expressions)s, '; ' ORDER BY %(expressions)s)"

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # The expression is written twice (the text and its order), and so are its parameters.
        sql, params = self.as_sql(compiler, connection, **extra_context)
        return sql, (*params, *params)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        template = "%(function)s(%(expressions)s, '; ')"
        return Aggregate.as_sql(self, compiler, connection, function="GROUP_CONCAT", template=template)


def export_recordals(book: BookFilter) -> QuerySet[Contract]:
    """One row per contract with what CNIPA's recordal application asks (the parties, each patent
    with its number, title, filing and grant dates, the license type and term, the fee) and where
    its recordal stands; contracts taking effect in the period (unsigned ones: none)."""
    package = LicensePatent.objects.filter(license=OuterRef("license_id")).order_by().values("license")
    described = Concat(
        "patent__number",
        Value(" "),
        "patent__title",
        Value(" ("),
        Cast("patent__filing_date", CharField()),
        Value(" / "),
        Coalesce(Cast("patent__grant_date", CharField()), Value("-")),
        Value(")"),
        output_field=CharField(),
    )
    first = Recordal.objects.filter(contract=OuterRef("pk"), kind=Recordal.Kind.RECORDAL)
    return (
        book.licenses(Contract.objects.all(), "license__")
        .filter(book.period("effective_on"))
        .annotate(
            package_size=Subquery(package.annotate(n=Count("pk")).values("n")),
            patents=Subquery(
                package.annotate(text=PatentsDescribed(described)).values("text"), output_field=CharField()
            ),
            last_expiry=Subquery(package.annotate(last=Max("patent__expiry_date")).values("last")),
            recordal_state=Subquery(first.values("state")[:1]),
            recordal_due_by=Subquery(first.values("due_by")[:1]),
            recordal_number=Subquery(first.values("recordal_number")[:1]),
            recordal_recorded_on=Subquery(first.values("recorded_on")[:1]),
        )
        .order_by("number")
    )


def export_invoices(book: BookFilter) -> QuerySet[InvoiceRequest]:
    """Invoices asked for in the period, issued or waiting, oldest first."""
    return (
        book.licenses(InvoiceRequest.objects.all(), "license__")
        .filter(book.period("requested_at__date"))
        .annotate(exempt=Exists(Contract.objects.filter(license=OuterRef("license_id"), registered_on__isnull=False)))
        .order_by("requested_at", "pk")
    )
