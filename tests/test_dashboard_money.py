"""Money on the dashboard, on a book driven through the services: contracted, collected,
outstanding, overdue by age, insured exposure, claims and equity, to the fen."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from licensing import services

from .factories import EnterpriseFactory, OfferFactory

D = Decimal
TODAY = "2026-05-11"  # a Monday; no due date below falls on a holiday


@pytest.fixture
def money_book(institution, staff, clock):
    """Five purchases, as of 2026-05-11:
    L1 100,000 lump sum due 2026-03-02, unpaid (70 days overdue);
    L2  50,000 lump sum due 2026-01-05, insured at 80%, defaulted, claim filed (126 days);
    L3  20,000 lump sum due 2026-04-27, 5,000 paid (14 days);
    L4 100,000 in 3 installments from 2027, 1,000 paid, then half of the rest converted to equity;
    L5  10,000 lump sum due 2026-05-20 (in 9 days)."""
    clock(TODAY)

    def bought(price, on, *, plan="lump_sum", first_due_months=0, policy=False, **offer):
        offer = OfferFactory(patent__owner=institution, price=D(price), first_due_months=first_due_months, **offer)
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        services.approve_trial(license_id=lic.pk, by=staff, start=on - dt.timedelta(days=180))
        if policy:
            services.register_policy(
                license_id=lic.pk,
                by=staff,
                insurer="PICC",
                policy_number="P-1",
                coverage_ratio=D("0.8"),
                starts_on=on - dt.timedelta(days=180),
                ends_on=dt.date(2030, 1, 1),
            )
        return services.purchase(license_id=lic.pk, plan=plan, by=staff, on=on)

    def pay(lic, amount, key):
        services.record_payment(
            license_id=lic.pk,
            amount=D(amount),
            paid_on=dt.date(2026, 5, 11),
            reference=key,
            idempotency_key=key,
            by=staff,
        )

    bought("100000", dt.date(2026, 3, 2))
    insured = bought("50000", dt.date(2026, 1, 5), policy=True)
    services.mark_overdue(license_id=insured.pk)
    services.declare_default(license_id=insured.pk, by=staff, reason="no payment")
    claim = services.file_claim(license_id=insured.pk, by=staff)
    pay(bought("20000", dt.date(2026, 4, 27)), "5000", "p3")
    equity = bought(
        "100000",
        dt.date(2026, 4, 1),
        plan="installments",
        first_due_months=12,
        equity_allowed=True,
        equity_max_share=D("0.5"),
    )
    pay(equity, "1000", "p4")
    conversion = services.propose_equity_conversion(license_id=equity.pk, share="0.5", valuation="1000000", by=staff)
    services.approve_equity_conversion(conversion_id=conversion.pk, by=staff)
    services.execute_equity_conversion(conversion_id=conversion.pk, by=staff)
    bought("10000", dt.date(2026, 4, 20), first_due_months=1)
    return {"claim": claim}


def board(client, **filters):
    response = client.get(reverse("admin:dashboard"), filters, headers={"accept-language": "en"})
    assert response.status_code == 200
    return response.context["board"]


def table(board, slug):
    return [list(row) for row in board.tables[slug].rows]


def test_money_outstanding_and_aging_to_the_fen(admin_client, money_book):
    figures = board(admin_client)

    assert table(figures, "money") == [
        ["Purchases contracted", 5, D("280000.00")],
        ["Free licenses taken", 0, None],
        ["Patents licensed (in the licenses taken)", 5, None],
        ["Trial fees contracted", None, D("0.00")],
        ["Collected", 2, D("6000.00")],
        ["Outstanding", None, D("224500.00")],  # 100,000 + 50,000 + 15,000 + 49,500 + 10,000
        ["Insured exposure (coverage × outstanding)", None, D("40000.00")],
    ]
    assert table(figures, "aging") == [
        ["1-30", 1, D("15000.00")],
        ["31-90", 1, D("100000.00")],
        ["90+", 1, D("50000.00")],
    ]
    assert table(figures, "upcoming") == [["Trials ending", 0, None], ["Installments due", 1, D("10000.00")]]
    assert table(figures, "collections") == [["2026-05", 2, D("6000.00")]]
    assert figures.headline["overdue"] == D("165000.00")


def test_claims_and_equity(admin_client, money_book):
    figures = board(admin_client)

    assert table(figures, "claims") == [
        ["Filed", 1, D("40000.00")],
        ["Open", 1, None],
        ["Paid by the insurer", 0, D("0.00")],
        ["Rejected", 0, None],
    ]
    assert table(figures, "equity") == [
        ["Executed (stakes taken)", 1, D("49500.00")],
        ["Pending approval or execution", 0, None],
    ]
    states = dict(table(figures, "pipeline"))
    assert states["Purchased"] == 4 and states["Claim filed"] == 1 and sum(states.values()) == 5


def test_a_paid_claim_leaves_the_outstanding_and_the_exposure(admin_client, staff, money_book):
    claim = money_book["claim"]
    services.approve_claim(claim_id=claim.pk, by=staff)
    services.record_claim_paid(claim_id=claim.pk, amount=D("40000.00"), by=staff)

    figures = board(admin_client)

    assert figures.headline["outstanding"] == D("174500.00")
    assert figures.headline["insured_exposure"] == D("0.00")
    assert table(figures, "claims")[2] == ["Paid by the insurer", 1, D("40000.00")]


def test_the_period_applies_to_flows_not_to_what_is_owed_today(admin_client, money_book):
    figures = board(admin_client, date_from="2026-04-01", date_to="2026-04-30")

    money = {row[0]: row[1:] for row in table(figures, "money")}
    assert money["Purchases contracted"] == [3, D("130000.00")]  # L3, L4, L5 bought in April
    assert money["Collected"] == [0, D("0.00")]  # both payments in May
    assert money["Outstanding"] == [None, D("224500.00")]  # as of today, whatever the period
    assert table(figures, "claims")[0] == ["Filed", 0, D("0.00")]  # filed in May
    assert table(figures, "equity")[0] == ["Executed (stakes taken)", 0, D("0.00")]
