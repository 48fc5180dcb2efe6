"""Revenue distribution (issue 24): every amount of income is allocated when it is applied, by the
policy in force on its day, across the license's patents and their inventors, exactly to the fen;
the ledger is append-only and a correction takes back exactly what became credit."""

import datetime as dt
import random
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import translation

from licensing import services
from licensing.domain import distribution as rules
from licensing.models import Allocation, AllocationLine, AuditEvent, Contract, Installment, Inventor, License

from .factories import EXAMPLE_POLICY, EnterpriseFactory, OfferFactory, PatentFactory


def lines_of(allocations) -> list[tuple]:
    rows = AllocationLine.objects.filter(allocation__in=allocations).order_by("patent_id", "party", "inventor_id", "id")
    return list(rows.values_list("patent__number", "party", "inventor__name", "college", "amount"))


def test_the_issue_example_in_the_domain_to_the_fen():
    split = rules.Split(D("0"), D("0"), D("0.10"), False, D("0.70"), D("0.15"), D("0"), D("0.15"))
    patents = [
        rules.PatentPart(
            1,
            D(1),
            D(0),
            [
                rules.InventorPart(11, "Chemistry", D("0.5")),
                rules.InventorPart(12, "Chemistry", D("0.3")),
                rules.InventorPart(13, "Physics", D("0.2")),
            ],
        ),
        rules.PatentPart(2, D(1), D(0), [rules.InventorPart(21, "Physics", D(1))]),
    ]
    lines = rules.distribute(D("100000.00"), patents, split)
    got = [(line.patent, line.party, line.inventor, line.college, line.amount) for line in lines]
    assert got == [
        (1, "service", None, "", D("5000.00")),
        (1, "inventor", 11, "", D("15750.00")),
        (1, "inventor", 12, "", D("9450.00")),
        (1, "inventor", 13, "", D("6300.00")),
        (1, "college", None, "Chemistry", D("5400.00")),
        (1, "college", None, "Physics", D("1350.00")),
        (1, "institution", None, "", D("6750.00")),
        (2, "service", None, "", D("5000.00")),
        (2, "inventor", 21, "", D("31500.00")),
        (2, "college", None, "Physics", D("6750.00")),
        (2, "institution", None, "", D("6750.00")),
    ]
    assert sum(line.amount for line in lines) == D("100000.00")


def test_each_deduction_in_its_order_vat_inside_the_amount_then_taxes_and_service_of_the_rest_then_costs():
    """10,600.00 with VAT at 6% inside it: VAT 600.00; of the 10,000.00 left, taxes 1% and the
    service 10%; then 500.00 of costs; the net 8,400.00 split 70/15/0/15."""
    split = rules.Split(D("0.06"), D("0.01"), D("0.10"), True, D("0.70"), D("0.15"), D("0"), D("0.15"))
    patent = rules.PatentPart(
        1, D(1), D("500.00"), [rules.InventorPart(11, "A", D("0.5")), rules.InventorPart(12, "B", D("0.5"))]
    )
    lines = rules.distribute(D("10600.00"), [patent], split)
    assert [(line.party, line.inventor, line.college, line.amount) for line in lines] == [
        ("vat", None, "", D("600.00")),
        ("tax", None, "", D("100.00")),
        ("service", None, "", D("1000.00")),
        ("costs", None, "", D("500.00")),
        ("inventor", 11, "", D("2940.00")),
        ("inventor", 12, "", D("2940.00")),
        ("college", None, "A", D("630.00")),
        ("college", None, "B", D("630.00")),
        ("institution", None, "", D("1260.00")),
    ]
    cheap = rules.PatentPart(1, D(1), D("9000.00"), [])  # costs above what is left: all of it, no net
    lines = rules.distribute(D("10600.00"), [cheap], split)
    assert [(line.party, line.amount) for line in lines][-1] == ("costs", D("8900.00"))
    no_costs = rules.Split(D("0.06"), D("0.01"), D("0.10"), False, D("0.70"), D("0.15"), D("0"), D("0.15"))
    unassigned = rules.distribute(D("10600.00"), [cheap], no_costs)
    assert [(line.party, line.inventor, line.amount) for line in unassigned][3:] == [
        ("inventor", None, D("6230.00")),  # inventors not recorded yet: one line without a name
        ("college", None, D("1335.00")),
        ("institution", None, D("1335.00")),
    ]


