"""The license list: balances, due-date filter and search, as TTO staff use them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from licensing import services


@pytest.fixture
def book(offer, make_license, staff, clock):
    """Three licenses on 2026-08-20: one overdue, one due in 5 days, one in trial with nothing due."""
    from .factories import EnterpriseFactory, OfferFactory

    clock("2026-08-20")
    overdue = make_license(
        offer, "purchased", start="2026-01-31", plan="lump_sum", enterprise=EnterpriseFactory(name="Overdue Ltd")
    )
    soon_offer = OfferFactory(patent__owner=offer.patent.owner, first_due_months=1)
    soon = services.apply_for_trial(offer_id=soon_offer.pk, enterprise=EnterpriseFactory(name="Soon Ltd"))
    services.approve_trial(license_id=soon.pk, by=staff, start=dt.date(2026, 1, 25))
    services.purchase(license_id=soon.pk, plan="lump_sum", by=staff, on=dt.date(2026, 7, 25))  # due 2026-08-25
    quiet = make_license(
        OfferFactory(patent__owner=offer.patent.owner), "trial", enterprise=EnterpriseFactory(name="Quiet Ltd")
    )
    # The offer's schedule starts a year later: due Saturday 2026-08-01, effectively Monday 08-03.
    overdue.installments.update(due_date=dt.date(2026, 8, 1), effective_due_date=dt.date(2026, 8, 3))
    return {"overdue": overdue, "soon": soon, "quiet": quiet}


def names(response):
    return sorted(lic.enterprise.name for lic in response.context["cl"].result_list)


@pytest.mark.parametrize(
    ("due", "expected"),
    [("overdue", ["Overdue Ltd"]), ("7", ["Soon Ltd"]), ("30", ["Soon Ltd"]), ("none", ["Quiet Ltd"])],
)
def test_installment_due_filter(admin_client, book, due, expected):
    response = admin_client.get(reverse("admin:licensing_license_changelist"), {"due": due})
    assert names(response) == expected


def test_list_shows_outstanding_and_next_due(admin_client, book, staff):
    services.record_payment(
        license_id=book["soon"].pk,
        amount=Decimal("40000.00"),
        paid_on=dt.date(2026, 8, 20),
        reference="B",
        idempotency_key="k",
        by=staff,
    )

    response = admin_client.get(reverse("admin:licensing_license_changelist"), {"q": "Soon"})

    [row] = response.context["cl"].result_list
    assert (row.outstanding_amount, row.next_due_date) == (Decimal("60000.00"), dt.date(2026, 8, 25))
    offer = row.offer
    assert f'<td class="field-patent_number">{offer.patent.title} · {offer.patent.number}</td>' in (
        response.content.decode()
    )  # the deal by its title (issue 22, point 1)


@pytest.mark.parametrize("term", ["Soon Ltd", "Method for catalytic"])
def test_search_by_enterprise_name_or_patent_title(admin_client, book, term):
    response = admin_client.get(reverse("admin:licensing_license_changelist"), {"q": term})
    assert "Soon Ltd" in names(response)


def test_search_by_patent_number_and_uscc(admin_client, book):
    soon = book["soon"]
    for term in [soon.offer.patent.number, soon.enterprise.uscc]:
        response = admin_client.get(reverse("admin:licensing_license_changelist"), {"q": term})
        assert names(response) == ["Soon Ltd"]
