"""The bench book: a large synthetic book bulk-inserted for benchmarks (seed_demo --licenses N).
It bypasses the services for speed and writes no audit rows; every row respects the model's
invariants, and every state set it reads is the model's."""

import datetime as dt
import random
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from ..domain import clock, royalties, workdays
from ..domain.money import add_months, split_evenly
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
)
from .identifiers import make_patent_number, make_uscc

# -- large synthetic book for benchmarks --------------------------------------------------------

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


def _bulk_terms(shape: str, rng: random.Random) -> dict:
    if shape == "free":
        return {"price": Decimal(0), "installment_count": 0}
    if shape == "royalty":
        return {"price": Decimal(0), "installment_count": 0, **BULK_ROYALTY}
    price = Decimal(rng.choice([60000, 120000, 480000]))
    return {"price": price, "installment_count": INSTALLMENTS_PER_PURCHASE, "installment_interval_months": 1}


def _bulk_state(shape: str, state: str) -> str:
    if shape == "free" and state in OWING_STATES:
        return S.PAID_UP
    if shape == "royalty" and state == S.PAID_UP:
        return S.PURCHASED
    return state


def seed_bulk(licenses: int, progress=None, batch: int = 2000, seed: int = 7) -> dict:
    """Bulk-insert a synthetic book: `licenses` licenses, ~14 installments each when purchased.

    It bypasses the services for speed (the book is for benchmarks), so it writes no audit rows;
    every row respects the model's invariants (amounts sum to the price, states are reachable).
    """
    rng = random.Random(seed)
    today = clock.today()
    tag = f"{clock.wall_clock():%H%M%S}{rng.randrange(1000):03d}"
    institutions = [
        Institution.objects.get_or_create(name=f"Bench University {i}", defaults={"kind": "university"})[0]
        for i in range(5)
    ]
    n_patents, n_enterprises = max(10, licenses // 50), max(10, licenses // 20)
    base_serial = 5_000_000 + rng.randrange(1_000_000)
    patents = Patent.objects.bulk_create(
        Patent(
            number=make_patent_number(2020, (base_serial + i) % 10_000_000),
            title=f"Bench patent {tag}-{i}",
            ipc_class=rng.choice("ABCDEFGH") + "01B 1/00",
            owner=institutions[i % 5],
            patent_type="invention",
            filing_date=dt.date(2020, 1, 1),
            expiry_date=dt.date(2040, 1, 1),
        )
        for i in range(n_patents)
    )
    # Fee shapes, one per offer: a few royalty and fixed-price offers, the rest free (each shape
    # has at least one); each license picks its shape by the national mix (BULK_FEE_SHAPES).
    shapes = ["royalty"] * max(1, round(0.07 * n_patents)) + ["fixed"] * max(1, round(0.39 * n_patents))
    shapes += ["free"] * (n_patents - len(shapes))
    offers = Offer.objects.bulk_create(
        Offer(patent=p, state=Offer.State.PUBLISHED, trial_months=6, **_bulk_terms(shape, rng))
        for p, shape in zip(patents, shapes, strict=True)
    )
    by_shape = {shape: [o for o, s in zip(offers, shapes, strict=True) if s == shape] for shape in set(shapes)}
    shape_names, shape_weights = zip(*BULK_FEE_SHAPES, strict=True)
    # Packages: each offer has its lead patent and 0-3 more (on average 2.4 patents per license,
    # as in China's recorded contracts), patents of the same institution that no other offer holds.
    extra_counts = [rng.choice([0, 1, 1, 2, 3]) for _ in offers]
    extras = Patent.objects.bulk_create(
        Patent(
            number=make_patent_number(2021, (base_serial + n_patents + i) % 10_000_000),
            title=f"Bench patent {tag}-x{i}",
            ipc_class=rng.choice("ABCDEFGH") + "01B 1/00",
            owner=institutions[0],  # reassigned below to the lead's institution
            patent_type="invention",
            filing_date=dt.date(2021, 1, 1),
            expiry_date=dt.date(2041, 1, 1),
        )
        for i in range(sum(extra_counts))
    )
    package: dict[int, list[Patent]] = {}
    pool = iter(extras)
    for offer, count in zip(offers, extra_counts, strict=True):
        package[offer.pk] = [offer.patent, *(next(pool) for _ in range(count))]
        for patent in package[offer.pk][1:]:
            patent.owner_id = offer.patent.owner_id
    Patent.objects.bulk_update(extras, ["owner"], batch_size=5000)
    OfferPatent.objects.bulk_create(
        (OfferPatent(offer=offer, patent=patent) for offer in offers for patent in package[offer.pk]),
        batch_size=5000,
    )
    classes = ["micro", "small", "medium", "large"]
    enterprises = Enterprise.objects.bulk_create(
        Enterprise(
            name=f"Bench SME {tag}-{i}",
            uscc=make_uscc(rng.randrange(10**8, 10**9), "310115"),
            industry="industry",
            industry_section="C",
            employees=10,
            annual_revenue=Decimal(100),
            size_class=classes[i % 4],
        )
        for i in range(n_enterprises)
    )
    states, weights = zip(*BULK_STATES, strict=True)
    done = 0
    while done < licenses:
        size = min(batch, licenses - done)
        with transaction.atomic():
            rows = []
            for _ in range(size):
                shape = rng.choices(shape_names, shape_weights)[0]
                offer = rng.choice(by_shape[shape])
                state = _bulk_state(shape, rng.choices(states, weights)[0])
                # A book the hourly sweep agrees with: running trials have not ended yet.
                start = today - dt.timedelta(
                    days=rng.randrange(0, 170) if state == S.TRIAL else rng.randrange(200, 900)
                )
                purchased = state in License.AFTER_PURCHASE_STATES
                trial_end = add_months(start, 6)
                # As the transitions date it: the purchase, the last day, or a day during the trial.
                ended_on = {
                    S.RETURNED: start + dt.timedelta(days=rng.randrange(1, 180)),
                    S.TERMINATED: start + dt.timedelta(days=rng.randrange(1, 180)),
                    S.EXPIRED: workdays.effective_date(trial_end),
                }.get(state, trial_end if purchased else None)
                rows.append(
                    License(
                        offer=offer,
                        enterprise=rng.choice(enterprises),
                        state=state,
                        **{
                            **{name: getattr(offer, name) for name in DealTerms.term_names()},
                            "term_end": max(patent.expiry_date for patent in package[offer.pk]),
                        },
                        trial_start=None if state in License.NO_TRIAL_STATES else start,
                        trial_end=None if state in License.NO_TRIAL_STATES else trial_end,
                        trial_end_effective=None
                        if state in License.NO_TRIAL_STATES
                        else workdays.effective_date(trial_end),
                        trial_ended_on=ended_on,
                        plan=(License.Plan.INSTALLMENTS if shape == "fixed" else License.Plan.LUMP_SUM)
                        if purchased
                        else "",
                        purchased_on=trial_end if purchased else None,
                        takes_effect_on=trial_end if purchased else None,
                    )
                )
            created = License.objects.bulk_create(rows)
            LicensePatent.objects.bulk_create(
                (LicensePatent(license=lic, patent=patent) for lic in created for patent in package[lic.offer_id]),
                batch_size=5000,
            )
            bought = [lic for lic in created if lic.purchased_on]
            fixed = [inst for lic in bought if lic.price for inst in _bulk_schedule(lic, today)]
            cured: set[int] = set()
            periods = [pair for lic in bought if lic.has_royalty for pair in _bulk_periods(lic, today, cured)]
            schedules = [*fixed, *(inst for inst, _report in periods)]
            Installment.objects.bulk_create(schedules, batch_size=5000)
            for inst, report in periods:
                report.installment = inst  # saved above, so it has its id
            RoyaltyReport.objects.bulk_create((report for _inst, report in periods), batch_size=5000)
            License.objects.filter(pk__in=cured).update(state=S.PURCHASED)
            _bulk_money(created, schedules, today)
        done += size
        if progress:
            progress(size)
    if connection.vendor == "postgresql":
        # Fresh statistics, as after any bulk load: without them the planner picks plans that
        # take seconds instead of milliseconds on the license list.
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE licensing_license, licensing_installment, licensing_enterprise, licensing_patent, "
                "licensing_payment, licensing_insurancepolicy, licensing_insuranceclaim, licensing_offerpatent, "
                "licensing_licensepatent, licensing_royaltyreport"
            )
    return {"licenses": licenses, "patents": n_patents + len(extras), "enterprises": n_enterprises}


