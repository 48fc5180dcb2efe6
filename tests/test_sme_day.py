"""The SME's day (issue 15, point 8): the next payment on My licenses and on the license page, and
a calendar page that lists the coming dates and opens the feed in a calendar application."""

import datetime as dt
from decimal import Decimal as D

from .factories import OfferFactory


def test_my_licenses_and_the_license_page_say_the_next_payment(sme_client, offer, make_license, clock):
    clock("2026-01-31")
    lic = make_license(offer, "purchased", enterprise=sme_client.member.enterprise)  # 3 x 33,333.33+, first 2027-07-31
    listing = sme_client.get("/licenses/").content.decode()
    assert "CNY 33,333.33 by 2027-08-02" in listing  # the effective date: 07-31 is a Saturday
    page = sme_client.get(f"/licenses/{lic.pk}/").content.decode()
    assert "Next payment" in page and "CNY 33,333.33 by 2027-08-02" in page


def test_a_royalty_period_is_next_as_a_report(sme_client, institution, make_license, clock):
    clock("2026-01-01")
    offer = OfferFactory(patent__owner=institution, price=D("0"), royalty_base="net_sales", royalty_rates="3%")
    make_license(offer, "purchased", start="2025-07-01", plan="lump_sum", enterprise=sme_client.member.enterprise)
    assert "Royalty by 2026-04-30, its amount from your report" in sme_client.get("/licenses/").content.decode()


def test_the_calendar_page_lists_the_coming_dates_and_a_webcal_link(sme_client, offer, make_license, clock):
    clock("2026-01-31")
    make_license(offer, "purchased", enterprise=sme_client.member.enterprise)
    trial = make_license(
        OfferFactory(patent__owner=offer.patent.owner), "trial", enterprise=sme_client.member.enterprise
    )
    page = sme_client.get("/calendar/").content.decode()
    token = sme_client.member.calendar_token
    assert f'href="webcal://testserver/calendar/{token}.ics"' in page
    assert 'data-copy="feed-url"' in page and "portal/copy.js" in page
    rows = page.split('<table class="list upcoming">')[1]
    trial_end = trial.trial_end_effective.isoformat()
    assert rows.index(trial_end) < rows.index("2027-08-02")  # in date order: the trial ends first
    assert "Pay CNY 33,333.33" in rows and "Trial ends: decide" in rows
    assert dt.date.fromisoformat(trial_end) == dt.date(2026, 7, 31)


def test_the_patent_page_has_its_abstract_and_claims_and_the_catalogue_explains_itself(client, institution):
    """Issue 15, point 9: more than a title; the trial fee on the card; how it works, for a first visit."""
    offer = OfferFactory(
        patent__owner=institution,
        patent__abstract="A <b>low-cost</b> catalyst.\nSecond line.",
        patent__claims_gist="The catalyst and its process.",
        trial_fee=D("5000"),
    )
    page = client.get(f"/patents/{offer.pk}/", headers={"accept-language": "en"}).content.decode()
    assert "A &lt;b&gt;low-cost&lt;/b&gt; catalyst." in page and "What the claims protect" in page
    catalogue = client.get("/", headers={"accept-language": "en"}).content.decode()
    assert "How use first, pay later works" in catalogue and "trial fee CNY 5,000.00" in catalogue
    assert '<details class="card how-it-works" open>' in catalogue  # open for a first-time visitor
