"""Milestone payments (issue 14, part 1): named events each with an amount that falls due some
days after the SME declares, or the TTO records, the event reached."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import Installment, License

from .factories import OfferFactory


@pytest.fixture
def milestone_offer(institution):
    offer = OfferFactory(patent__owner=institution, price=Decimal("0"), entry_fee=Decimal("0"))
    offer.milestones.create(name="First commercial sale", amount=Decimal("50000.00"), due_days=30)
    offer.milestones.create(name="Start of production", amount=Decimal("80000.00"), due_days=60)
    return offer


def test_a_license_copies_its_offers_milestones(milestone_offer, make_license):
    lic = make_license(milestone_offer, "applied")
    milestone_offer.milestones.update(amount=Decimal("1.00"))  # later changes of the offer do not count

    assert [(m.name, m.amount) for m in lic.milestones.all()] == [
        ("First commercial sale", Decimal("50000.00")),
        ("Start of production", Decimal("80000.00")),
    ]


def test_a_milestone_reached_falls_due_its_days_later_and_a_paid_up_license_owes_again(
    milestone_offer, make_license, staff, clock
):
    clock("2026-01-31")
    lic = make_license(milestone_offer, "purchased", plan="lump_sum")  # a zero-price deal: paid up at once
    assert License.objects.get(pk=lic.pk).state == License.State.PAID_UP
    clock("2026-09-10")
    first = lic.milestones.get(name="First commercial sale")

    services.reach_milestone(milestone_id=first.pk, on=dt.date(2026, 9, 8), by=staff, evidence="Invoice 0001")

    lic.refresh_from_db()
    first.refresh_from_db()
    assert (first.state, first.reached_on) == ("reached", dt.date(2026, 9, 8))
    inst = first.installment
    assert (inst.kind, inst.amount, inst.due_date) == (
        Installment.Kind.MILESTONE,
        Decimal("50000.00"),
        dt.date(2026, 10, 8),
    )
    assert lic.state == License.State.PURCHASED and lic.outstanding == Decimal("50000.00")
    # Who and why, on each event the new amount wrote (issue 21, point 5: a mutant dropped them)
    from licensing.models import AuditEvent

    created = AuditEvent.objects.get(object_id=inst.pk, action="created", content_type__model="installment")
    reopened = AuditEvent.objects.get(license=lic, transition="reopen")
    assert (created.by, created.why) == (staff, "Milestone reached: First commercial sale")
    assert (reopened.by, reopened.why, reopened.source_state) == (staff, created.why, "paid_up")
    assert created.changes["amount"] == [None, "50000.00"] and created.changes["due_date"] == [None, "2026-10-08"]
    with pytest.raises(ValidationError, match="not possible while"):
        services.reach_milestone(milestone_id=first.pk, on=dt.date(2026, 9, 8), by=staff)


def test_an_unpaid_milestone_falls_overdue_like_any_installment(milestone_offer, make_license, staff, clock):
    clock("2026-01-31")
    lic = make_license(milestone_offer, "purchased", plan="lump_sum")
    clock("2026-09-10")
    services.reach_milestone(milestone_id=lic.milestones.first().pk, on=dt.date(2026, 9, 8), by=staff)

    clock("2026-10-13")
    assert services.mark_overdue(license_id=lic.pk).state == License.State.IN_ARREARS


@pytest.mark.parametrize(
    ("state", "on", "message"),
    [
        ("trial", "2026-03-01", "only once the license is bought"),
        ("purchased", "2026-12-01", "not before"),
        ("purchased", "2026-07-01", "bought on"),
    ],
)
def test_a_milestone_is_refused_before_the_purchase_or_in_the_future(
    milestone_offer, make_license, staff, clock, state, on, message
):
    clock("2026-01-31")
    lic = make_license(milestone_offer, state, plan="lump_sum")
    clock("2026-09-10")
    with pytest.raises(ValidationError, match=message):
        services.reach_milestone(milestone_id=lic.milestones.first().pk, on=dt.date.fromisoformat(on), by=staff)
    assert not lic.installments.filter(kind=Installment.Kind.MILESTONE).exists()


def test_the_sme_declares_a_milestone_in_the_portal(sme_client, milestone_offer, make_license, clock):
    clock("2026-01-31")
    lic = make_license(milestone_offer, "purchased", plan="lump_sum", enterprise=sme_client.member.enterprise)
    clock("2026-09-10")
    milestone = lic.milestones.first()
    page = sme_client.get(f"/licenses/{lic.pk}/", headers={"accept-language": "en"}).content.decode()
    assert f"/licenses/{lic.pk}/milestones/{milestone.pk}/" in page

    refused = sme_client.post(f"/licenses/{lic.pk}/milestones/{milestone.pk}/", {"on": "2027-01-01"})
    assert refused.status_code == 200 and not lic.installments.filter(kind="milestone").exists()
    done = sme_client.post(f"/licenses/{lic.pk}/milestones/{milestone.pk}/", {"on": "2026-09-08", "evidence": "ok"})

    assert done.status_code == 302
    milestone.refresh_from_db()
    assert milestone.state == "reached" and milestone.declared_by == sme_client.member.user


def test_a_new_version_of_the_offer_keeps_its_milestones(milestone_offer, staff):
    draft = services.revise_offer(offer_id=milestone_offer.pk, by=staff)
    assert [m.name for m in draft.milestones.all()] == ["First commercial sale", "Start of production"]


def test_milestones_reached_are_numbered_one_after_the_other(milestone_offer, make_license, staff, clock):
    clock("2026-01-31")
    lic = make_license(milestone_offer, "purchased", plan="lump_sum")
    clock("2026-09-10")
    for name in ("Start of production", "First commercial sale"):
        services.reach_milestone(milestone_id=lic.milestones.get(name=name).pk, on=dt.date(2026, 9, 8), by=staff)
    numbers = lic.installments.filter(kind=Installment.Kind.MILESTONE).order_by("sequence")
    assert list(numbers.values_list("sequence", "amount")) == [(1, Decimal("80000.00")), (2, Decimal("50000.00"))]
