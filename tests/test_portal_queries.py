"""Every portal page costs a fixed number of queries, whatever the number of licenses,
installments, payment reports and reminders, and whether a package holds 1 patent or 10."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from licensing import services
from licensing.reminders import sweep

from .factories import OfferFactory, PatentFactory

# page -> the most queries it may take (pinned; the same with 1 license or many)
PAGES = {
    # one of them: the member, whose own licenses are a reason an offer is closed to it; one: its
    # needs, for "recommended for you" (none here: tests/test_matching.py pins the page with them)
    "catalogue": 7,
    "offer": 6,
    "licenses": 5,
    "license": 16,  # payments with their invoices; one of them: what is owed, parted into overdue, due now and later
    "buy": 13,
    "report_payment": 14,
    "calendar": 5,
    "calendar_ics": 3,
    "enterprise": 4,
    "needs": 4,
}


def urls(member, lic, offer):
    return {
        "catalogue": "/",
        "offer": f"/patents/{offer.pk}/",
        "licenses": "/licenses/",
        "license": f"/licenses/{lic.pk}/",
        "buy": f"/licenses/{lic.pk}/buy/",
        "report_payment": f"/licenses/{lic.pk}/payments/new/",
        "calendar": "/calendar/",
        "calendar_ics": f"/calendar/{member.calendar_token}.ics",
        "enterprise": "/enterprise/",
        "needs": "/enterprise/needs/",
    }


def grow_book(n, institution, enterprise, staff, make_license, package=1):
    """n licenses on packages of `package` patents: one still in trial (for the buy page), the
    rest purchased in installments, with a reported payment each and their reminders sent."""
    trial = None
    for i in range(n):
        offer = OfferFactory(patent__owner=institution)
        offer.patents.add(*PatentFactory.create_batch(package - 1, owner=institution))
        if i == 0:
            trial = make_license(offer, "trial", enterprise=enterprise, start="2026-03-02")
        else:
            lic = make_license(offer, "purchased", enterprise=enterprise)
            services.report_payment(
                license_id=lic.pk, amount="10.00", paid_on=lic.trial_end, reference=f"R{i}", by=staff
            )
    sweep.run_sweep()
    return trial


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("page", PAGES)
def test_page_query_count_is_pinned_and_constant(page, sme_client, institution, enterprise, staff, make_license, clock):
    clock("2026-08-20")
    lic = grow_book(1, institution, enterprise, staff, make_license)
    small = count_queries(sme_client, urls(sme_client.member, lic, lic.offer)[page])
    big = grow_book(6, institution, enterprise, staff, make_license, package=10)
    assert big.patents.count() == 10
    member = sme_client.member.user
    for employees in (60, 70, 80):  # the enterprise's history of changes grows too
        services.update_enterprise(enterprise_id=enterprise.pk, by=member, changes={"employees": employees})
    large = count_queries(sme_client, urls(sme_client.member, big, big.offer)[page])

    assert small == large <= PAGES[page], (small, large)
