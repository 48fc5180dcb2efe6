"""The dashboard's figures read from the kept tallies (models/tallies.py) instead of the raw tables:
the same figures as the raw selectors in reports.py, which call these on PostgreSQL
(`reports.tallied`). A tally counts whole months; the days of a period that do not fill a month, and
the windows around today (due soon, aging), are read from the raw rows by the raw selectors
themselves, off indexes, so a figure costs its months' rows and a few weeks of the book, whatever
the book's size. tests/test_tallies.py holds each figure equal to the raw selector's."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import ExtractYear

from ..models import Institution, License, Tally
from . import reports
from .reports import AGING_BUCKETS, SOON_DAYS, BookFilter


def _first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def split(date_from: dt.date | None, date_to: dt.date | None) -> tuple[Q | None, list[tuple[dt.date, dt.date]]]:
    """A period as the whole months it covers (a condition on the tally's month, None: no whole
    month) and the days left at its edges, as (first, last) ranges for the raw rows."""
    edges: list[tuple[dt.date, dt.date]] = []
    first_month, last_month = None, None  # None: unbounded on that side
    if date_from is not None and date_to is not None and date_from > date_to:
        return None, []
    if date_from is not None:
        first_month = date_from if date_from.day == 1 else _next_month(date_from)
        if date_from.day != 1:
            month_end = first_month - dt.timedelta(days=1)
            edges.append((date_from, month_end if date_to is None else min(month_end, date_to)))
    if date_to is not None:
        after = date_to + dt.timedelta(days=1)
        last_month = _first_of_month(date_to) if after.day == 1 else _first_of_month(date_to) - dt.timedelta(days=1)
        if after.day != 1:
            start = _first_of_month(date_to)
            if date_from is None or date_from <= start:
                edges.append((start, date_to))
            elif not edges:  # both ends in one month, already in the first edge
                edges.append((date_from, date_to))
    months = Q()
    if first_month is not None:
        months &= Q(month__gte=first_month)
    if last_month is not None:
        months &= Q(month__lte=_first_of_month(last_month))
    if first_month is not None and last_month is not None and first_month > _first_of_month(last_month):
        return None, edges
    return months, edges


def _rows(book: BookFilter, figure: str) -> QuerySet[Tally]:
    rows = Tally.objects.filter(figure=figure).order_by()
    if book.institution is not None:
        rows = rows.filter(institution=book.institution)
    if book.ipc_section:
        rows = rows.filter(section=book.ipc_section.upper())
    return rows


def _in_period(book: BookFilter, figure: str) -> tuple[QuerySet[Tally], list[BookFilter]]:
    """The tally's rows of the period's whole months, and the book over each edge's days."""
    months, edges = split(book.date_from, book.date_to)
    rows = _rows(book, figure).filter(months) if months is not None else Tally.objects.none()
    return rows, [replace(book, date_from=first, date_to=last) for first, last in edges]


def pipeline(book: BookFilter, on: dt.date) -> dict:
    states = dict(_rows(book, "state").values_list("dim").annotate(n=Sum("n")).values_list("dim", "n"))
    ending = book.licenses(License.objects.order_by()).filter(License.trial_ending_q(on, SOON_DAYS)).count()
    return {"states": {state: n for state, n in states.items() if n}, "trials_ending": ending}


def receivables(book: BookFilter, on: dt.date) -> dict:
    """Outstanding and insured exposure from the tallies; due soon and the aging buckets from the
    raw rows due from the first day of the month of the oldest bucket's edge to the end of the
    due-soon window, and the oldest bucket's earlier months from the tallies."""
    oldest_edge = on - dt.timedelta(days=AGING_BUCKETS[-1][1])  # due on or before it: the oldest bucket
    window_from = _first_of_month(oldest_edge)
    figures = reports.receivables(book, on, due_within=(window_from, on + dt.timedelta(days=SOON_DAYS)))
    older = Q(month__lt=window_from)
    kept = _rows(book, "owed").aggregate(
        outstanding=Sum("a"), insured=Sum("c"), older_n=Sum("n", filter=older), older_amount=Sum("a", filter=older)
    )
    oldest = AGING_BUCKETS[-1][0]
    figures["outstanding"] = kept["outstanding"]
    figures["insured_exposure"] = kept["insured"]
    if kept["older_n"]:
        figures[f"aging_{oldest}_count"] += kept["older_n"]
        figures[f"aging_{oldest}_amount"] = _add(figures[f"aging_{oldest}_amount"], kept["older_amount"])
    return figures