def test_taxes_and_service_never_take_more_than_there_is():
    """Rates that together take all of 0.01 each round up to it: the service gets what the taxes
    left (nothing), never a negative net."""
    split = rules.Split(None, D("0.5"), D("0.5"), False, D("0.5"), D("0"), D("0"), D("0.5"))
    lines = rules.distribute(D("0.01"), [rules.PatentPart(1, D(1), D(0), [])], split)
    assert [(line.party, line.amount) for line in lines] == [("tax", D("0.01"))]


def test_colleges_share_in_the_order_of_their_names_so_a_tied_fen_goes_to_the_later_name():
    inventors = [rules.InventorPart(1, "Physics", D("0.5")), rules.InventorPart(2, "Chemistry", D("0.5"))]
    split = rules.Split(None, D(0), D(0), False, D(0), D(1), D(0), D(0))
    lines = rules.distribute(D("0.03"), [rules.PatentPart(1, D(1), D(0), inventors)], split)
    assert [(line.college, line.amount) for line in lines] == [("Chemistry", D("0.01")), ("Physics", D("0.02"))]


def test_every_split_adds_up_exactly_to_the_fen_whatever_the_amounts_and_shares():
    """20,000 random amounts, weights, rates, costs and shares: the lines always add up to the
    amount, none is negative, and no deduction exceeds what it is taken from."""
    draw = random.Random(24)
    for _ in range(20_000):
        amount = D(draw.randint(1, 10**9)) / 100
        net = [D(draw.randint(0, 100)) for _part in range(4)]
        if not sum(net):
            net[3] = D(1)
        total = sum(net)
        parts = [(p / total).quantize(D("0.0001")) for p in net]
        parts[3] += 1 - sum(parts)
        if parts[3] < 0:
            continue
        split = rules.Split(
            draw.choice([None, D("0.06"), D("0.03"), D("0.1234")]),
            D(draw.randint(0, 3000)) / 10000,
            D(draw.randint(0, 5000)) / 10000,
            draw.random() < 0.5,
            *parts,
        )
        patents = []
        for number in range(draw.randint(1, 4)):
            count = draw.randint(0, 5)
            weights = [draw.randint(1, 50) for _i in range(count)]
            shares = [(D(w) / sum(weights)).quantize(D("0.0001")) for w in weights]
            if shares:
                shares[-1] += 1 - sum(shares)
            inventors = [
                rules.InventorPart(100 * number + i, draw.choice("ABC"), s) for i, s in enumerate(shares) if s > 0
            ]
            costs = D(draw.randint(0, 10**7)) / 100
            patents.append(rules.PatentPart(number, D(draw.randint(1, 300)) / 100, costs, inventors))
        lines = rules.distribute(amount, patents, split)
        assert sum(line.amount for line in lines) == amount
        assert all(line.amount > 0 for line in lines)
        for p in patents:
            recovered = sum(line.amount for line in lines if line.patent == p.patent and line.party == "costs")
            assert recovered <= p.costs_unrecovered


def test_a_reversal_takes_back_exactly_its_amount_in_proportion_and_never_below_zero():
    held = [
        (rules.Line(1, "inventor", D(0), 11), D("1575.00")),
        (rules.Line(1, "inventor", D(0), 12), D("945.00")),
        (rules.Line(1, "institution", D(0)), D("0.01")),
        (rules.Line(1, "college", D(0), college="X"), D("0.00")),
    ]
    back = rules.reverse(D("1000.00"), held)
    assert sum(line.amount for line in back) == D("-1000.00")
    # 1,000.00 of 2,520.01 held: 1575 x 1000 / 2520.01 = 624.997..., 945 x ... = 374.998...
    assert [(line.party, line.inventor, line.amount) for line in back] == [
        ("inventor", 11, D("-625.00")),
        ("inventor", 12, D("-375.00")),
    ]
    assert rules.reverse(D("2520.01"), held)[-1] == rules.Line(1, "institution", D("-0.01"))  # all of it, each line
    for beyond in (D("2520.02"), D("0"), D("-1.00")):  # more than is held, nothing, less than nothing
        # the whole message (a mutant that wrapped it in other words passed a search for it)
        with pytest.raises(ValueError, match=r"^a reversal takes back a positive amount, at most what is held$"):
            rules.reverse(beyond, held)


