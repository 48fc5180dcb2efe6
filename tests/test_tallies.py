"""The dashboard's tallies (licensing/models/tallies.py): kept by PostgreSQL's triggers whatever
writes the rows, equal to the raw tables after random writes of every kind the triggers watch, and
giving the same figures as the raw selectors for every book filter and period; the rebuild command;
the split of a period into whole months and edge days (every database)."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import override_settings

from licensing import selectors
from licensing.models import (
    Enterprise,
    Installment,
    Institution,
    InsuranceClaim,
    InsurancePolicy,
    License,
    Patent,
    Payment,
    Tally,
    tallies,
)
from licensing.selectors.tallied import split

D = dt.date
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps no tallies: its dashboard reads the raw tables"
)


@pytest.mark.parametrize(
    ("date_from", "date_to", "months", "edges"),
    [
        (None, None, (None, None), []),
        (D(2026, 3, 1), D(2026, 5, 31), (D(2026, 3, 1), D(2026, 5, 1)), []),
        (D(2026, 3, 15), None, (D(2026, 4, 1), None), [(D(2026, 3, 15), D(2026, 3, 31))]),
        (None, D(2026, 3, 15), (None, D(2026, 2, 1)), [(D(2026, 3, 1), D(2026, 3, 15))]),
        (
            D(2026, 3, 10),
            D(2026, 5, 15),
            (D(2026, 4, 1), D(2026, 4, 1)),
            [(D(2026, 3, 10), D(2026, 3, 31)), (D(2026, 5, 1), D(2026, 5, 15))],
        ),
        (D(2026, 3, 10), D(2026, 3, 20), None, [(D(2026, 3, 10), D(2026, 3, 20))]),
        (D(2026, 3, 1), D(2026, 3, 20), None, [(D(2026, 3, 1), D(2026, 3, 20))]),
        (D(2026, 3, 10), D(2026, 4, 5), None, [(D(2026, 3, 10), D(2026, 3, 31)), (D(2026, 4, 1), D(2026, 4, 5))]),
        (D(2024, 2, 1), D(2024, 2, 29), (D(2024, 2, 1), D(2024, 2, 1)), []),  # a leap February, whole
        (D(2026, 5, 1), D(2026, 3, 1), None, []),  # a period that ends before it starts holds nothing
    ],
)
def test_a_period_is_its_whole_months_and_the_days_at_its_edges(date_from, date_to, months, edges):
    condition, days = split(date_from, date_to)
    assert days == edges
    if months is None:
        assert condition is None
        return
    first, last = months
    bounds = dict(condition.children)
    assert bounds.get("month__gte") == first
    assert bounds.get("month__lte") == last


def books(institutions):
    """Every kind of book filter the dashboard offers, with periods whose edges fall mid-month,
    on a month's first or last day, or inside one month."""
    periods = [
        (None, None),
        (D(2026, 1, 1), D(2026, 12, 31)),
        (D(2025, 11, 17), D(2026, 4, 9)),
        (D(2026, 2, 3), D(2026, 2, 20)),
        (None, D(2026, 3, 18)),
        (D(2026, 4, 30), None),
    ]
    for institution in (None, *institutions):
        for section in ("", "G", "h"):
            for date_from, date_to in periods:
                yield selectors.BookFilter(
                    institution=institution, ipc_section=section, date_from=date_from, date_to=date_to
                )


def conversion_by(dimension):
    return lambda book, on: selectors.conversion(book, dimension)


FIGURES = {
    "pipeline": lambda book, on: selectors.pipeline(book, on),
    "receivables": lambda book, on: selectors.receivables(book, on),
    **{f"conversion by {dimension}": conversion_by(dimension) for dimension in selectors.CONVERSION_DIMENSIONS},
    "contracts": lambda book, on: selectors.contracts(book),
    "income by kind": lambda book, on: sorted(selectors.income_by_kind(book, on), key=lambda row: row["kind"]),
    "collections": lambda book, on: selectors.collections_by_month(book),
    "royalty reports": lambda book, on: selectors.royalty_reports(book, on),
    "claims": lambda book, on: selectors.claims_summary(book),
    "equity": lambda book, on: selectors.equity_summary(book),
    "contract standing": lambda book, on: selectors.contract_standing(book, on),
}


