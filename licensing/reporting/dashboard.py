"""The TTO dashboard: the figures a director reads, put together from the selectors' aggregates
(each one query in SQL). Every figure is a table, which the page shows and downloads as CSV or
XLSX; three of them are also drawn as charts."""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..domain.money import ZERO
from ..domain.numbers import money_text
from ..domain.size_class import NATIONAL_INDUSTRIALIZATION_RATE_2024 as NATIONAL_RATE
from ..models import IPC_SECTIONS, AllocationLine, Enterprise, Installment, License
from . import charts
from .tables import Column, Table


def conversion_rate(converted: int, ended: int) -> Decimal | None:
    """Percent of ended trials that converted, to one decimal place (as regulators publish)."""
    if not ended:
        return None
    return (Decimal(converted) * 100 / ended).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Dashboard:
    headline: dict
    tables: dict[str, Table]
    charts: dict


ENDED = Column(_("trials ended"), "count")
# A push's way from the email to the purchase (selectors.FUNNEL_STEPS), as the columns name it.
FUNNEL_LABELS = {
    "pushed": _("pushed"),
    "emailed": _("emailed"),
    "opened": _("opened"),
    "applied": _("applied"),
    "trial": _("trial started"),
    "purchased": _("purchased"),
}
CONVERTED = Column(_("bought"), "count")
RATE = Column(_("conversion rate (%)"), "percent")


def _conversion_rows(rows, label=lambda key: key):
    return [(label(r["key"]), r["ended"], r["converted"], conversion_rate(r["converted"], r["ended"])) for r in rows]


NO_TRIALS = {"ended": 0, "converted": 0}  # a size class with no ended trial has no row from SQL


def _beside_national(label, counts: dict, national: Decimal | None) -> tuple:
    ended, converted = counts["ended"], counts["converted"]
    return (label, ended, converted, conversion_rate(converted, ended), national)


def _money(value) -> Decimal:
    return ZERO if value is None else value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# Empty months are drawn between the first and the last payment over at most this many months;
# a longer span (a mistyped date in an old row) shows only the months with payments.
MAX_FILLED_MONTHS = 120


def _months(rows) -> list[tuple[dt.date, int, Decimal]]:
    """Every month from the first to the last with a payment, empty months included."""
    if not rows:
        return []
    by_month = {r["month"]: r for r in rows}
    month, last, filled = rows[0]["month"], rows[-1]["month"], []
    if (last.year - month.year) * 12 + last.month - month.month > MAX_FILLED_MONTHS:
        return [(r["month"], r["count"], r["amount"]) for r in rows]
    while month <= last:
        row = by_month.get(month, {"count": 0, "amount": ZERO})
        filled.append((month, row["count"], row["amount"]))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return filled