def test_income_of_nothing_is_refused_a_reversal_is_its_own_rule():
    patent = rules.PatentPart(1, D(1), D(0), [])
    split = rules.Split(None, D(0), D(0), False, D("0.5"), D(0), D(0), D("0.5"))
    for nothing in (D("0"), D("-0.01")):
        with pytest.raises(ValueError, match=r"^only a positive amount is distributed; a reversal is `reverse`$"):
            rules.distribute(nothing, [patent], split)
        with pytest.raises(ValueError, match=r"^only a positive value is distributed$"):  # a stake of nothing
            rules.distribute_equity(nothing, [patent], D("0.5"))


def test_a_stake_is_shared_across_the_patents_then_between_the_team_and_the_institution():
    """60,000.00 of shares on two patents weighted 2:1, the team's share 50%: 40,000.00 and
    20,000.00, each half to the inventors (by their shares) and half to the institution."""
    patents = [
        rules.PatentPart(
            1, D(2), D(0), [rules.InventorPart(11, "A", D("0.75")), rules.InventorPart(12, "A", D("0.25"))]
        ),
        rules.PatentPart(2, D(1), D(0), [rules.InventorPart(21, "B", D(1))]),
    ]
    lines = rules.distribute_equity(D("60000.00"), patents, D("0.5"))
    assert [(line.patent, line.party, line.inventor, line.amount) for line in lines] == [
        (1, "inventor", 11, D("15000.00")),
        (1, "inventor", 12, D("5000.00")),
        (1, "institution", None, D("20000.00")),
        (2, "inventor", 21, D("10000.00")),
        (2, "institution", None, D("10000.00")),
    ]
    everything = rules.distribute_equity(D("0.01"), patents[1:], D(1))  # all to the team: no institution line
    assert [(line.party, line.amount) for line in everything] == [("inventor", D("0.01"))]
    for nothing in (D("0"), D("-5.00")):
        with pytest.raises(ValueError, match="only a positive value is distributed"):
            rules.distribute_equity(nothing, patents, D("0.5"))


def test_exactly_half_meets_the_legal_floor_and_any_less_does_not():
    half, less = D("0.5"), D("0.4999")
    assert not rules.below_legal_floor(half, half)
    assert rules.below_legal_floor(less, half) and rules.below_legal_floor(half, less)


def pay(lic, amount, key, staff, on):
    return services.record_payment(
        license_id=lic.pk, amount=D(amount), paid_on=on, reference=f"ICBC-{key}", idempotency_key=key, by=staff
    )


def test_a_payment_is_allocated_in_its_own_transaction_as_the_issue_example_says(two_patent_license, staff):
    lic = two_patent_license
    first, second = sorted(lic.patents.all(), key=lambda p: p.pk)
    payment = pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))
    again = pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))  # the same form twice: none twice

    assert again == payment
    allocation = Allocation.objects.get(payment=payment)
    assert (allocation.amount, allocation.source, allocation.fee_kind, allocation.received_on, allocation.by) == (
        D("100000.00"),
        "payment",
        "purchase",
        dt.date(2026, 7, 31),
        staff,
    )
    assert allocation.policy.service_rate == D("0.10")
    assert lines_of([allocation]) == [
        (first.number, "college", None, "Chemistry", D("5400.00")),
        (first.number, "college", None, "Physics", D("1350.00")),
        (first.number, "institution", None, "", D("6750.00")),
        (first.number, "inventor", "Li Wei", "", D("15750.00")),
        (first.number, "inventor", "Wang Fang", "", D("9450.00")),
        (first.number, "inventor", "Zhang Min", "", D("6300.00")),
        (first.number, "service", None, "", D("5000.00")),
        (second.number, "college", None, "Physics", D("6750.00")),
        (second.number, "institution", None, "", D("6750.00")),
        (second.number, "inventor", "Chen Jie", "", D("31500.00")),
        (second.number, "service", None, "", D("5000.00")),
    ]
    assert AllocationLine.objects.aggregate(total=Sum("amount"))["total"] == D("100000.00")


