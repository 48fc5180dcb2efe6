"""The dashboard's figures read from the kept tallies (models/tallies.py) instead of the raw tables:
the same figures as the raw selectors in reports.py, which call these on PostgreSQL
(`reports.tallied`). A period is read as its whole months' rows and its edge days' rows (`split`),
the weeks around today (due soon, aging, late reports) as day rows: one query per figure, a few
thousand rows, whatever the book's size. tests/test_tallies.py holds each figure equal to the raw
selector's."""

from __future__ import annotations

import datetime as dt
import operator
from functools import reduce

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear, TruncMonth

from ..models import EquityConversion, InsuranceClaim, RoyaltyReport, Tally
from .reports import AGING_BUCKETS, SOON_DAYS, BookFilter


def _first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def split(date_from: dt.date | None, date_to: dt.date | None) -> tuple[Q | None, list[tuple[dt.date, dt.date]]]:
    """A period as the whole months it covers (a condition on the tally's month, None: no whole
    month) and the days left at its edges, as (first, last) ranges."""
    if date_from is not None and date_to is not None and date_from > date_to:
        return None, []
    edges: list[tuple[dt.date, dt.date]] = []
    months = Q()
    if date_from is not None:
        first_month = date_from if date_from.day == 1 else _next_month(date_from)
        months &= Q(month__gte=first_month)
        if date_from.day != 1:
            month_end = first_month - dt.timedelta(days=1)
            edges.append((date_from, month_end if date_to is None else min(month_end, date_to)))
    if date_to is not None:
        last_month = _first_of_month(date_to + dt.timedelta(days=1)) - dt.timedelta(days=1)  # a whole month's end
        months &= Q(month__lte=_first_of_month(last_month))
        if last_month != date_to:
            start = _first_of_month(date_to)
            if date_from is None or date_from <= start:
                edges.append((start, date_to))
            elif not edges:
                edges.append((date_from, date_to))
        if date_from is not None and _first_of_month(last_month) < (
            date_from if date_from.day == 1 else _next_month(date_from)
        ):
            return None, edges
    return months, edges


def _rows(book: BookFilter) -> QuerySet[Tally]:
    rows = Tally.objects.order_by()
    if book.institution is not None:
        rows = rows.filter(institution=book.institution)
    if book.ipc_section:
        rows = rows.filter(section=book.ipc_section.upper())
    return rows


def _any(conditions: list[Q]) -> Q | None:
    return reduce(operator.or_, conditions) if conditions else None


def _period(book: BookFilter, figure: str) -> Q | None:
    """The figure's rows of the period: its whole months, and the days at its edges."""
    months, edges = split(book.date_from, book.date_to)
    conditions = [Q(figure=figure) & months] if months is not None else []
    conditions += [Q(figure=f"{figure}.d", month__range=edge) for edge in edges]
    return _any(conditions)


def _in_period(book: BookFilter, figure: str) -> QuerySet[Tally]:
    period = _period(book, figure)
    return _rows(book).filter(period) if period is not None else Tally.objects.none()


def pipeline(book: BookFilter, on: dt.date) -> dict:
    states = _rows(book).filter(figure="state").values("dim").annotate(total=Sum("n"))
    soon = (on, on + dt.timedelta(days=SOON_DAYS))  # as License.trial_ending_q, from the day rows
    ending = _rows(book).filter(figure="ending.d", month__range=soon).aggregate(total=Sum("n"))["total"] or 0
    return {"states": {row["dim"]: row["total"] for row in states if row["total"]}, "trials_ending": ending}


def _days(first_days: int, last_days: int | None, on: dt.date, oldest_month: dt.date) -> Q:
    """Owed rows due between `first_days` and `last_days` days before `on` (negative: after); the
    oldest bucket (no last) takes the whole months before the day rows begin."""
    q = Q(figure="owed.d", month__lte=on - dt.timedelta(days=first_days))
    if last_days is not None:
        return q & Q(month__gte=on - dt.timedelta(days=last_days))
    return (q & Q(month__gte=oldest_month)) | Q(figure="owed", month__lt=oldest_month)


def receivables(book: BookFilter, on: dt.date) -> dict:
    """Outstanding and insured exposure from the months; due soon and aging from the days, from
    the first of the month of the oldest bucket's edge to the end of the due-soon window."""
    oldest_month = _first_of_month(on - dt.timedelta(days=AGING_BUCKETS[-1][1]))
    window = Q(figure="owed.d", month__range=(oldest_month, on + dt.timedelta(days=SOON_DAYS)))
    total = Q(figure="owed")
    figures = {
        "outstanding": Sum("a", filter=total),
        "insured_exposure": Sum("c", filter=total),
        "due_soon_count": Sum("n", filter=_days(-SOON_DAYS, 0, on, oldest_month)),
        "due_soon_amount": Sum("a", filter=_days(-SOON_DAYS, 0, on, oldest_month)),
    }
    for name, first, last in AGING_BUCKETS:
        figures[f"aging_{name}_count"] = Sum("n", filter=_days(first, last, on, oldest_month))
        figures[f"aging_{name}_amount"] = Sum("a", filter=_days(first, last, on, oldest_month))
    result = _rows(book).filter(total | window).aggregate(**figures)
    for key in result:
        if key.endswith("_count"):
            result[key] = result[key] or 0  # a count of nothing is 0, as the raw query's
    return result


