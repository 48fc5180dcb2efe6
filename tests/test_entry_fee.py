"""Entry fees (入门费, issue 14): due on the day of the purchase, paid first, chased like any
installment; a license with only an entry fee is not free."""

import datetime as dt
from decimal import Decimal

from licensing import services
from licensing.models import Installment, License

from .factories import OfferFactory


def test_the_entry_fee_falls_due_on_the_purchase_and_is_paid_first(institution, staff, make_license, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, entry_fee=Decimal("20000.00"), price=Decimal("90000.00"))
    lic = make_license(offer, "trial")

    lic = services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))

    fee = lic.installments.get(kind=Installment.Kind.ENTRY_FEE)
    assert (fee.amount, fee.due_date, fee.sequence) == (Decimal("20000.00"), dt.date(2026, 7, 31), 1)
    purchase = lic.installments.filter(kind=Installment.Kind.PURCHASE)
    assert sum(i.amount for i in purchase) == Decimal("90000.00") and purchase.count() == 3
    clock("2026-08-03")
    services.record_payment(
        license_id=lic.pk,
        amount=Decimal("25000.00"),
        paid_on=dt.date(2026, 8, 3),
        reference="ICBC-E",
        idempotency_key="entry",
        by=staff,
    )
    fee.refresh_from_db()
    assert fee.state == Installment.State.PAID
    assert purchase.order_by("sequence").first().paid_amount == Decimal("5000.00")


def test_an_unpaid_entry_fee_puts_the_license_in_arrears(institution, staff, make_license, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, entry_fee=Decimal("20000.00"))
    lic = make_license(offer, "purchased", start="2026-01-31")  # bought 2026-07-31, first installment a year on

    clock("2026-08-04")
    lic = services.mark_overdue(license_id=lic.pk)

    assert lic.state == License.State.IN_ARREARS
    assert lic.installments.get(kind=Installment.Kind.ENTRY_FEE).state == Installment.State.OVERDUE


def test_a_license_with_only_an_entry_fee_is_not_free(institution, staff, make_license, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, entry_fee=Decimal("8000.00"), price=Decimal("0"))
    lic = make_license(offer, "trial")
    assert not lic.is_free

    lic = services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 7, 31))

    assert lic.state == License.State.PURCHASED and lic.outstanding == Decimal("8000.00")
    assert [i.kind for i in lic.installments.all()] == [Installment.Kind.ENTRY_FEE]


def test_the_offer_page_and_the_schedule_preview_show_the_entry_fee(sme_client, institution, make_license, clock):
    clock("2026-03-02")
    offer = OfferFactory(patent__owner=institution, entry_fee=Decimal("20000.00"))
    page = sme_client.get(f"/patents/{offer.pk}/", headers={"accept-language": "en"}).content.decode()
    assert "entry fee of CNY 20,000.00" in page

    lic = make_license(offer, "trial", enterprise=sme_client.member.enterprise, start="2026-03-02")
    preview = sme_client.post(
        f"/licenses/{lic.pk}/buy/", {"plan": "lump_sum", "seen_state": "trial"}, headers={"accept-language": "en"}
    ).content.decode()
    assert "Entry fee" in preview and "20,000.00" in preview


def test_an_entry_fee_due_the_same_day_as_the_first_installment_is_paid_first(institution, staff, make_license, clock):
    """Whatever order the rows were written in: here the entry fee is written after the schedule."""
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=Decimal("90000.00"), first_due_months=0)
    lic = make_license(offer, "trial")
    lic = services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))
    Installment.objects.create(
        license=lic,
        kind=Installment.Kind.ENTRY_FEE,
        sequence=1,
        amount=Decimal("20000.00"),
        due_date=dt.date(2026, 7, 31),
        effective_due_date=dt.date(2026, 7, 31),
    )
    clock("2026-07-31")

    services.record_payment(
        license_id=lic.pk,
        amount=Decimal("20000.00"),
        paid_on=dt.date(2026, 7, 31),
        reference="ICBC-SAME-DAY",
        idempotency_key="same-day",
        by=staff,
    )

    paid = {i.kind: i.paid_amount for i in lic.installments.filter(due_date=dt.date(2026, 7, 31))}
    assert paid == {Installment.Kind.ENTRY_FEE: Decimal("20000.00"), Installment.Kind.PURCHASE: Decimal("0.00")}