def test_a_payment_over_several_installments_is_one_allocation_each_by_its_fee_kind(institution, staff, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, trial_fee=D("5000.00"), entry_fee=D("20000.00"), price=D("30000"))
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    clock("2026-07-31")
    services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)
    payment = pay(lic, "55000.00", "all", staff, dt.date(2026, 7, 31))

    kinds = list(Allocation.objects.filter(payment=payment).order_by("pk").values_list("fee_kind", "amount"))
    assert kinds == [("trial_fee", D("5000.00")), ("entry_fee", D("20000.00")), ("purchase", D("30000.00"))]
    # No policy: the law's default, half to the inventors (not recorded yet: kept unassigned) and
    # half to the institution, after VAT at 6% (no registered technology contract).
    lines = lines_of(Allocation.objects.filter(payment=payment, fee_kind="trial_fee"))
    assert lines == [
        (offer.patent.number, "institution", None, "", D("2358.49")),
        (offer.patent.number, "inventor", None, "", D("2358.49")),
        (offer.patent.number, "vat", None, "", D("283.02")),
    ]
    assert Allocation.objects.get(payment=payment, fee_kind="trial_fee").policy is None


def test_a_registered_technology_contract_deducts_no_vat(two_patent_license, institution, staff):
    lic = two_patent_license
    services.adopt_policy(
        institution=institution,
        by=staff,
        **{**EXAMPLE_POLICY, "effective_from": dt.date(2026, 7, 1), "vat_rate": D("0.06")},
    )
    Contract.objects.create(
        license=lic,
        institution=institution,
        year=2026,
        serial=1,
        number="T-2026-0001",
        registered_on=dt.date(2026, 7, 30),
    )
    payment = pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))
    allocation = Allocation.objects.get(payment=payment)
    assert allocation.vat_exempt and not allocation.lines.filter(party="vat").exists()
    assert lines_of([allocation])[0][4] == D("5400.00")  # as in the example, VAT-exempt


def test_a_royalty_corrected_down_after_payment_takes_back_exactly_what_became_credit(institution, staff, clock):
    clock("2026-01-01")
    terms = {"price": D("0"), "royalty_base": "net_sales", "royalty_rates": "5%", "reporting_period": "quarter"}
    offer = OfferFactory(patent__owner=institution, report_due_days=30, **terms)
    inventor = Inventor.objects.create(institution=institution, name="Li Wei", college="Chemistry")
    services.set_inventor_shares(
        patent_id=offer.patent.pk, shares=[(inventor.pk, "1")], effective_from=dt.date(2025, 1, 1), by=staff
    )
    services.adopt_policy(
        institution=institution, by=staff, **{**EXAMPLE_POLICY, "effective_from": dt.date(2025, 1, 1)}
    )
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2025, 7, 1))
    lic = services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 1, 1))
    q1 = lic.royalty_reports.get(period_start=dt.date(2026, 1, 1))
    clock("2026-04-10")
    services.file_royalty_report(report_id=q1.pk, base="100000.00", by=staff)  # 5,000.00
    pay(lic, "5000.00", "p1", staff, dt.date(2026, 4, 10))
    period = Installment.objects.get(pk=q1.installment_id)

    clock("2026-04-12")
    services.file_royalty_report(report_id=q1.pk, base="60000.00", by=staff)  # 3,000.00: 2,000.00 back as credit

    back = Allocation.objects.get(source="correction")
    assert (back.amount, back.installment_id, back.received_on, back.by) == (
        D("-2000.00"),
        period.pk,
        dt.date(2026, 4, 12),
        staff,
    )
    assert lines_of([back]) == [
        (offer.patent.number, "college", None, "Chemistry", D("-270.00")),
        (offer.patent.number, "institution", None, "", D("-270.00")),
        (offer.patent.number, "inventor", "Li Wei", "", D("-1260.00")),
        (offer.patent.number, "service", None, "", D("-200.00")),
    ]
    standing = AllocationLine.objects.filter(allocation__installment=period).aggregate(total=Sum("amount"))["total"]
    period.refresh_from_db()
    assert standing == period.paid_amount == D("3000.00")

    clock("2026-04-15")
    services.file_royalty_report(report_id=q1.pk, base="120000.00", by=staff)  # owes again: the credit pays 2,000.00
    again = Allocation.objects.get(source="credit")
    assert (again.amount, again.received_on) == (D("2000.00"), dt.date(2026, 4, 15))
    period.refresh_from_db()
    total = AllocationLine.objects.filter(allocation__installment=period).aggregate(total=Sum("amount"))["total"]
    assert total == period.paid_amount == D("5000.00")