def build_dashboard(book: selectors.BookFilter, on: dt.date) -> Dashboard:
    pipeline = selectors.pipeline(book, on)
    owed = selectors.receivables(book, on)
    by = {dimension: selectors.conversion(book, dimension) for dimension in selectors.CONVERSION_DIMENSIONS}
    contracts = selectors.contracts(book)
    months = _months(selectors.collections_by_month(book))
    claims = selectors.claims_summary(book)
    equity = selectors.equity_summary(book)
    by_kind = {row["kind"]: row for row in selectors.income_by_kind(book, on)}
    reports = selectors.royalty_reports(book, on)
    standing = selectors.contract_standing(book, on)
    distributed = selectors.distribution_by_year(book)
    pushed = selectors.book_push_funnel(book)
    campaigns = selectors.book_campaigns(book)
    declined = selectors.book_feedback(book)
    parties = dict(AllocationLine.Party.choices)

    sizes = {r["key"]: r for r in by["size"]}
    total = {"ended": sum(r["ended"] for r in by["size"]), "converted": sum(r["converted"] for r in by["size"])}
    size_rows = [
        _beside_national(label, sizes.get(code, NO_TRIALS), NATIONAL_RATE.get(code))
        for code, label in Enterprise.SizeClass.choices
    ]
    size_rows.append(_beside_national(_("All enterprises"), total, NATIONAL_RATE["all"]))
    collected = sum((amount for _m, _n, amount in months), ZERO)
    aging = [
        (name, owed[f"aging_{name}_count"], _money(owed[f"aging_{name}_amount"]))
        for name, _first, _last in selectors.AGING_BUCKETS
    ]
    ipc_labels = dict(IPC_SECTIONS)

    tables = [
        Table(
            "pipeline",
            _("Licenses by state"),
            [Column(_("state")), Column(_("licenses"), "count")],
            [(label, pipeline["states"].get(code, 0)) for code, label in License.State.choices],
            links=[("license", f"state__exact={code}") for code, _label in License.State.choices],
        ),
        Table(
            "upcoming",
            _("Coming up in the next 30 days"),
            [Column(_("what")), Column(_("count"), "count"), Column(_("amount (CNY)"), "money")],
            [
                (_("Trials ending"), pipeline["trials_ending"], None),
                (_("Installments due"), owed["due_soon_count"], _money(owed["due_soon_amount"])),
            ],
            links=[("license", "trial_ends=30"), ("license", "due=30")],
        ),
        Table(
            "conversion_size",
            _("Conversion by enterprise size"),
            [Column(_("size class")), ENDED, CONVERTED, RATE, Column(_("national rate 2024 (%)"), "percent")],
            size_rows,
        ),
        Table(
            "conversion_institution",
            _("Conversion by institution"),
            [Column(_("institution")), ENDED, CONVERTED, RATE],
            _conversion_rows(by["institution"]),
        ),
        Table(
            "conversion_ipc",
            _("Conversion by IPC section"),
            [Column(_("IPC section")), ENDED, CONVERTED, RATE],
            _conversion_rows(by["ipc"], lambda key: ipc_labels.get(key, key)),
        ),
        Table(
            "conversion_year",
            _("Conversion by year of trial end"),
            [Column(_("year")), ENDED, CONVERTED, RATE],
            _conversion_rows(by["year"], str),
        ),
        Table(
            "money",
            _("Money"),
            [Column(_("figure")), Column(_("count"), "count"), Column(_("amount (CNY)"), "money")],
            [
                (_("Purchases contracted"), contracts["purchases"], _money(contracts["purchase_value"])),
                (_("Free licenses taken"), contracts["free"], None),
                (_("Patents licensed (in the licenses taken)"), contracts["patents_licensed"], None),
                (_("Trial fees contracted"), None, _money(contracts["trial_fees"])),
                (_("Collected"), sum(n for _m, n, _a in months), collected),
                (_("Outstanding"), None, _money(owed["outstanding"])),
                (_("Insured exposure (coverage × outstanding)"), None, _money(owed["insured_exposure"])),
            ],
        ),
        Table(
            "income_by_kind",
            _("Income by fee kind"),
            [
                Column(_("fee kind")),
                Column(_("amounts due"), "count"),
                Column(_("fallen due (CNY)"), "money"),
                Column(_("collected (CNY)"), "money"),
                Column(_("outstanding (CNY)"), "money"),
            ],
            [
                (label, row["n"], _money(row["due"]), _money(row["collected"]), _money(row["unpaid"]))
                for kind, label in Installment.Kind.choices
                for row in [by_kind.get(kind, {"n": 0, "due": None, "collected": None, "unpaid": None})]
            ],
        ),
        Table(
            "royalty_reports",
            _("Royalty and use reports"),
            [Column(_("reports")), Column(_("count"), "count")],
            [
                (_("Due in the next 30 days"), reports["due_soon"]),
                (_("Late (past their due date, not filed)"), reports["late"]),
                (_("Filed, awaiting acceptance"), reports["awaiting"]),
                (_("Disputed"), reports["disputed"]),
            ],
        ),
        Table(
            "contracts",
            _("Contracts, recordals and registration"),
            [Column(_("contracts")), Column(_("count"), "count"), Column(_("amount (CNY)"), "money")],
            [
                (_("Bought, no contract issued yet"), standing["to_issue"], None),
                (_("Issued, awaiting signatures"), standing["awaiting_signature"], None),
                (_("Signed"), standing["signed"], None),
                (_("CNIPA recordals to file"), standing["recordals_to_file"], None),
                (_("CNIPA recordals past their deadline"), standing["recordals_late"], None),
                (
                    _("Signed, not registered as technology contracts, with income (VAT applies)"),
                    standing["unregistered_with_income"],
                    _money(standing["unregistered_income"]),
                ),
            ],
            links=[
                ("license", "contract=to_issue"),
                ("contract", "state__exact=issued"),
                ("contract", "state__exact=signed"),
                ("recordal", "state__exact=due"),
                ("recordal", "late=1"),
                ("contract", "registered=no"),
            ],
        ),
        Table(
            "collections",
            _("Collections by month"),
            [Column(_("month")), Column(_("payments"), "count"), Column(_("amount (CNY)"), "money")],
            [(f"{month:%Y-%m}", n, amount) for month, n, amount in months],
        ),
        Table(
            "aging",
            _("Overdue by age"),
            [Column(_("days overdue")), Column(_("installments"), "count"), Column(_("amount (CNY)"), "money")],
            aging,
        ),
        Table(
            "claims",
            _("Insurance claims"),
            [Column(_("claims")), Column(_("count"), "count"), Column(_("amount (CNY)"), "money")],
            [
                (_("Filed"), claims["filed"], _money(claims["claimed"])),
                (_("Open"), claims["open"], None),
                (_("Paid by the insurer"), claims["paid"], _money(claims["paid_amount"])),
                (_("Rejected"), claims["rejected"], None),
            ],
            links=[
                None,  # filed in the period: the list's own date filter
                ("insuranceclaim", "state__in=filed,approved"),
                ("insuranceclaim", "state__exact=paid"),
                ("insuranceclaim", "state__exact=rejected"),
            ],
        ),
        Table(
            "equity",
            _("Equity stakes"),
            [Column(_("equity conversions")), Column(_("count"), "count"), Column(_("amount (CNY)"), "money")],
            [
                (_("Executed (stakes taken)"), equity["executed"], _money(equity["converted_amount"])),
                (_("Pending approval or execution"), equity["pending"], None),
            ],
            links=[("equityconversion", "state__exact=executed"), ("equityconversion", "state__in=proposed,approved")],
        ),
        Table(
            "distribution",
            _("Revenue distribution by year"),
            [
                Column(_("year")),
                Column(_("party")),
                Column(_("allocated (CNY)"), "money"),
                Column(_("paid out (CNY)"), "money"),
            ],
            [(str(year), parties[party], amount, paid) for year, party, amount, paid in distributed],
        ),
        Table(
            "pushes",
            _("Pushed offers, from the email to the purchase"),
            [Column(_("size class")), *(Column(label, "count") for label in FUNNEL_LABELS.values()), RATE],
            [
                (
                    row["size_class"],
                    *(row[step] for step in selectors.FUNNEL_STEPS),
                    conversion_rate(row["purchased"], row["pushed"]),
                )
                for row in pushed
            ],
        ),
        Table(
            "campaigns",
            _("Push campaigns, the latest ten"),
            [
                Column(_("campaign")),
                Column(_("created at"), "datetime"),
                *(Column(label, "count") for label in FUNNEL_LABELS.values()),
                RATE,
            ],
            [
                (
                    row["campaign__name"],
                    row["campaign__created_at"],
                    *(row[step] for step in selectors.FUNNEL_STEPS),
                    conversion_rate(row["purchased"], row["pushed"]),
                )
                for row in campaigns
            ],
        ),
        Table(
            "feedback",
            _("Why enterprises did not take an offer"),
            [Column(_("main reason")), Column(_("answers"), "count")],
            declined,
        ),
    ]
    overdue = sum((amount for _n, _c, amount in aging), ZERO)
    return Dashboard(
        headline={
            "conversion_rate": conversion_rate(total["converted"], total["ended"]),
            "trials_ended": total["ended"],
            "contracted": _money(contracts["purchase_value"]),
            "collected": collected,
            "outstanding": _money(owed["outstanding"]),
            "overdue": overdue,
            "insured_exposure": _money(owed["insured_exposure"]),
        },
        tables={table.slug: table for table in tables},
        charts={
            "conversion_size": charts.horizontal_bars(
                [
                    (label, rate or ZERO, f"{rate}%" if rate is not None else "—", ref)
                    for label, _e, _c, rate, ref in size_rows
                ],
                maximum=100,
            ),
            "collections": charts.columns([(f"{m:%Y-%m}", amount, money_text(amount)) for m, _n, amount in months]),
            "aging": charts.horizontal_bars([(name, amount, money_text(amount), None) for name, _n, amount in aging]),
        },
    )