def _bulk_money(licenses: list[License], schedules: list[Installment], today: dt.date) -> None:
    """What the services would have written around the schedules: a payment for each paid
    installment, on its due date; a policy on every fifth purchase and on every claimed license;
    a claim, filed at default, for those in claim_filed (open) and compensated (paid)."""
    Payment.objects.bulk_create(
        (
            Payment(
                license_id=inst.license_id,
                amount=inst.paid_amount,
                paid_on=min(inst.effective_due_date, today),
                reference=f"BULK-{inst.license_id}-{inst.sequence}",
                idempotency_key=f"bulk-{inst.license_id}-{inst.sequence}",
            )
            for inst in schedules
            if inst.paid_amount
        ),
        batch_size=5000,
    )
    claimed = {S.CLAIM_FILED: InsuranceClaim.State.FILED, S.COMPENSATED: InsuranceClaim.State.PAID}
    owing = [lic for lic in licenses if lic.purchased_on and not lic.is_free]  # a free license has nothing to insure
    insured = [lic for lic in owing if lic.pk % 5 == 0 or lic.state in claimed]
    policies = InsurancePolicy.objects.bulk_create(
        InsurancePolicy(
            license=lic,
            insurer="Bench Insurance Co.",
            policy_number=f"BENCH-{lic.pk}",
            coverage_ratio=Decimal("0.8"),
            starts_on=lic.trial_start,
            ends_on=add_months(lic.trial_start, 60),
        )
        for lic in insured
    )
    unpaid = {}
    for inst in schedules:
        unpaid[inst.license_id] = unpaid.get(inst.license_id, Decimal(0)) + inst.amount - inst.paid_amount
    InsuranceClaim.objects.bulk_create(
        InsuranceClaim(
            license=policy.license,
            policy=policy,
            state=claimed[policy.license.state],
            outstanding_at_filing=unpaid[policy.license.pk],
            claimed_amount=InsuranceClaim.amount_for(policy, unpaid[policy.license.pk]),
            paid_amount=InsuranceClaim.amount_for(policy, unpaid[policy.license.pk])
            if policy.license.state == S.COMPENSATED
            else None,
            filed_on=policy.license.purchased_on + dt.timedelta(days=120),
        )
        for policy in policies
        if policy.license.state in claimed
    )