def test_credit_is_income_only_once_applied(trial_with_credit, staff):
    """8,000.00 paid on a 5,000.00 fee: 5,000.00 is income, 3,000.00 credit is not until it is
    applied to the purchase; a refund of credit takes nothing back (it was never allocated)."""
    lic = trial_with_credit
    assert Allocation.objects.filter(license=lic).aggregate(total=Sum("amount"))["total"] == D("5000.00")
    services.refund_credit(license_id=lic.pk, amount="1000.00", reference="R-1", by=staff, reason="Asked")
    assert Allocation.objects.filter(license=lic).count() == 1
    services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))
    applied = Allocation.objects.get(license=lic, source="credit")
    assert (applied.amount, applied.fee_kind) == (D("2000.00"), "purchase")
    assert applied.by == staff  # who applied it (mutation run 11: the actor was not checked)


def test_costs_are_recovered_once_before_the_net_is_split(two_patent_license, institution, staff):
    lic = two_patent_license
    first = min(lic.patents.all(), key=lambda p: p.pk)
    services.record_patent_cost(
        patent_id=first.pk, kind="annual", amount="8000.00", incurred_on=dt.date(2026, 3, 1), by=staff
    )
    services.adopt_policy(
        institution=institution,
        by=staff,
        **{**EXAMPLE_POLICY, "effective_from": dt.date(2026, 7, 1), "deduct_costs": True},
    )
    services.record_payment(
        license_id=lic.pk, amount="30000.00", paid_on=dt.date(2026, 7, 31), reference="A", idempotency_key="a", by=staff
    )
    services.record_payment(
        license_id=lic.pk, amount="70000.00", paid_on=dt.date(2026, 7, 31), reference="B", idempotency_key="b", by=staff
    )

    costs = AllocationLine.objects.filter(party="costs").order_by("pk").values_list("patent_id", "amount")
    assert list(costs) == [(first.pk, D("8000.00"))]  # 15,000.00 - 1,500.00 service covers it the first time
    assert AllocationLine.objects.aggregate(total=Sum("amount"))["total"] == D("100000.00")


def test_equity_and_insurance_are_income_too(make_insured_default, institution, staff, clock):
    lic = make_insured_default()
    claim = services.file_claim(license_id=lic.pk, by=staff)
    services.approve_claim(claim_id=claim.pk, by=staff)
    services.record_claim_paid(claim_id=claim.pk, amount="72000.00", by=staff)
    allocation = Allocation.objects.get(claim=claim)
    assert (allocation.amount, allocation.source, allocation.fee_kind) == (D("72000.00"), "insurance", "insurance")
    assert allocation.lines.aggregate(total=Sum("amount"))["total"] == D("72000.00")


def test_an_executed_conversion_shares_the_stake_by_the_equity_rule(institution, make_license, staff, clock):
    offer = OfferFactory(patent__owner=institution, equity_allowed=True, equity_max_share=D("0.5"))
    inventor = Inventor.objects.create(institution=institution, name="Li Wei", college="Chemistry")
    services.set_inventor_shares(
        patent_id=offer.patent.pk, shares=[(inventor.pk, "1")], effective_from=dt.date(2025, 1, 1), by=staff
    )
    services.adopt_policy(
        institution=institution,
        by=staff,
        **{**EXAMPLE_POLICY, "effective_from": dt.date(2025, 1, 1), "equity_inventors_share": D("0.7")},
    )
    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")
    conversion = services.propose_equity_conversion(license_id=lic.pk, share="0.3", valuation="5000000", by=staff)
    services.approve_equity_conversion(conversion_id=conversion.pk, by=staff)
    services.execute_equity_conversion(conversion_id=conversion.pk, by=staff)

    allocation = Allocation.objects.get(conversion=conversion)
    assert (allocation.amount, allocation.source) == (D("30000.00"), "equity")
    assert lines_of([allocation]) == [
        (offer.patent.number, "institution", None, "", D("9000.00")),
        (offer.patent.number, "inventor", "Li Wei", "", D("21000.00")),
    ]


