"""The bench book: a large synthetic book bulk-loaded for benchmarks (seed_demo --licenses N).

It bypasses the services for speed and writes no audit rows; every row respects the model's
invariants, and every state set it reads is the model's. Rows are written as tuples, by COPY on
PostgreSQL (executemany elsewhere), a batch of licenses per transaction.

Identifiers are unique by construction (patent and USCC serials counted from fixed bases the demo
stories never reach), and license number i is drawn from a random generator seeded with i alone:
a run that stopped (killed, out of disk) is resumed by running the same command again, which
writes the licenses still missing, exactly as the first run would have.
"""

import datetime as dt
import queue
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import SimpleNamespace
from typing import Any

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from ..domain import clock, money, royalties, workdays
from ..domain.money import split_evenly
from ..models import (
    DealTerms,
    Enterprise,
    Installment,
    Institution,
    InsuranceClaim,
    InsurancePolicy,
    License,
    LicensePatent,
    Offer,
    OfferPatent,
    Patent,
    Payment,
    RoyaltyReport,
    SweepMark,
    tallies,
)
from .identifiers import make_patent_number, make_uscc

S = License.State
BULK_STATES = [  # (state, weight): a book a few years into the programme
    (S.APPLIED, 3),
    (S.REJECTED, 2),
    (S.TRIAL, 10),
    (S.RETURNED, 8),
    (S.EXPIRED, 5),
    (S.TERMINATED, 1),  # in its trial
    (S.PURCHASED, 45),
    (S.IN_ARREARS, 6),
    (S.PAID_UP, 15),
    (S.DEFAULTED, 2),
    (S.CLAIM_FILED, 1),
    (S.COMPENSATED, 1),
    (S.WRITTEN_OFF, 1),
]
INSTALLMENTS_PER_PURCHASE = 14
# Licenses by fee shape, as China's recorded licenses run: about half free, most of the rest at a
# fixed price, a few on royalties.
BULK_FEE_SHAPES = [("free", 54), ("fixed", 39), ("royalty", 7)]
BULK_ROYALTY = {
    "royalty_base": "net_sales",
    "royalty_rates": "3% up to 10,000,000; 2%",
    "reporting_period": "quarter",
    "report_due_days": 30,
    "royalty_minimum": Decimal("50000"),
}
# A free license is taken paid up: none of the other states after a purchase, which owe money. A
# royalty license owes its periods until the term ends: never paid up.
OWING_STATES = set(License.AFTER_PURCHASE_STATES) - {S.PAID_UP}
CLAIMED = {S.CLAIM_FILED: InsuranceClaim.State.FILED, S.COMPENSATED: InsuranceClaim.State.PAID}

BENCH_SME = "Bench SME "
BENCH_PATENT = "Bench patent "
PATENT_SERIAL_BASE = 5_000_000  # the demo stories' patent serials stay below 1,000,000
USCC_SERIAL_BASE = 100_000_000  # in division 310115, where no story enterprise is
LICENSE_SEED_STRIDE = 10_000_019  # license i of seed s draws from Random(s * stride + i)

# A few thousand distinct days and months in millions of rows: each worked out once.
effective_date = cache(workdays.effective_date)
add_months = cache(money.add_months)
SHAPES, SHAPE_WEIGHTS = zip(*BULK_FEE_SHAPES, strict=True)
STATES, STATE_WEIGHTS = zip(*BULK_STATES, strict=True)


def _bulk_terms(shape: str, rng: random.Random) -> dict:
    if shape == "free":
        return {"price": Decimal(0), "installment_count": 0}
    if shape == "royalty":
        return {"price": Decimal(0), "installment_count": 0, **BULK_ROYALTY}
    price = Decimal(rng.choice([60000, 120000, 480000]))
    return {"price": price, "installment_count": INSTALLMENTS_PER_PURCHASE, "installment_interval_months": 1}


def _shape_of(offer: Offer) -> str:
    return "royalty" if offer.royalty_base else "fixed" if offer.price else "free"


