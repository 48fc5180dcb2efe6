"""What a decision page states (issue 22, point 2): every fee part with its date, from the same
schedule the purchase writes. The deal is the issue's 先用后付 package."""

import datetime as dt
from decimal import Decimal as D

import pytest

from licensing import services
from licensing.models import Offer
from licensing.services.obligations import obligations

from .factories import OfferFactory, PatentFactory

PAY_LATER = {
    "license_type": "sole",
    "price": D("0"),
    "entry_fee": D("0"),
    "lump_sum_allowed": True,
    "installment_count": 0,
    "royalty_base": "net_sales",
    "royalty_rates": "2%",
    "reporting_period": "quarter",
    "report_due_days": 30,
    "deferred_months": 12,
    "deferred_until_revenue": True,
    "royalty_minimum": D("20000.00"),
    "trial_months": 6,
}


@pytest.fixture
def pay_later_offer(institution, staff):
    offer = OfferFactory(state="draft", patent__owner=institution, patent__expiry_date=dt.date(2039, 3, 1), **PAY_LATER)
    second = PatentFactory(owner=institution, expiry_date=dt.date(2040, 1, 1))
    services.set_package(offer_id=offer.pk, patents=[offer.patent, second], by=staff)
    offer.milestones.create(name="Eighteen months on", amount=D("50000.00"), due_months=18)
    offer.milestones.create(name="First commercial sale", amount=D("30000.00"), due_days=30)
    return services.publish_offer(offer_id=offer.pk, by=staff)


def test_the_pay_later_deal_states_every_obligation_with_its_date(pay_later_offer):
    owed = obligations(pay_later_offer, "lump_sum", dt.date(2026, 12, 7))
    assert owed.due_today == D("0.00")
    assert [(row.name, row.amount, row.due_date) for row in owed.schedule] == [
        ("Eighteen months on", D("50000.00"), dt.date(2028, 6, 7))
    ]
    assert owed.payments_start == dt.date(2027, 12, 7)
    first = owed.first_report
    assert (first.period_start, first.period_end, first.due) == (
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 31),
        dt.date(2027, 1, 30),
    )
    assert owed.first_year_minimum == D("1369.86")  # 25 of 365 days of 20,000
    example = owed.example
    assert (example.per_year, example.per_period, example.payable, example.meets_minimum) == (
        D("20000.00"),
        D("5000.00"),
        D("20000.00"),
        True,
    )
    assert [(m.name, m.amount, m.due_days) for m in owed.event_milestones] == [
        ("First commercial sale", D("30000.00"), 30)
    ]


def _text(response) -> str:
    """The page's words, tags dropped and spaces collapsed, as a reader sees them."""
    import re

    html = response.content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_buy_page_states_the_whole_deal_and_the_purchase_writes_its_dates(
    sme_client, pay_later_offer, make_license, clock
):
    """The issue's complaint: the buy page of this deal said "CNY 0.00", offered only "lump sum"
    and asked to confirm "you will pay" followed by nothing."""
    lic = make_license(pay_later_offer, "trial", start="2026-07-01", enterprise=sme_client.member.enterprise)
    clock("2026-12-07")
    page = _text(sme_client.get(f"/licenses/{lic.pk}/buy/"))  # one plan: nothing to choose, the terms at once

    assert "Royalty · Sole" in page
    assert "Due today CNY 0.00" in page
    assert "Eighteen months on 50,000.00 2028-06-07" in page
    assert "2%, on net sales; reported each quarter, reported and paid within 30 days" in page
    assert (
        "CNY 20,000.00 a year" in page and "For 2026, pro rata by days (2026-12-07 – 2026-12-31): CNY 1,369.86" in page
    )
    assert "First commercial sale: CNY 30,000.00, due 30 days after you reach it" in page
    assert "Nothing is payable before 2027-12-07. If you report revenue earlier" in page
    assert "The deferral holds payments back, not reports" in page
    assert "By 2027-01-30, for 2026-12-07 – 2026-12-31" in page
    assert (
        "Example: at CNY 1,000,000.00 of net sales a year you would pay CNY 20,000.00 a year "
        "(CNY 5,000.00 a quarter), which meets the minimum." in page
    )
    assert "By confirming you agree to these terms, to report on time and to pay what falls due." in page
    assert "Lump sum" not in page

    sme_client.post(f"/licenses/{lic.pk}/buy/", {"plan": "lump_sum", "seen_state": "trial", "confirmed": "on"})
    lic.refresh_from_db()
    assert lic.state == "purchased" and lic.payments_start.isoformat() == "2027-12-07"
    milestone = lic.installments.get(kind="milestone")
    first = lic.royalty_reports.order_by("period_start").first()
    assert (milestone.effective_due_date.isoformat(), first.due_date.isoformat()) == ("2028-06-07", "2027-01-30")


def test_the_buy_page_reads_in_chinese(sme_client, pay_later_offer, make_license, clock):
    lic = make_license(pay_later_offer, "trial", start="2026-07-01", enterprise=sme_client.member.enterprise)
    clock("2026-12-07")
    sme_client.cookies["django_language"] = "zh-hans"
    page = _text(sme_client.get(f"/licenses/{lic.pk}/buy/"))
    assert "今天应付 CNY 0.00" in page
    assert "2027-12-07 之前不付款" in page
    assert "确认购买即表示您同意上述条款" in page