def test_a_policy_below_the_legal_floor_needs_the_institutions_approved_rule(institution, staff):
    low = {**EXAMPLE_POLICY, "inventors_share": D("0.40"), "institution_share": D("0.45")}
    with pytest.raises(ValidationError) as refused:
        services.adopt_policy(institution=institution, by=staff, **low)
    assert "at least half of the net income" in str(refused.value.message_dict["inventors_share"])
    with pytest.raises(ValidationError, match="approved rule"):
        services.adopt_policy(
            institution=institution, by=staff, **{**EXAMPLE_POLICY, "equity_inventors_share": D("0.3")}
        )
    with pytest.raises(ValidationError, match="exactly 100%"):
        services.adopt_policy(institution=institution, by=staff, **{**EXAMPLE_POLICY, "institution_share": D("0.16")})

    policy = services.adopt_policy(
        institution=institution, by=staff, own_rule_approved=True, rule_document="校发〔2024〕12号", **low
    )
    assert policy.pk and AuditEvent.objects.filter(object_id=policy.pk, action="created").exists()


def test_shares_add_up_to_exactly_100_percent_and_a_change_applies_from_its_day_on(
    two_patent_license, institution, staff, clock
):
    lic = two_patent_license
    first = min(lic.patents.all(), key=lambda p: p.pk)
    li_wei, wang_fang = Inventor.objects.filter(name__in=["Li Wei", "Wang Fang"]).order_by("name")
    with pytest.raises(ValidationError, match="exactly 100%"):
        services.set_inventor_shares(
            patent_id=first.pk,
            shares=[(li_wei.pk, "0.6"), (wang_fang.pk, "0.3")],
            effective_from=dt.date(2026, 8, 1),
            by=staff,
        )
    other = Inventor.objects.create(institution=PatentFactory().owner, name="Elsewhere", college="X")
    with pytest.raises(ValidationError, match="patent owner's inventors"):
        services.set_inventor_shares(
            patent_id=first.pk,
            shares=[(li_wei.pk, "0.5"), (other.pk, "0.5")],
            effective_from=dt.date(2026, 8, 1),
            by=staff,
        )
    pay(lic, "50000.00", "half", staff, dt.date(2026, 7, 31))
    with pytest.raises(ValidationError, match="already allocated"):
        services.set_inventor_shares(
            patent_id=first.pk, shares=[(li_wei.pk, "1")], effective_from=dt.date(2026, 7, 31), by=staff
        )

    services.set_inventor_shares(
        patent_id=first.pk,
        shares=[(li_wei.pk, "0.5"), (wang_fang.pk, "0.5")],
        effective_from=dt.date(2026, 8, 1),
        by=staff,
        reason="Zhang Min left the team",
    )
    events = AuditEvent.objects.filter(content_type__model="inventorshareset", action="created").order_by("pk")
    assert [e.changes["summary"][1] for e in events if e.changes["patent"][1] == first.pk] == [
        "Li Wei 50.00%, Wang Fang 30.00%, Zhang Min 20.00%",
        "Li Wei 50.00%, Wang Fang 50.00%",
    ]
    last = events.last()
    assert last.why == "Zhang Min left the team" and last.by == staff
    assert ("shares", "—", "Li Wei 50.00%, Wang Fang 50.00%") in last.readable_changes()
    clock("2026-08-03")
    pay(lic, "50000.00", "rest", staff, dt.date(2026, 8, 3))
    by_day = (
        AllocationLine.objects.filter(patent=first, party="inventor", inventor__name="Wang Fang")
        .order_by("received_on")
        .values_list("received_on", "amount")
    )
    assert list(by_day) == [(dt.date(2026, 7, 31), D("4725.00")), (dt.date(2026, 8, 3), D("7875.00"))]