def as_shown(value):
    """A sum over nothing is None in SQL and 0 from a tally of zeros; the page shows both as 0."""
    if isinstance(value, dict):
        return {key: as_shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_shown(item) for item in value]
    return Decimal(0) if value is None else value


def assert_figures_equal_raw(on):
    institutions = list(Institution.objects.order_by("pk"))
    compared = 0
    for book in books(institutions):
        for name, figure in FIGURES.items():
            with override_settings(DASHBOARD_TALLIES=False):
                raw = figure(book, on)
            kept = figure(book, on)
            assert as_shown(kept) == as_shown(raw), (name, book)
            compared += 1
    return compared


@pytest.fixture
def demo_book(db):
    call_command("seed_demo", verbosity=0)


@postgresql_only
def test_the_demo_book_counted_by_the_triggers_gives_every_figure_as_the_raw_tables(demo_book):
    """The demo's stories go through the services (purchases, payments, reversals, defaults,
    claims, equity, returns): the triggers counted every step."""
    assert tallies.out_of_step(connection) == []
    assert Tally.objects.filter(figure="owed").exists()
    for on in (D(2026, 3, 18), D(2026, 12, 7)):
        assert assert_figures_equal_raw(on) == (1 + Institution.objects.count()) * 3 * 6 * len(FIGURES)


def pick(rows, rng: random.Random):
    return rows[rng.randrange(rows.count())]


def random_write(rng: random.Random) -> str:
    """One write of a kind the triggers watch, made past the services (as SQL typed by hand or a
    bulk update would), so that the triggers alone keep the tallies."""
    kind = rng.choice(
        [
            "pay",
            "unpay",
            "pending",
            "move due",
            "trial end",
            "state",
            "policy",
            "size",
            "section",
            "reverse",
            "delete",
            "bulk",
        ]
    )
    installments = Installment.objects.order_by("pk")
    if kind == "pay":
        one = pick(installments, rng)
        Installment.objects.filter(pk=one.pk).update(paid_amount=one.amount)
    elif kind == "unpay":
        one = pick(installments, rng)
        Installment.objects.filter(pk=one.pk).update(paid_amount=Decimal(0))
    elif kind == "pending":
        one = pick(installments, rng)
        Installment.objects.filter(pk=one.pk).update(report_pending=not one.report_pending)
    elif kind == "move due":
        one = pick(installments, rng)
        moved = one.effective_due_date + dt.timedelta(days=rng.choice([-400, -40, -1, 1, 31, 365]))
        Installment.objects.filter(pk=one.pk).update(effective_due_date=moved)
    elif kind == "trial end":  # a trial extended or cut short, or a license given a trial's end
        one = pick(License.objects.order_by("pk"), rng)
        end = (one.trial_end_effective or D(2026, 3, 18)) + dt.timedelta(days=rng.choice([-20, -1, 1, 9, 60]))
        License.objects.filter(pk=one.pk).update(trial_end_effective=end)
    elif kind == "state":
        one = pick(License.objects.order_by("pk"), rng)
        License.objects.filter(pk=one.pk).update(state=rng.choice(License.State.values))
    elif kind == "policy":
        one = pick(License.objects.order_by("pk"), rng)
        policy = InsurancePolicy.objects.filter(license=one).first()
        if policy is None:
            InsurancePolicy.objects.create(
                license=one,
                insurer="PICC",
                policy_number=f"R-{one.pk}",
                coverage_ratio=Decimal("0.75"),
                starts_on=D(2026, 1, 1),
                ends_on=D(2030, 1, 1),
            )
        elif rng.random() < 0.5 or InsuranceClaim.objects.filter(policy=policy).exists():  # a claimed one stays
            InsurancePolicy.objects.filter(pk=policy.pk).update(coverage_ratio=Decimal("0.3333"))
        else:
            policy.delete()
    elif kind == "size":
        one = pick(Enterprise.objects.order_by("pk"), rng)
        Enterprise.objects.filter(pk=one.pk).update(size_class=rng.choice(Enterprise.SizeClass.values))
    elif kind == "section":
        one = pick(Patent.objects.order_by("pk"), rng)
        Patent.objects.filter(pk=one.pk).update(ipc_class=rng.choice(["G06F 17/00", "H01M 10/05", "a61K 9/00", ""]))
    elif kind == "reverse":
        payments = Payment.objects.order_by("pk")
        if payments.exists():
            one = pick(payments, rng)
            state = Payment.State.REVERSED if one.state == Payment.State.RECORDED else Payment.State.RECORDED
            Payment.objects.filter(pk=one.pk).update(state=state, amount=one.amount + 1)
    elif kind == "delete":  # by hand, one no other row names (those are protected)
        free = installments
        relations = [f for f in Installment._meta.get_fields(include_hidden=True) if f.one_to_many or f.one_to_one]
        for relation in (r for r in relations if r.auto_created and not r.concrete):
            named = relation.related_model.objects.filter(**{f"{relation.field.name}__isnull": False})
            free = free.exclude(pk__in=named.values(relation.field.name))
        one = pick(free, rng)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM licensing_installment WHERE id = %s", [one.pk])
    else:  # many rows of several licenses in one statement
        Installment.objects.filter(pk__in=list(installments.values_list("pk", flat=True)[::3])).update(
            paid_amount=Decimal(0), effective_due_date=D(2026, 2, 27)
        )
    return kind