def _bulk_state(shape: str, state: str) -> str:
    if shape == "free" and state in OWING_STATES:
        return S.PAID_UP
    if shape == "royalty" and state == S.PAID_UP:
        return S.PURCHASED
    return state


# -- writing rows ---------------------------------------------------------------------------------


class _Table:
    """Rows of one model, as tuples over the model's columns (each field's default where a row
    does not say), gathered batch by batch. `keyed`: the rows carry their ids, counted on from
    the table's largest (`reserve`), so rows of other tables can point at them before they are
    written; nothing else writes these tables while the book is loaded."""

    def __init__(self, model: type[models.Model], *, keyed: bool = False):
        fields = [f for f in model._meta.concrete_fields if keyed or not f.primary_key]
        self.model, self.keyed = model, keyed
        self.names = [f.attname for f in fields]
        self.columns = [f.column for f in fields]
        self.defaults = [None if f.primary_key else f.get_default() for f in fields]
        self.position = {name: i for i, name in enumerate(self.names)}
        self.datetimes = [i for i, f in enumerate(fields) if isinstance(f, models.DateTimeField)]
        self.rows: list[tuple] = []
        self.next_id = 0

    def reserve(self) -> None:
        if self.keyed:
            largest = self.model._default_manager.aggregate(largest=models.Max("pk"))["largest"]
            self.next_id = (largest or 0) + 1

    def add(self, **values: Any) -> int:
        if self.keyed:
            values["id"] = self.next_id
            self.next_id += 1
        row = self.defaults.copy()
        position = self.position
        for name, value in values.items():
            row[position[name]] = value
        self.rows.append(tuple(row))
        return values.get("id", 0)

    def take(self) -> tuple["_Table", list[tuple], int]:
        """The batch's rows, to write; the table starts the next batch empty."""
        rows, self.rows = self.rows, []
        return self, rows, self.next_id - 1

    def write(self, rows: list[tuple], last_id: int, cursor: Any) -> None:
        table = self.model._meta.db_table
        columns = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if self.keyed and rows:  # the next row any service inserts takes the next id
                cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, last_id])
            return
        if self.datetimes:  # SQLite keeps datetimes as text in UTC, as Django writes them
            adapt = connection.ops.adapt_datetimefield_value
            rows = [tuple(adapt(v) if i in self.datetimes else v for i, v in enumerate(row)) for row in rows]
        marks = ", ".join(["%s"] * len(self.columns))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