def test_the_ledger_is_never_edited_only_appended(two_patent_license, staff):
    lic = two_patent_license
    pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))
    assert License.objects.get(pk=lic.pk).state == "paid_up"
    assert Allocation.objects.count() == 1 and AllocationLine.objects.count() == 11


def ledger() -> list[tuple]:
    rows = AllocationLine.objects.order_by(
        "allocation__payment_id", "allocation__installment_id", "patent_id", "party", "inventor_id", "college"
    )
    return list(
        rows.values_list(
            "allocation__payment_id",
            "allocation__installment_id",
            "allocation__received_on",
            "allocation__source",
            "patent_id",
            "party",
            "inventor_id",
            "college",
            "amount",
        )
    )


def test_the_backfill_allocates_a_book_recorded_before_the_ledger_as_the_services_would(
    institution, staff, clock, make_insured_default
):
    """A book whose payments (over several installments), insurance compensation and policy
    change were recorded live; its ledger emptied as if it had never existed; the backfill
    writes the same allocations, and a second run writes nothing."""
    from django.core.management import call_command

    services.adopt_policy(institution=institution, by=staff, **EXAMPLE_POLICY)
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, trial_fee=D("5000.00"), price=D("90000.00"))
    inventor = Inventor.objects.create(institution=institution, name="Li Wei", college="Chemistry")
    services.set_inventor_shares(
        patent_id=offer.patent.pk, shares=[(inventor.pk, "1")], effective_from=dt.date(2025, 1, 1), by=staff
    )
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    clock("2026-07-31")
    services.purchase(license_id=lic.pk, plan="installments", by=staff)
    pay(lic, "20000.00", "a", staff, dt.date(2026, 7, 31))
    services.adopt_policy(
        institution=institution,
        by=staff,
        **{**EXAMPLE_POLICY, "effective_from": dt.date(2026, 8, 1), "service_rate": D("0.2")},
    )
    clock("2026-08-10")
    pay(lic, "31000.00", "b", staff, dt.date(2026, 8, 10))
    insured = make_insured_default()
    claim = services.file_claim(license_id=insured.pk, by=staff)
    services.approve_claim(claim_id=claim.pk, by=staff)
    services.record_claim_paid(claim_id=claim.pk, amount="72000.00", by=staff)
    live = ledger()
    assert len({row[0] for row in live}) == 3  # two payments and a claim

    AllocationLine.objects.all().delete()
    Allocation.objects.all().delete()
    call_command("allocate_book", batch=1)
    assert ledger() == live
    call_command("allocate_book")
    assert ledger() == live


def test_weights_set_on_the_license_share_its_income_among_its_patents_from_then_on(two_patent_license, staff):
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.urls import reverse

    from licensing.roles import TTO_STAFF_GROUP

    lic = two_patent_license
    first, second = sorted(lic.patents.all(), key=lambda p: p.pk)
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    tto = Client()
    tto.force_login(staff)
    url = reverse("admin:licensing_license_act", args=[lic.pk, "set_patent_weights"])
    refused = tto.post(url, {f"weight_{first.pk}": "0", f"weight_{second.pk}": "1", "reason": "Core patent"})
    assert refused.status_code == 200
    done = tto.post(url, {f"weight_{first.pk}": "3", f"weight_{second.pk}": "1", "reason": "The core patent"})
    assert done.status_code == 302
    event = AuditEvent.objects.get(content_type__model="licensepatent", changes__has_key="weight")
    assert (event.changes["weight"], event.why, event.by, event.license_id) == (
        ["1.00", "3.00"],
        "The core patent",
        staff,
        lic.pk,
    )  # on the license's trail; the second patent's weight did not change: no event

    payment = pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))
    gross = dict(
        AllocationLine.objects.filter(allocation__payment=payment)
        .values_list("patent_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    assert gross == {first.pk: D("75000.00"), second.pk: D("25000.00")}
    with translation.override("en"), pytest.raises(ValidationError, match="each of the license's patents"):
        services.set_patent_weights(license_id=lic.pk, weights={first.pk: "1"}, by=staff, reason="x")