@postgresql_only
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_of_every_kind_keep_the_tallies_equal_to_the_raw_tables(demo_book, seed):
    rng = random.Random(seed)
    kinds = []
    for _step in range(40):
        with transaction.atomic():
            kinds.append(random_write(rng))
        astray = tallies.out_of_step(connection)
        assert astray == [], (kinds, astray)
    assert assert_figures_equal_raw(D(2026, 3, 18)) > 0


@postgresql_only
def test_a_write_rolled_back_leaves_the_tallies_as_they_were(demo_book):
    before = sorted(Tally.objects.values_list("figure", "institution", "section", "dim", "month", "n", "a"))
    with pytest.raises(RuntimeError), transaction.atomic():
        Installment.objects.update(paid_amount=Decimal(0))
        raise RuntimeError
    assert sorted(Tally.objects.values_list("figure", "institution", "section", "dim", "month", "n", "a")) == before


@postgresql_only
def test_the_rebuild_command_recounts_tallies_written_astray(demo_book, capsys):
    Tally.objects.filter(figure="owed").update(a=Decimal("1.00"))
    Tally.objects.filter(figure="state").delete()
    assert tallies.out_of_step(connection) != []

    call_command("rebuild_tallies")

    assert tallies.out_of_step(connection) == []
    assert "0 out of step with the raw tables" in capsys.readouterr().out


@postgresql_only
def test_the_figures_read_a_fixed_number_of_tally_rows_not_the_book(demo_book, django_assert_max_num_queries):
    """A figure is one query of the tallies, its period's months and edge days together: none per
    row, day or month. The pipeline reads its states and its trials ending soon; contracts,
    the patents licensed (a distinct count); conversion is one per dimension; the contract standing
    reads contracts, recordals and payments beside its tally."""
    book = selectors.BookFilter(date_from=D(2025, 11, 17), date_to=D(2026, 4, 9))
    with django_assert_max_num_queries(2 + 1 + 4 + 2 + 1 + 1 + 1 + 1 + 1 + 3):
        for figure in FIGURES.values():
            figure(book, D(2026, 3, 18))


def test_sqlite_reads_the_raw_tables(db):
    if connection.vendor == "postgresql":
        assert selectors.reports.tallied(selectors.BookFilter())
        assert not selectors.reports.tallied(selectors.BookFilter(ipc_section="G06"))  # more than a section
    else:
        assert not selectors.reports.tallied(selectors.BookFilter())
        assert tallies.rebuild(connection) == 0


@postgresql_only
def test_a_license_in_each_state_counts_as_the_raw_tables_say(demo_book):
    """What a license owes and reports counts only in some states (owing, running): a license with
    royalty reports and one with an unpaid installment are moved through every state, by hand."""
    reporting = License.objects.filter(royalty_reports__isnull=False).order_by("pk").first()
    owing = License.objects.filter(installments__paid_amount__lt=F("installments__amount")).order_by("pk").first()
    on, book = D(2026, 12, 7), selectors.BookFilter()
    for state in License.State.values:
        License.objects.filter(pk__in=[reporting.pk, owing.pk]).update(state=state)
        for name, figure in FIGURES.items():
            with override_settings(DASHBOARD_TALLIES=False):
                raw = figure(book, on)
            assert as_shown(figure(book, on)) == as_shown(raw), (state, name)
