"""Two conflicting operations on one license at once, on real PostgreSQL connections: they never
both apply and a recorded payment is never lost."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import translation
from django_fsm import ConcurrentTransition

from licensing import services
from licensing.models import License, Payment

from .conftest import tell_the_story_so_far
from .factories import EnterpriseFactory, OfferFactory, PatentFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
    pytest.mark.postgres,
    pytest.mark.slow,
]


def race(*calls):
    """Start all calls at the same instant, each on its own database connection."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            with translation.override("en"):  # activation is per thread
                outcomes[i] = call()
        except Exception as exc:  # the outcome is what we assert on
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def license_past_grace(offer, staff, enterprise, clock):
    clock("2026-01-31")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))
    clock("2027-11-15")  # first installment (2027-07-31) overdue for more than 90 days
    return services.mark_overdue(license_id=lic.pk)


@pytest.mark.parametrize("round_", range(8))
def test_default_and_payment_at_once_never_both_apply_nor_lose_the_payment(offer, staff, clock, round_):
    lic = license_past_grace(offer, staff, EnterpriseFactory(), clock)

    paid, defaulted = race(
        lambda: services.record_payment(
            license_id=lic.pk,
            amount=Decimal("33333.33"),
            paid_on=dt.date(2027, 11, 15),
            reference="RACE",
            idempotency_key=f"race-{round_}",
            by=staff,
        ),
        lambda: services.declare_default(license_id=lic.pk, by=staff),
    )

    lic.refresh_from_db()
    payments = list(Payment.objects.filter(license=lic))
    paid_on_schedule = sum(i.paid_amount for i in lic.installments.all())
    if isinstance(paid, Payment):
        # the payment came first: it cured the arrears, so the default was refused
        assert isinstance(defaulted, ValidationError), defaulted
        assert lic.state == License.State.PURCHASED
        assert [p.pk for p in payments] == [paid.pk]
    else:
        # the default came first: the payment was refused with a clear error, nothing half-written
        assert isinstance(paid, ValidationError) and "Defaulted" in paid.messages[0], paid
        assert isinstance(defaulted, License)
        assert lic.state == License.State.DEFAULTED
        assert payments == []
    assert paid_on_schedule == sum((p.amount for p in payments), Decimal("0"))


def test_same_payment_submitted_twice_at_once_is_recorded_once(offer, staff, clock):
    lic = license_past_grace(offer, staff, EnterpriseFactory(), clock)

    outcomes = race(
        *[
            lambda: services.record_payment(
                license_id=lic.pk,
                amount=Decimal("500.00"),
                paid_on=dt.date(2027, 11, 15),
                reference="DOUBLE",
                idempotency_key="double-click",
                by=staff,
            )
        ]
        * 2
    )

    assert all(isinstance(o, Payment) for o in outcomes), outcomes
    assert Payment.objects.count() == 1
    assert sum(i.paid_amount for i in lic.installments.order_by("pk")) == Decimal("500.00")


def test_two_applications_for_an_exclusive_patent_at_once_let_one_through(institution, staff):
    offer = OfferFactory(patent__owner=institution, license_type="exclusive")
    first, second = EnterpriseFactory(), EnterpriseFactory()

    outcomes = race(
        lambda: services.apply_for_trial(offer_id=offer.pk, enterprise=first),
        lambda: services.apply_for_trial(offer_id=offer.pk, enterprise=second),
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["License", "ValidationError"]
    assert License.objects.count() == 1


def test_two_smes_racing_for_exclusive_packages_sharing_a_patent_with_an_ordinary_license(institution):
    """Two exclusive packages share patent P; an ordinary license is live on another patent Q of
    the first package. The first package is closed by it, the second is open to one SME only:
    whichever of the two applications on it locks the shared patent first."""
    shared, ordinary_only, other = PatentFactory.create_batch(3, owner=institution)
    ordinary = OfferFactory(patent=ordinary_only, license_type="ordinary")
    services.apply_for_trial(offer_id=ordinary.pk, enterprise=EnterpriseFactory())
    closed = OfferFactory(patent=shared, license_type="exclusive")
    closed.patents.add(ordinary_only)
    open_ = OfferFactory(patent=other, license_type="exclusive")
    open_.patents.add(shared)
    first, second = EnterpriseFactory(), EnterpriseFactory()

    outcomes = race(
        lambda: services.apply_for_trial(offer_id=open_.pk, enterprise=first),
        lambda: services.apply_for_trial(offer_id=open_.pk, enterprise=second),
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["License", "ValidationError"]
    winner = License.objects.get(offer=open_)
    assert set(winner.patents.all()) == {shared, other}
    with pytest.raises(ValidationError, match="exclusiv"):  # the shared patent is now held
        services.apply_for_trial(offer_id=closed.pk, enterprise=EnterpriseFactory())


def test_stale_instance_cannot_overwrite_a_newer_state(offer, staff, enterprise):
    """The second guard: ConcurrentTransitionMixin refuses a save from a stale copy."""
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)
    stale = License.objects.get(pk=lic.pk)
    services.reject_application(license_id=lic.pk, by=staff, reason="Too late")

    stale.approve(dt.date(2026, 12, 1))
    with pytest.raises(ConcurrentTransition):
        stale.save()
    assert License.objects.get(pk=lic.pk).state == License.State.REJECTED


def test_two_sweeps_at_once_send_each_reminder_once(institution, staff, clock):
    from django.core import mail

    from licensing import tasks
    from licensing.models import Reminder

    clock("2026-03-02")
    offer = OfferFactory(patent__owner=institution)
    for _ in range(5):
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2))
    tell_the_story_so_far()  # the applications' and approvals' hand-offs went out when they happened
    clock("2026-08-26")  # 7 days before the trials end

    outcomes = race(tasks.sweep, tasks.sweep)

    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert len(mail.outbox) == 5
    assert len({m.to[0] for m in mail.outbox}) == 5
    assert Reminder.objects.filter(state="sent", kind=Reminder.Kind.TRIAL_ENDING).count() == 5


