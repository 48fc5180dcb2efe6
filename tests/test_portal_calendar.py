"""The private calendar feed: trial ends and due dates on their effective dates, behind an
unguessable token that the member can revoke."""

import datetime as dt

import pytest
from icalendar import Calendar

from licensing import services


@pytest.fixture
def purchased(offer, make_license, clock):
    clock("2026-01-31")
    return make_license(offer, "purchased")  # installments due 2027-07-31, 2028-01-31, 2028-07-31


def events(response):
    return {
        str(e["uid"]): (e.decoded("dtstart"), str(e["summary"]))
        for e in Calendar.from_ical(response.content).walk("VEVENT")
    }


def test_feed_lists_every_unpaid_due_date_on_its_effective_date(client, sme_client, purchased):
    token = sme_client.member.calendar_token
    response = client.get(f"/calendar/{token}.ics", headers={"accept-language": "en"})  # no login: a calendar app

    assert response["Content-Type"].startswith("text/calendar")
    found = events(response)
    dates = sorted(start for start, _summary in found.values())
    assert dates == [dt.date(2027, 8, 2), dt.date(2028, 1, 31), dt.date(2028, 7, 31)]  # 2027-07-31 is a Saturday
    assert all("Pay CNY 33,333.3" in summary for _start, summary in found.values())


def test_trial_end_is_in_the_feed(client, sme_client, offer, make_license, clock):
    clock("2026-03-02")
    lic = make_license(offer, "trial", start="2026-03-02")
    found = events(client.get(f"/calendar/{sme_client.member.calendar_token}.ics"))
    assert found[f"trial-{lic.pk}@tto-licensing"][0] == lic.trial_end_effective


def test_a_new_address_revokes_the_old_one(client, sme_client, purchased):
    old = sme_client.member.calendar_token
    sme_client.post("/calendar/renew/")
    sme_client.member.refresh_from_db()

    assert client.get(f"/calendar/{old}.ics").status_code == 404
    assert client.get(f"/calendar/{sme_client.member.calendar_token}.ics").status_code == 200


def test_a_revoked_member_s_feed_stops(client, sme_client, purchased, staff):
    services.revoke_member(member_id=sme_client.member.pk, by=staff, reason="Left the company")
    assert client.get(f"/calendar/{sme_client.member.calendar_token}.ics").status_code == 404