def test_apply_return_and_equity_pages_show_the_same_summary(sme_client, pay_later_offer, make_license, clock, staff):
    clock("2026-12-07")
    apply = _text(sme_client.get(f"/patents/{pay_later_offer.pk}/apply/"))
    # a 6-month trial from today: the terms as if bought on its last day
    assert "Dates below assume you buy on 2027-06-07" in apply and "Eighteen months on 50,000.00 2028-12-07" in apply
    assert "Applying commits you to nothing but the trial" in apply

    lic = make_license(pay_later_offer, "trial", start="2026-07-01", enterprise=sme_client.member.enterprise)
    back = _text(sme_client.get(f"/licenses/{lic.pk}/return/"))
    assert "owe nothing more for them" in back and "Nothing is payable before 2027-12-07" in back


def test_a_fixed_price_in_installments_lists_each_with_its_date_and_the_total(
    sme_client, institution, make_license, clock
):
    offer = OfferFactory(patent__owner=institution, entry_fee=D("10000.00"), price=D("90000.00"))
    lic = make_license(offer, "trial", start="2026-07-01", enterprise=sme_client.member.enterprise)
    clock("2026-12-07")
    choose = _text(sme_client.get(f"/licenses/{lic.pk}/buy/"))
    assert "See what you commit to" in choose  # two plans: the choice first
    page = _text(sme_client.post(f"/licenses/{lic.pk}/buy/", {"plan": "installments", "seen_state": "trial"}))
    assert "Fixed price · Sole" not in page and "Fixed price · Ordinary" in page
    assert (
        "Due today CNY 10,000.00 ( Entry fee 10,000.00 )" in page
        or "Due today CNY 10,000.00 (Entry fee 10,000.00)" in page
    )
    # 12 months to the first, then every 6 months; 2027-12-07 and 2028-06-07 are working days
    assert "Installment 1 of 3 30,000.00 2027-12-07" in page
    assert "Installment 3 of 3 30,000.00 2028-12-07" in page
    assert "Fixed payments in all 100,000.00" in page
    assert "Royalty" not in page


SHAPES = {
    "free": {"price": D("0")},
    "fixed": {"price": D("90000.00")},
    "fixed by an entry fee alone": {"price": D("0"), "entry_fee": D("5000.00")},
    "fixed by a milestone alone": {"price": D("0"), "milestone": True},
    "royalty": {"price": D("0"), "royalty_base": "net_sales", "royalty_rates": "3%"},
    "royalty with an entry fee": {
        "price": D("0"),
        "entry_fee": D("5000.00"),
        "royalty_base": "net_sales",
        "royalty_rates": "3%",
    },
    "mixed": {"price": D("90000.00"), "royalty_base": "profit", "royalty_rates": "10%"},
}
EXPECTED = {
    "free": "free",
    "fixed": "fixed",
    "fixed by an entry fee alone": "fixed",
    "fixed by a milestone alone": "fixed",
    "royalty": "royalty",
    "royalty with an entry fee": "royalty",
    "mixed": "mixed",
}


def test_the_fee_shape_and_its_sql_twin_agree_on_every_shape(institution, make_license):
    """What pages, emails and exports call the plan: DealTerms.fee_shape and its SQL twin, for
    offers and for the licenses that copy them."""
    from licensing.models import License, Offer

    for name, terms in SHAPES.items():
        terms = dict(terms)
        milestone = terms.pop("milestone", False)
        offer = OfferFactory(patent__owner=institution, **terms)
        if milestone:
            offer.milestones.create(name="First sale", amount=D("10000.00"), due_days=30)
        lic = make_license(offer, "trial", start="2026-01-31")
        for model, pk in ((Offer, offer.pk), (License, lic.pk)):
            row = model.objects.get(pk=pk)
            sql = model.objects.filter(pk=pk).values_list(model.fee_shape_expression(), flat=True).get()
            assert (row.fee_shape, sql) == (EXPECTED[name], EXPECTED[name]), (name, model.__name__)


def test_the_license_export_names_the_fee_and_leaves_no_lump_sum_on_a_royalty(institution, make_license, staff):
    from licensing.selectors.reports import export_licenses

    royalty = OfferFactory(patent__owner=institution, **SHAPES["royalty"])
    fixed = OfferFactory(patent__owner=institution, **SHAPES["fixed"])
    bought = [make_license(o, "purchased", start="2026-01-31", plan="lump_sum") for o in (royalty, fixed)]

    class Everything:
        def licenses(self, qs, prefix=""):
            return qs

    rows = {r["pk"]: r for r in export_licenses(Everything()).values("pk", "fee", "fixed_price_plan")}
    assert (rows[bought[0].pk]["fee"], rows[bought[0].pk]["fixed_price_plan"]) == ("royalty", "")
    assert (rows[bought[1].pk]["fee"], rows[bought[1].pk]["fixed_price_plan"]) == ("fixed", "lump_sum")
    assert bought[0].plan_name == "Royalty" and bought[1].plan_name == "Fixed price · Lump sum"


def test_a_packages_page_is_titled_by_its_name_and_its_term_ends_with_the_last_patent(client, pay_later_offer):
    Offer.objects.filter(pk=pay_later_offer.pk).update(name="Graphene sensing package")

    page = client.get(f"/patents/{pay_later_offer.pk}/", headers={"accept-language": "en"}).content.decode()

    assert "<h1>Graphene sensing package</h1>" in page
    assert "The license runs until the last patent of the package expires." in page
    assert "The patent is in force until" not in page  # each patent's date is in the package's list