class _Writer:
    """Writes each batch of rows in its own transaction, then counts it done. On PostgreSQL (and
    outside a transaction of the caller's) it writes from a thread with its own connection, so
    that the database takes in one batch while the next is drawn: two processes, two cores."""

    def __init__(self, progress: Callable[[int], Any] | None):
        self.progress = progress
        self.threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.queue: queue.Queue = queue.Queue(maxsize=1)  # one batch drawn ahead: memory stays flat
        self.failed: BaseException | None = None
        if self.threaded:
            self.thread = threading.Thread(target=self._run, name="bench-book-writer", daemon=True)
            self.thread.start()

    def put(self, batch: list[tuple[_Table, list[tuple], int]], size: int) -> None:
        if not self.threaded:
            self._write(batch, size)
            return
        while True:  # a writer that failed takes nothing more: its error is raised here
            if self.failed is not None:
                raise self.failed
            try:
                self.queue.put((batch, size), timeout=1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if self.threaded:
            if self.failed is None:
                self.queue.put(None)
            self.thread.join()
            if self.failed is not None:
                raise self.failed

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                self._write(*item)
        except BaseException as exc:  # raised in the caller's thread by put() or close()
            self.failed = exc
        finally:
            connection.close()  # this thread's own connection

    def _write(self, batch: list[tuple[_Table, list[tuple], int]], size: int) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if self.threaded:  # its own transaction (SET LOCAL would outlive a caller's savepoint)
                _triggers_off(cursor)
            for table, rows, last_id in batch:
                table.write(rows, last_id, cursor)
        if self.progress:
            self.progress(size)


# Where the definitions of the indexes set aside for a load wait until they are built again: a
# table of its own, so that a load killed before it built them leaves them to the next run.
SET_ASIDE = "bench_load_index_set_aside"


@contextmanager
def _indexes_set_aside(tables: list[_Table], worth_it: bool) -> Iterator[None]:
    """On PostgreSQL (outside a caller's transaction, as `seed_demo` runs), the loaded tables'
    secondary indexes are dropped for the load and built from the rows after it, as pg_restore
    does; keys and unique indexes stay, so every constraint is checked as the rows go in. At the
    end, or on the next run if this one was killed, every index set aside is built again."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if worth_it:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {SET_ASIDE} (name text PRIMARY KEY, definition text NOT NULL)")
            cursor.execute(
                f"""INSERT INTO {SET_ASIDE} (name, definition)
                SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x
                JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
                WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
                    AND NOT x.indisunique AND NOT x.indisprimary
                ON CONFLICT (name) DO NOTHING""",
                [[table.model._meta.db_table for table in tables]],
            )
            cursor.execute(f"SELECT name FROM {SET_ASIDE} ORDER BY name")
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
    try:
        yield
    finally:
        _build_set_aside()


def _build_set_aside() -> None:
    """Build every index a load set aside (none: nothing to do), with the memory a bulk build wants."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [SET_ASIDE])
        if not cursor.fetchone()[0]:
            return
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(f"SELECT name, definition FROM {SET_ASIDE} ORDER BY name")
        for name, definition in cursor.fetchall():
            cursor.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
            cursor.execute(f"DELETE FROM {SET_ASIDE} WHERE name = %s", [name])
        cursor.execute(f"DROP TABLE {SET_ASIDE}")
        cursor.execute("RESET maintenance_work_mem")


def _triggers_off(cursor: Any) -> None:
    """The rows carry their kept balances already, and their keys are consistent by construction:
    on PostgreSQL the batch is written with the triggers off (a replica's session role: what
    pg_restore does; it needs a superuser, as the bench's database user is). Without the right the
    triggers run, slower, to the same result."""
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        pass  # not a superuser: the triggers compute what the rows say


# -- the catalogue: institutions, patents, packages, offers, enterprises ---------------------------


@dataclass
class _Catalogue:
    by_shape: dict[str, list[Offer]]
    terms: dict[int, dict]  # offer id -> the terms a license copies
    package: dict[int, list[int]]  # offer id -> its patents, the lead first
    term_end: dict[int, dt.date]  # offer id -> the last expiry of its package
    enterprises: list[int]


def _create_catalogue(licenses: int, rng: random.Random) -> None:
    institutions = [
        Institution.objects.get_or_create(name=f"Bench University {i}", defaults={"kind": "university"})[0]
        for i in range(5)
    ]
    n_patents, n_enterprises = max(10, licenses // 50), max(10, licenses // 20)
    patents = Patent.objects.bulk_create(
        (
            Patent(
                number=make_patent_number(2020, PATENT_SERIAL_BASE + i),
                title=f"{BENCH_PATENT}{i}",
                ipc_class=rng.choice("ABCDEFGH") + "01B 1/00",
                owner=institutions[i % 5],
                patent_type="invention",
                filing_date=dt.date(2020, 1, 1),
                expiry_date=dt.date(2040, 1, 1),
            )
            for i in range(n_patents)
        ),
        batch_size=5000,
    )
    # Fee shapes, one per offer: a few royalty and fixed-price offers, the rest free (each shape
    # has at least one); each license picks its shape by the national mix (BULK_FEE_SHAPES).
    shapes = ["royalty"] * max(1, round(0.07 * n_patents)) + ["fixed"] * max(1, round(0.39 * n_patents))
    shapes += ["free"] * (n_patents - len(shapes))
    offers = Offer.objects.bulk_create(
        (
            Offer(patent=p, state=Offer.State.PUBLISHED, trial_months=6, **_bulk_terms(shape, rng))
            for p, shape in zip(patents, shapes, strict=True)
        ),
        batch_size=5000,
    )
    # Packages: each offer has its lead patent and 0-3 more (on average 2.4 patents per license,
    # as in China's recorded contracts), patents of the same institution that no other offer holds.
    extra_counts = [rng.choice([0, 1, 1, 2, 3]) for _ in offers]
    owners = [offer.patent.owner for offer, count in zip(offers, extra_counts, strict=True) for _ in range(count)]
    extras = iter(
        Patent.objects.bulk_create(
            (
                Patent(
                    number=make_patent_number(2021, PATENT_SERIAL_BASE + i),
                    title=f"{BENCH_PATENT}x{i}",
                    ipc_class=rng.choice("ABCDEFGH") + "01B 1/00",
                    owner=owner,
                    patent_type="invention",
                    filing_date=dt.date(2021, 1, 1),
                    expiry_date=dt.date(2041, 1, 1),
                )
                for i, owner in enumerate(owners)
            ),
            batch_size=5000,
        )
    )
    OfferPatent.objects.bulk_create(
        (
            OfferPatent(offer=offer, patent=patent)
            for offer, count in zip(offers, extra_counts, strict=True)
            for patent in [offer.patent, *(next(extras) for _ in range(count))]
        ),
        batch_size=5000,
    )
    classes = ["micro", "small", "medium", "large"]
    Enterprise.objects.bulk_create(
        (
            Enterprise(
                name=f"{BENCH_SME}{i}",
                uscc=make_uscc(USCC_SERIAL_BASE + i, "310115"),
                industry="industry",
                industry_section="C",
                employees=10,
                annual_revenue=Decimal(100),
                size_class=classes[i % 4],
            )
            for i in range(n_enterprises)
        ),
        batch_size=5000,
    )


def _catalogue(licenses: int, seed: int) -> _Catalogue:
    """The bench catalogue, made once (in one transaction) and read back by every later run."""
    if not Enterprise.objects.filter(name__startswith=BENCH_SME).exists():
        with transaction.atomic():
            _create_catalogue(licenses, random.Random(seed))
    offers = list(Offer.objects.filter(patent__title__startswith=BENCH_PATENT).select_related("patent").order_by("pk"))
    package: dict[int, list[int]] = {offer.pk: [offer.patent_id] for offer in offers}
    term_end: dict[int, dt.date] = {}
    links = OfferPatent.objects.filter(offer__in=offers).order_by("offer_id", "pk")
    for offer_id, patent_id, expiry in links.values_list("offer_id", "patent_id", "patent__expiry_date"):
        if patent_id != package[offer_id][0]:
            package[offer_id].append(patent_id)
        term_end[offer_id] = max(term_end.get(offer_id, expiry), expiry)
    by_shape: dict[str, list[Offer]] = {}
    for offer in offers:
        by_shape.setdefault(_shape_of(offer), []).append(offer)
    return _Catalogue(
        by_shape=by_shape,
        terms={offer.pk: {name: getattr(offer, name) for name in DealTerms.term_names()} for offer in offers},
        package=package,
        term_end=term_end,
        enterprises=list(
            Enterprise.objects.filter(name__startswith=BENCH_SME).order_by("pk").values_list("pk", flat=True)
        ),
    )


def bench_licenses() -> models.QuerySet[License]:
    return License.objects.filter(enterprise__name__startswith=BENCH_SME)


# -- the licenses ---------------------------------------------------------------------------------


@dataclass
class _Batch:
    licenses: _Table
    patents: _Table
    installments: _Table
    reports: _Table
    payments: _Table
    policies: _Table
    claims: _Table

    @classmethod
    def new(cls) -> "_Batch":
        return cls(
            _Table(License, keyed=True),
            _Table(LicensePatent),
            _Table(Installment, keyed=True),
            _Table(RoyaltyReport),
            _Table(Payment),
            _Table(InsurancePolicy, keyed=True),
            _Table(InsuranceClaim),
        )

    def tables(self) -> list[_Table]:  # in the order their foreign keys need
        return [self.licenses, self.patents, self.installments, self.reports, self.payments, self.policies, self.claims]


def seed_bulk(licenses: int, progress: Callable[[int], Any] | None = None, batch: int = 2000, seed: int = 7) -> dict:
    """Bulk-load a synthetic book of `licenses` bench licenses (~14 installments each when bought
    at a fixed price, its periods when on royalties), or add what a stopped run left missing.

    It bypasses the services for speed (the book is for benchmarks), so it writes no audit rows;
    every row respects the model's invariants (amounts sum to the price, states are reachable).
    """
    today = clock.today()
    catalogue = _catalogue(licenses, seed)
    done = bench_licenses().count()
    if progress and done:
        progress(min(done, licenses))
    rows = _Batch.new()
    for table in rows.tables():
        table.reserve()
    # Indexes are set aside when the load at least doubles the book: building them again then costs
    # less than keeping them row by row.
    with _indexes_set_aside(rows.tables(), licenses - done >= License.objects.count()):
        writer = _Writer(progress)
        try:
            while done < licenses:
                size = min(batch, licenses - done)
                for index in range(done, done + size):
                    _license(index, random.Random(seed * LICENSE_SEED_STRIDE + index), catalogue, rows, today)
                writer.put([table.take() for table in rows.tables()], size)
                done += size
        finally:
            writer.close()
    if tallies.in_use(connection):
        tallies.rebuild(connection)  # the rows went in with the triggers off, like a restore
    if connection.vendor == "postgresql":
        # Fresh statistics, as after any bulk load: without them the planner picks plans that
        # take seconds instead of milliseconds on the license list. Outside a transaction, VACUUM
        # too (what autovacuum does later): it marks the pages all-visible, so that index-only scans
        # (a staff member's enterprises, bounded counts) read no table pages.
        analyze = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"{analyze} licensing_license, licensing_installment, licensing_enterprise, licensing_patent, "
                "licensing_payment, licensing_insurancepolicy, licensing_insuranceclaim, licensing_offer, "
                "licensing_offerpatent, licensing_licensepatent, licensing_royaltyreport, licensing_tally"
            )
    SweepMark.forget()  # written past the services, so past the audit trail: the next sweep claims for every license
    patents = sum(len(p) for p in catalogue.package.values())
    return {"licenses": licenses, "patents": patents, "enterprises": len(catalogue.enterprises)}


def _license(index: int, rng: random.Random, catalogue: _Catalogue, rows: _Batch, today: dt.date) -> None:
    """License number `index` of the bench book, with its schedule, reports, payments and any
    insurance policy and claim: drawn from `rng` alone."""
    shape = rng.choices(SHAPES, SHAPE_WEIGHTS)[0]
    offer = rng.choice(catalogue.by_shape[shape])
    state = _bulk_state(shape, rng.choices(STATES, STATE_WEIGHTS)[0])
    # A book the hourly sweep agrees with: running trials have not ended yet.
    start = today - dt.timedelta(days=rng.randrange(0, 170) if state == S.TRIAL else rng.randrange(200, 900))
    enterprise = rng.choice(catalogue.enterprises)
    purchased = state in License.AFTER_PURCHASE_STATES
    trial_end = add_months(start, 6)
    # As the transitions date it: the purchase, the last day, or a day during the trial.
    ended_on = {
        S.RETURNED: start + dt.timedelta(days=rng.randrange(1, 180)),
        S.TERMINATED: start + dt.timedelta(days=rng.randrange(1, 180)),
        S.EXPIRED: effective_date(trial_end),
    }.get(state, trial_end if purchased else None)
    terms = catalogue.terms[offer.pk]
    lic = SimpleNamespace(
        pk=rows.licenses.next_id,
        index=index,
        state=state,
        purchased_on=trial_end if purchased else None,
        **{**terms, "term_end": catalogue.term_end[offer.pk]},
    )
    schedule: list[dict] = []
    if purchased and lic.price:
        schedule = list(_bulk_schedule(lic, today))
        for inst in schedule:
            inst["id"] = rows.installments.add(**inst)
    elif purchased and lic.royalty_base:
        for inst, report in _bulk_periods(lic, today):  # may find the license cured (state set)
            inst["id"] = rows.installments.add(**inst)
            rows.reports.add(**report, installment_id=inst["id"])
            schedule.append(inst)
    trial = state not in License.NO_TRIAL_STATES
    # The balance the database keeps (models/balances.py), written here: the load runs with the
    # triggers off. Open as OPEN_Q says: money unpaid, or a period's report still to come.
    unpaid = [i for i in schedule if i["paid_amount"] < i["amount"] or i.get("report_pending")]
    rows.licenses.add(
        outstanding_amount=sum((i["amount"] - i["paid_amount"] for i in unpaid), Decimal(0)),
        next_due_date=min((i["effective_due_date"] for i in unpaid), default=None),
        offer_id=offer.pk,
        institution_id=offer.patent.owner_id,
        enterprise_id=enterprise,
        state=lic.state,
        **{name: getattr(lic, name) for name in terms},  # the offer's terms; the term ends with the package
        trial_start=start if trial else None,
        trial_end=trial_end if trial else None,
        trial_end_effective=effective_date(trial_end) if trial else None,
        trial_ended_on=ended_on,
        plan=(License.Plan.INSTALLMENTS if shape == "fixed" else License.Plan.LUMP_SUM) if purchased else "",
        purchased_on=lic.purchased_on,
        takes_effect_on=lic.purchased_on,
    )
    for patent in catalogue.package[offer.pk]:
        rows.patents.add(license_id=lic.pk, patent_id=patent)
    _bulk_money(lic, shape, start, schedule, rows, today)


def _bulk_money(lic: SimpleNamespace, shape: str, start: dt.date, schedule: list[dict], rows: _Batch, today) -> None:
    """What the services would have written around the schedule: a payment for each paid
    installment, on its due date; a policy on every fifth purchase and on every claimed license;
    a claim, filed at default, for those in claim_filed (open) and compensated (paid)."""
    for inst in schedule:
        if inst["paid_amount"]:
            rows.payments.add(
                license_id=lic.pk,
                amount=inst["paid_amount"],
                paid_on=min(inst["effective_due_date"], today),
                reference=f"BULK-{lic.pk}-{inst['sequence']}",
                idempotency_key=f"bulk-{lic.pk}-{inst['sequence']}",
            )
    owing = lic.purchased_on and shape != "free"  # a free license has nothing to insure
    if not owing or not (lic.index % 5 == 0 or lic.state in CLAIMED):
        return
    policy = InsurancePolicy(coverage_ratio=Decimal("0.8"))
    policy_id = rows.policies.add(
        license_id=lic.pk,
        insurer="Bench Insurance Co.",
        policy_number=f"BENCH-{lic.pk}",
        coverage_ratio=policy.coverage_ratio,
        starts_on=start,
        ends_on=add_months(start, 60),
    )
    if lic.state in CLAIMED:
        unpaid = sum((inst["amount"] - inst["paid_amount"] for inst in schedule), Decimal(0))
        claimed = InsuranceClaim.amount_for(policy, unpaid)
        rows.claims.add(
            license_id=lic.pk,
            policy_id=policy_id,
            state=CLAIMED[lic.state],
            outstanding_at_filing=unpaid,
            claimed_amount=claimed,
            paid_amount=claimed if lic.state == S.COMPENSATED else None,
            filed_on=lic.purchased_on + dt.timedelta(days=120),
        )


def _installment_state(paid: bool, effective_due: dt.date, today: dt.date) -> str:
    """As the services and the sweep leave an installment: paid, overdue after its effective due
    date (Installment.is_overdue_on), or due."""
    if paid:
        return Installment.State.PAID
    return Installment.State.OVERDUE if effective_due < today else Installment.State.DUE


def _bulk_schedule(lic: SimpleNamespace, today: dt.date) -> Iterable[dict]:
    """Paid up: all paid. Purchased: everything due so far paid. In arrears: unpaid since a day
    within the last 60 (inside the grace period). Defaulted and later: unpaid since long ago."""
    paid_until = {
        S.PAID_UP: dt.date.max,
        S.PURCHASED: today,
        S.IN_ARREARS: today - dt.timedelta(days=1 + lic.index % 60),
    }.get(lic.state, lic.purchased_on)
    for n, amount in enumerate(split_evenly(lic.price, INSTALLMENTS_PER_PURCHASE), start=1):
        due = add_months(lic.purchased_on, n - 1)
        paid = due < paid_until
        yield {
            "license_id": lic.pk,
            "kind": Installment.Kind.PURCHASE,
            "sequence": n,
            "amount": amount,
            "due_date": due,
            "effective_due_date": effective_date(due),
            "paid_amount": amount if paid else Decimal("0"),
            "state": _installment_state(paid, effective_date(due), today),
        }


def _bulk_periods(lic: SimpleNamespace, today: dt.date) -> Iterable[tuple[dict, dict]]:
    """A royalty license's periods, as the services leave them: reported, accepted and paid while
    it pays; in arrears, the latest report that fell due (within the grace days) not filed;
    defaulted and later, nothing filed since the purchase. Sales rise quarter by quarter. A
    license drawn in arrears with no report late enough for it is cured: its state is set to
    purchased."""
    spans = royalties.periods(lic.purchased_on, lic.term_end, royalties.PERIOD_MONTHS[lic.reporting_period])
    fell_due = [end + dt.timedelta(days=lic.report_due_days) for _start, end in spans]
    fell_due = [due for due in fell_due if effective_date(due) < today]
    reported_until = {S.PURCHASED: today}.get(lic.state, lic.purchased_on)
    if lic.state == S.IN_ARREARS:  # the latest report that fell due is missing, inside the grace days
        if fell_due and (today - fell_due[-1]).days < lic.grace_days - 5:
            reported_until = fell_due[-1]
        else:
            lic.state = S.PURCHASED
            reported_until = today
    tiers = royalties.parse_tiers(lic.royalty_rates)
    year_base: dict[int, Decimal] = {}
    for n, (start, end) in enumerate(spans, start=1):
        due = end + dt.timedelta(days=lic.report_due_days)
        effective = effective_date(due)
        period = {"license_id": lic.pk, "period_start": start, "period_end": end, "due_date": due}
        common = {
            "license_id": lic.pk,
            "kind": Installment.Kind.ROYALTY,
            "sequence": n,
            "due_date": due,
            "effective_due_date": effective,
        }
        if due < reported_until:
            base = Decimal(400_000 * n + 10_000 * (lic.index % 7))
            earlier = year_base.get(start.year, Decimal(0))
            royalty = royalties.royalty_on(base, tiers, earlier=earlier)
            year_base[start.year] = earlier + base
            filed = timezone.make_aware(dt.datetime.combine(due - dt.timedelta(days=5), dt.time(10)))
            yield (
                {**common, "amount": royalty, "paid_amount": royalty, "state": Installment.State.PAID},
                {
                    **period,
                    "state": RoyaltyReport.State.ACCEPTED,
                    "base_amount": base,
                    "royalty": royalty,
                    "filed_at": filed,
                },
            )
        else:
            yield (
                {
                    **common,
                    "amount": Decimal(0),
                    "paid_amount": Decimal(0),
                    "report_pending": True,
                    "state": _installment_state(False, effective, today),
                },
                period,
            )