def _installment_state(paid: bool, effective_due: dt.date, today: dt.date) -> str:
    """As the services and the sweep leave an installment: paid, overdue after its effective due
    date (Installment.is_overdue_on), or due."""
    if paid:
        return Installment.State.PAID
    return Installment.State.OVERDUE if effective_due < today else Installment.State.DUE


def _bulk_schedule(lic: License, today: dt.date):
    """Paid up: all paid. Purchased: everything due so far paid. In arrears: unpaid since a day
    within the last 60 (inside the grace period). Defaulted and later: unpaid since long ago."""
    paid_until = {
        S.PAID_UP: dt.date.max,
        S.PURCHASED: today,
        S.IN_ARREARS: today - dt.timedelta(days=1 + lic.pk % 60),
    }.get(lic.state, lic.purchased_on)
    for n, amount in enumerate(split_evenly(lic.price, INSTALLMENTS_PER_PURCHASE), start=1):
        due = add_months(lic.purchased_on, n - 1)
        paid = due < paid_until
        yield Installment(
            license=lic,
            kind=Installment.Kind.PURCHASE,
            sequence=n,
            amount=amount,
            due_date=due,
            effective_due_date=workdays.effective_date(due),
            paid_amount=amount if paid else Decimal("0"),
            state=_installment_state(paid, workdays.effective_date(due), today),
        )


def _bulk_periods(lic: License, today: dt.date, cured: set[int]):
    """A royalty license's periods, as the services leave them: reported, accepted and paid while
    it pays; in arrears, the latest report that fell due (within the grace days) not filed;
    defaulted and later, nothing filed since the purchase. Sales rise quarter by quarter. A
    license drawn in arrears with no report late enough for it is added to `cured`."""
    assert lic.purchased_on and lic.term_end
    spans = royalties.periods(lic.purchased_on, lic.term_end, royalties.PERIOD_MONTHS[lic.reporting_period])
    fell_due = [end + dt.timedelta(days=lic.report_due_days) for _start, end in spans]
    fell_due = [due for due in fell_due if workdays.effective_date(due) < today]
    reported_until = {S.PURCHASED: today}.get(lic.state, lic.purchased_on)
    if lic.state == S.IN_ARREARS:  # the latest report that fell due is missing, inside the grace days
        if fell_due and (today - fell_due[-1]).days < lic.grace_days - 5:
            reported_until = fell_due[-1]
        else:
            cured.add(lic.pk)
            reported_until = today
    tiers = royalties.parse_tiers(lic.royalty_rates)
    year_base: dict[int, Decimal] = {}
    for n, (start, end) in enumerate(spans, start=1):
        due = end + dt.timedelta(days=lic.report_due_days)
        effective = workdays.effective_date(due)
        period = {"license": lic, "period_start": start, "period_end": end, "due_date": due}
        common = {
            "license": lic,
            "kind": Installment.Kind.ROYALTY,
            "sequence": n,
            "due_date": due,
            "effective_due_date": effective,
        }
        if due < reported_until:
            base = Decimal(400_000 * n + 10_000 * (lic.pk % 7))
            earlier = year_base.get(start.year, Decimal(0))
            royalty = royalties.royalty_on(base, tiers, earlier=earlier)
            year_base[start.year] = earlier + base
            filed = timezone.make_aware(dt.datetime.combine(due - dt.timedelta(days=5), dt.time(10)))
            yield (
                Installment(**common, amount=royalty, paid_amount=royalty, state=Installment.State.PAID),
                RoyaltyReport(
                    **period, state=RoyaltyReport.State.ACCEPTED, base_amount=base, royalty=royalty, filed_at=filed
                ),
            )
        else:
            yield (
                Installment(
                    **common,
                    amount=Decimal(0),
                    report_pending=True,
                    state=_installment_state(False, effective, today),
                ),
                RoyaltyReport(**period),
            )