def conversion(book: BookFilter, dimension: str) -> list[dict]:
    rows, edges = _in_period(book, "ended")
    group = {"size": "dim", "institution": "institution__name", "ipc": "section", "year": "year"}[dimension]
    if dimension == "year":
        rows = rows.annotate(year=ExtractYear("month"))
    counts: dict = defaultdict(lambda: [0, 0])
    grouped = rows.values(group).annotate(e=Sum("n"), c=Sum("m")).order_by(group)
    for key, ended, converted in grouped.values_list(group, "e", "c"):
        counts[key][0] += ended
        counts[key][1] += converted
    keys = list(counts)  # in the database's order (its collation for names), as the raw query's
    for edge in edges:
        for row in reports.conversion_raw(edge, dimension):
            counts[row["key"]][0] += row["ended"]
            counts[row["key"]][1] += row["converted"]
    if len(counts) > len(keys):  # an edge's day brought a key no whole month has
        keys = sorted(counts)
        if dimension == "institution":  # names in the database's collation
            names = Institution.objects.filter(name__in=keys).order_by("name").values_list("name", flat=True)
            keys = list(dict.fromkeys(names))
    return [{"key": key, "ended": counts[key][0], "converted": counts[key][1]} for key in keys if counts[key][0]]


def contract_sums(book: BookFilter) -> dict:
    bought, edges = _in_period(book, "bought")
    fees, fee_edges = _in_period(book, "trial_fee")
    figures = bought.aggregate(purchases=Sum("n"), free=Sum("m"), purchase_value=Sum("a"))
    figures["purchases"] = figures["purchases"] or 0
    figures["free"] = figures["free"] or 0
    figures["trial_fees"] = fees.aggregate(total=Sum("a"))["total"]
    for edge in edges:
        raw = reports.contract_sums_raw(edge)
        figures["purchases"] += raw["purchases"]
        figures["free"] += raw["free"]
        figures["purchase_value"] = _add(figures["purchase_value"], raw["purchase_value"])
    for edge in fee_edges:
        figures["trial_fees"] = _add(figures["trial_fees"], reports.contract_sums_raw(edge)["trial_fees"])
    return figures


def _add(total: Decimal | None, more: Decimal | None) -> Decimal | None:
    """Sums as SQL adds them: nothing to sum is None."""
    if more is None:
        return total
    return more if total is None else total + more


def income_by_kind(book: BookFilter, end: dt.date) -> list[dict]:
    """Fallen due by `end`: the tallies' months before end's month, and the raw rows of its days."""
    month = _first_of_month(end)
    rows = (
        _rows(book, "due").filter(month__lt=month).values("dim").annotate(n=Sum("n"), due=Sum("a"), collected=Sum("b"))
    )
    kinds: dict = {}
    for tally in rows:
        if tally["n"]:
            kinds[tally["dim"]] = {
                "kind": tally["dim"],
                "n": tally["n"],
                "due": tally["due"],
                "collected": tally["collected"],
            }
    for raw in reports.income_by_kind(replace(book, date_to=end), end, due_from=month):
        kept = kinds.setdefault(raw["kind"], {"kind": raw["kind"], "n": 0, "due": None, "collected": None})
        kept["n"] += raw["n"]
        kept["due"] = _add(kept["due"], raw["due"])
        kept["collected"] = _add(kept["collected"], raw["collected"])
    for kind in kinds.values():
        kind["unpaid"] = _add(kind["due"], -kind["collected"] if kind["collected"] is not None else None)
    return list(kinds.values())


def collections_by_month(book: BookFilter) -> list[dict]:
    rows, edges = _in_period(book, "paid")
    months: dict = {}
    for month, count, amount in rows.values("month").annotate(c=Sum("n"), a=Sum("a")).values_list("month", "c", "a"):
        if count:
            months[month] = {"month": month, "count": count, "amount": amount}
    for edge in edges:
        for row in reports.collections_by_month_raw(edge):
            kept = months.setdefault(row["month"], {"month": row["month"], "count": 0, "amount": Decimal(0)})
            kept["count"] += row["count"]
            kept["amount"] += row["amount"]
    return [months[month] for month in sorted(months)]
