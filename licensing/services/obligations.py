"""What a license commits its holder to, stated before they commit: every fee part with its date,
from the same schedule the purchase writes (planned_schedule) and the same periods it opens.
The apply, buy, return and equity pages show it; so does the officer's preview of an offer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from ..domain import royalties
from ..domain.money import ZERO, add_months, cny
from ..models import Installment, License, Offer, package_life

# The worked example's yearly base ("at CNY 1,000,000 net sales a year you would pay …").
EXAMPLE_BASE = Decimal("1000000.00")


@dataclass(frozen=True)
class FirstReport:
    period_start: date
    period_end: date
    due: date


@dataclass(frozen=True)
class Example:
    """The royalty at EXAMPLE_BASE a year, spread evenly over the year's periods."""

    base: Decimal
    per_year: Decimal  # after the yearly cap, before the minimum
    per_period: Decimal | None  # None when tiers make the periods differ
    periods_per_year: int
    payable: Decimal  # what the year costs: the royalty, or the minimum when it is higher
    meets_minimum: bool
    capped: bool


@dataclass(frozen=True)
class Payment:
    """A fixed payment of the schedule, named as the contract names it."""

    name: str
    amount: Decimal
    due_date: date  # the contract's date, after the deferral
    effective_due_date: date  # moved to the next working day when it falls on a holiday
    deferred_from: date | None  # the date it would have without the deferral

    @property
    def moved_by_holiday(self) -> bool:
        return self.effective_due_date != self.due_date


@dataclass(frozen=True)
class EventMilestone:
    name: str
    amount: Decimal
    due_days: int


@dataclass(frozen=True)
class Obligations:
    """Everything a purchase on `purchased_on` in `plan` sets falling due, and the rules that set
    amounts later (royalties, the minimum, milestones on an event)."""

    license: License | Offer
    plan: str
    purchased_on: date
    schedule: list[Payment]  # the fixed payments, as the purchase writes them, in date order
    payments_start: date | None
    first_report: FirstReport | None
    first_year_minimum: Decimal | None
    first_year_end: date | None
    example: Example | None
    event_milestones: list[EventMilestone] = field(default_factory=list)

    @property
    def due_today(self) -> Decimal:
        return sum((row.amount for row in self.schedule if row.effective_due_date <= self.purchased_on), ZERO)

    @property
    def today(self) -> list[Payment]:
        return [row for row in self.schedule if row.effective_due_date <= self.purchased_on]

    @property
    def later(self) -> list[Payment]:
        return [row for row in self.schedule if row.effective_due_date > self.purchased_on]

    @property
    def fixed_total(self) -> Decimal:
        return sum((row.amount for row in self.schedule), ZERO)

    @property
    def nothing_to_pay(self) -> bool:
        return self.license.is_free


def _example(terms: License | Offer) -> Example | None:
    if not terms.has_royalty:
        return None
    tiers = terms.tiers()
    yearly = royalties.royalty_on(EXAMPLE_BASE, tiers)
    per_year = royalties.capped(yearly, cap=terms.royalty_cap_year)
    count = 12 // royalties.PERIOD_MONTHS[terms.reporting_period]
    flat = len(tiers) == 1 and per_year == yearly
    minimum = terms.royalty_minimum or ZERO
    return Example(
        base=EXAMPLE_BASE,
        per_year=per_year,
        per_period=cny(per_year / count) if flat and count > 1 else None,
        periods_per_year=count,
        payable=max(per_year, minimum),
        meets_minimum=per_year >= minimum,
        capped=per_year < yearly,
    )


def obligations(terms: License | Offer, plan: str, purchased_on: date) -> Obligations:
    """What buying on `purchased_on` in `plan` commits to. `terms` is a license (its own copy of
    the terms) or, for the officer's preview and the catalogue, an offer: the schedule is built as
    the purchase builds it (planned_schedule), the periods as it opens them."""
    from .licenses import planned_schedule  # the purchase's own builder

    dated = [m.name for m in terms.milestones.all() if m.is_dated]  # in planned_schedule's order
    count = terms.installment_count
    schedule = [
        Payment(
            dated[row.sequence - 1] if row.kind == Installment.Kind.MILESTONE else _name(row, plan, count),
            row.amount,
            row.due_date,
            row.effective_due_date,
            row.deferred_from,
        )
        for row in sorted(
            planned_schedule(terms, plan, purchased_on),
            key=lambda row: (row.effective_due_date, row.kind, row.sequence),
        )
    ]
    first_report = first_year_minimum = first_year_end = None
    if terms.files_reports:
        last = terms.term_within(package_life(list(terms.patents.all())))
        spans = royalties.periods(purchased_on, last, royalties.PERIOD_MONTHS[terms.reporting_period])
        if spans:
            start, end = spans[0]
            first_report = FirstReport(start, end, end + timedelta(days=terms.report_due_days))
            first_year_end = min(date(purchased_on.year, 12, 31), last)
            if terms.royalty_minimum:
                first_year_minimum = royalties.prorated(terms.royalty_minimum, purchased_on, first_year_end)
    return Obligations(
        license=terms,
        plan=plan,
        purchased_on=purchased_on,
        schedule=schedule,
        payments_start=terms.payments_start_after(purchased_on),
        first_report=first_report,
        first_year_minimum=first_year_minimum,
        first_year_end=first_year_end,
        example=_example(terms),
        event_milestones=[
            EventMilestone(m.name, m.amount, m.due_days or 0) for m in terms.milestones.all() if not m.is_dated
        ],
    )


def _name(row: Installment, plan: str, count: int) -> str:
    if row.kind == Installment.Kind.PURCHASE:
        if plan == License.Plan.INSTALLMENTS:
            return _("Installment %(n)s of %(count)s") % {"n": row.sequence, "count": count}
        return _("The price, in one payment")
    return str(row.get_kind_display())


def purchase_date_after_trial(terms: License | Offer, trial_start: date) -> date:
    """The last day a trial starting on `trial_start` can be decided on: the date the apply page
    shows the obligations for (the purchase may come earlier; the page says so)."""
    return add_months(trial_start, terms.trial_months)