def conversion(book: BookFilter, dimension: str) -> list[dict]:
    rows = _in_period(book, "ended")
    group = {"size": "dim", "institution": "institution__name", "ipc": "section", "year": "year"}[dimension]
    if dimension == "year":
        rows = rows.annotate(year=ExtractYear("month"))
    grouped = rows.values(group).annotate(ended=Sum("n"), converted=Sum("m")).order_by(group)
    return [
        {"key": row[group], "ended": row["ended"], "converted": row["converted"]} for row in grouped if row["ended"]
    ]


def contracts(book: BookFilter) -> dict:
    bought, fees = _period(book, "bought"), _period(book, "trial_fee")
    if bought is None or fees is None:
        return {"purchases": 0, "free": 0, "purchase_value": None, "trial_fees": None, "patents_licensed": 0}
    figures = (
        _rows(book)
        .filter(bought | fees)
        .aggregate(
            purchases=Sum("n", filter=bought),
            free=Sum("m", filter=bought),
            purchase_value=Sum("a", filter=bought),
            trial_fees=Sum("a", filter=fees),
        )
    )
    figures["purchases"] = figures["purchases"] or 0
    figures["free"] = figures["free"] or 0
    # The patents ever licensed (a row each); in a period, those of them with a day row in it.
    licensed = _rows(book).filter(figure="patents", n__gt=0)
    if book.date_from is not None or book.date_to is not None:
        days = Q(month__gte=book.date_from) if book.date_from else Q()
        days &= Q(month__lte=book.date_to) if book.date_to else Q()
        in_period = Tally.objects.filter(
            days, figure="patent.d", institution=OuterRef("institution"), section=OuterRef("section"), n__gt=0
        )
        licensed = licensed.filter(Exists(in_period.filter(dim=OuterRef("dim"))))
    figures["patents_licensed"] = licensed.values("dim").distinct().count()
    return figures


def income_by_kind(book: BookFilter, on: dt.date) -> list[dict]:
    """Fallen due by the period's end (or `on`): the months before its month, and its month's days."""
    end = min(book.date_to, on) if book.date_to else on
    month = _first_of_month(end)
    fallen_due = Q(figure="due", month__lt=month) | Q(figure="due.d", month__range=(month, end))
    rows = _rows(book).filter(fallen_due).values("dim").annotate(n=Sum("n"), due=Sum("a"), collected=Sum("b"))
    return [
        {"kind": row["dim"], "n": row["n"], "due": row["due"], "collected": row["collected"]}
        | {"unpaid": row["due"] - row["collected"]}
        for row in rows
        if row["n"]
    ]


def royalty_reports(book: BookFilter, on: dt.date) -> dict:
    """Due soon and late from the days (late: the months before this one too), filed and disputed
    from the months."""
    to_file, state = Q(dim__in=RoyaltyReport.TO_FILE), RoyaltyReport.State
    this_month = _first_of_month(on)
    soon = Q(figure="report.d", month__range=(on, on + dt.timedelta(days=SOON_DAYS))) & to_file
    late = to_file & (
        Q(figure="report", month__lt=this_month) | Q(figure="report.d", month__gte=this_month, month__lt=on)
    )
    filed = Q(figure="report", dim__in=(state.FILED, state.DISPUTED))
    figures = (
        _rows(book)
        .filter(soon | late | filed)
        .aggregate(
            due_soon=Sum("n", filter=soon),
            late=Sum("n", filter=late),
            awaiting=Sum("n", filter=Q(figure="report", dim=state.FILED)),
            disputed=Sum("n", filter=Q(figure="report", dim=state.DISPUTED)),
        )
    )
    return {key: value or 0 for key, value in figures.items()}


def collections_by_month(book: BookFilter) -> list[dict]:
    months = _in_period(book, "paid").annotate(paid_in=TruncMonth("month")).values("paid_in")
    months = months.annotate(count=Sum("n"), amount=Sum("a")).order_by("paid_in")
    return [{"month": row["paid_in"], "count": row["count"], "amount": row["amount"]} for row in months if row["count"]]


def claims_summary(book: BookFilter) -> dict:
    """Claims filed in the period, and what became of them."""
    state = InsuranceClaim.State
    rows = _in_period(book, "claim")
    figures = rows.aggregate(
        filed=Sum("n"),
        claimed=Sum("a"),
        open=Sum("n", filter=Q(dim__in=[state.FILED, state.APPROVED])),
        paid=Sum("n", filter=Q(dim=state.PAID)),
        paid_amount=Sum("b", filter=Q(dim=state.PAID)),
        rejected=Sum("n", filter=Q(dim=state.REJECTED)),
    )
    return figures | {key: figures[key] or 0 for key in ("filed", "open", "paid", "rejected")}


def equity_summary(book: BookFilter) -> dict:
    """Stakes taken in the period (executed), and those pending whatever the period."""
    executed = _period(book, "executed") or Q(figure="")  # no figure has no name: a period of no days
    pending = Q(figure="equity", dim__in=[EquityConversion.State.PROPOSED, EquityConversion.State.APPROVED])
    figures = (
        _rows(book)
        .filter(pending | executed)
        .aggregate(
            executed=Sum("n", filter=executed),
            converted_amount=Sum("a", filter=executed),
            pending=Sum("n", filter=pending),
        )
    )
    return figures | {key: figures[key] or 0 for key in ("executed", "pending")}


def to_issue(book: BookFilter) -> int:
    """Bought licenses without a contract (the contract standing's first figure)."""
    return _rows(book).filter(figure="to_issue").aggregate(total=Sum("n"))["total"] or 0