def _tables_locked(queries) -> list[str]:
    """The tables of the SELECT … FOR UPDATE statements, in the order they ran."""
    import re

    locked = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    return [re.search(r'FROM "(\w+)"', sql).group(1) for sql in locked]


def test_a_claim_is_locked_after_its_license(make_insured_default, staff):
    """Issue 21, point 4.7: one lock order (services/__init__.py). A service that started from the
    claim and one that started from the license once locked them in opposite orders."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lic = make_insured_default()
    claim = services.file_claim(license_id=lic.pk, by=staff, reason="default")
    with CaptureQueriesContext(connection) as queries:
        services.approve_claim(claim_id=claim.pk, by=staff)
    assert _tables_locked(queries)[:2] == ["licensing_license", "licensing_insuranceclaim"]


def test_a_payment_report_is_locked_after_its_license(offer, make_license, staff, clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    clock("2026-03-02")
    lic = make_license(offer, "purchased", start="2026-01-31")
    report = services.report_payment(
        license_id=lic.pk, amount="10.00", paid_on=dt.date(2026, 3, 2), reference="R-1", by=staff
    )
    with CaptureQueriesContext(connection) as queries:
        services.confirm_payment_report(report_id=report.pk, by=staff)
    assert _tables_locked(queries)[:2] == ["licensing_license", "licensing_paymentreport"]


def test_two_refunds_at_once_never_take_more_than_the_credit(trial_with_credit, staff):
    """Issue 21, point 5: 3,000.00 of credit, two refunds of 2,000.00 at the same instant."""
    from licensing.models import CreditMovement

    lic = trial_with_credit
    refund = {"license_id": lic.pk, "amount": "2000.00", "by": staff, "reason": "asked"}

    outcomes = race(
        lambda: services.refund_credit(reference="R-1", **refund),
        lambda: services.refund_credit(reference="R-2", **refund),
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["CreditMovement", "ValidationError"]
    assert License.objects.get(pk=lic.pk).credit == Decimal("1000.00")
    assert CreditMovement.objects.filter(kind="refunded").count() == 1


@pytest.mark.parametrize("round_", range(4))
def test_a_reversal_and_a_refund_of_the_credit_it_left_at_once_never_both_apply(trial_with_credit, staff, round_):
    """The payment left 3,000.00 of credit: reversed, the credit goes with it; refunded, the
    payment can no longer be reversed. At the same instant, one of them applies, never both."""
    from licensing.models import CreditMovement

    lic = trial_with_credit
    payment = lic.payments.get()
    outcomes = race(
        lambda: services.reverse_payment(payment_id=payment.pk, by=staff, reason="Bounced"),
        lambda: services.refund_credit(license_id=lic.pk, amount="2000.00", reference="R-1", by=staff, reason="x"),
    )

    assert sorted(type(o).__name__ for o in outcomes) in (
        ["CreditMovement", "ValidationError"],
        ["Payment", "ValidationError"],
    )
    lic.refresh_from_db()
    movements = CreditMovement.objects.filter(license=lic)
    assert lic.credit == sum(m.signed_amount for m in movements) >= 0
    assert not (movements.filter(kind="refunded").exists() and movements.filter(kind="reversed").exists())


def test_two_royalty_reports_filed_at_once_stay_within_the_total_cap(
    postgres_only, institution, staff, make_license, clock
):
    """Issue 21, points 2 and 5: the license lock serialises the filings, and the second reads the
    first's royalty against the cap."""
    clock("2026-01-01")
    terms = {"royalty_base": "net_sales", "royalty_rates": "10%", "reporting_period": "quarter", "report_due_days": 30}
    offer = OfferFactory(patent__owner=institution, price=Decimal("0"), royalty_cap_total=Decimal("10000"), **terms)
    lic = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum")
    q1, q2 = lic.royalty_reports.order_by("period_start")[:2]
    clock("2026-07-02")

    outcomes = race(
        lambda: services.file_royalty_report(report_id=q1.pk, base="80000.00", by=staff),
        lambda: services.file_royalty_report(report_id=q2.pk, base="80000.00", by=staff),
    )

    assert [type(o).__name__ for o in outcomes] == ["RoyaltyReport", "RoyaltyReport"]
    owed = sorted(r.royalty for r in lic.royalty_reports.filter(pk__in=[q1.pk, q2.pk]))
    assert owed == [Decimal("2000.00"), Decimal("8000.00")] and sum(owed) == Decimal("10000.00")


def test_contracts_issued_at_once_take_consecutive_numbers_and_a_failed_one_leaves_no_gap(
    institution, staff, clock, monkeypatch, settings, tmp_path
):
    """Eight contracts of one institution issued at the same instant, one of which fails while
    rendering: the seven others are numbered 0001..0007, none twice, none skipped."""
    from licensing.models import Contract
    from licensing.services import contracts as contract_service

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    clock("2026-01-31")
    licenses = []
    for _ in range(8):
        offer = OfferFactory(patent__owner=institution, price=Decimal("1000.00"), installment_count=0)
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
        licenses.append(services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 1, 31)))
    failing = licenses[3].pk
    render = contract_service.render_contract_pdf

    def render_or_fail(contract, version, reason):
        if contract.license_id == failing:
            raise RuntimeError("the renderer failed")
        return render(contract, version, reason)

    monkeypatch.setattr(contract_service, "render_contract_pdf", render_or_fail)
    outcomes = race(*(lambda lic=lic: services.issue_contract(license_id=lic.pk, by=staff) for lic in licenses))

    assert sum(isinstance(o, RuntimeError) for o in outcomes) == 1, outcomes
    prefix = institution.contract_prefix
    numbers = sorted(Contract.objects.values_list("number", flat=True))
    assert numbers == [f"{prefix}-2026-{n:04d}" for n in range(1, 8)], outcomes
    assert not Contract.objects.filter(license_id=failing).exists()


def test_payments_at_once_are_each_allocated_once_and_batches_at_once_pay_nothing_twice(institution, staff, clock):
    """Four payments into one license at the same instant: each is allocated, once, in its own
    transaction (the ledger adds up to what was paid); two payout batches prepared at the same
    instant: one holds everything owed, the other finds nothing left."""
    from django.db.models import Sum

    from licensing.models import Allocation, AllocationLine, Inventor, PayoutBatch

    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=Decimal("100000.00"), installment_count=4)
    inventor = Inventor.objects.create(institution=institution, name="Li Wei", college="Chemistry")
    services.set_inventor_shares(
        patent_id=offer.patent.pk, shares=[(inventor.pk, "1")], effective_from=dt.date(2026, 1, 1), by=staff
    )
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))
    clock("2026-08-03")

    def pay(n):
        return lambda: services.record_payment(
            license_id=lic.pk,
            amount="12345.67",
            paid_on=dt.date(2026, 8, 3),
            reference=f"RACE-{n}",
            idempotency_key=f"race-{n}",
            by=staff,
        )

    outcomes = race(*(pay(n) for n in range(4)))
    assert all(isinstance(o, Payment) for o in outcomes), outcomes
    assert Allocation.objects.filter(payment__license=lic).values("payment").distinct().count() == 4
    assert AllocationLine.objects.aggregate(total=Sum("amount"))["total"] == Decimal("49382.68")

    prepare = lambda: services.prepare_payout(  # noqa: E731
        institution_id=institution.pk, payee="inventors", up_to=dt.date(2026, 8, 3), by=staff
    )
    outcomes = race(prepare, prepare)
    assert sorted(type(o).__name__ for o in outcomes) == ["PayoutBatch", "ValidationError"], outcomes
    assert (
        PayoutBatch.objects.get().total
        == AllocationLine.objects.filter(party="inventor").aggregate(total=Sum("amount"))["total"]
    )
