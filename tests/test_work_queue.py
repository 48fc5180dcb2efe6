"""The admin index's work queue (issue 15, point 1): what waits for the officer today, each a count
linking to the filtered list behind it. The count is what that list shows the same user, and
another institution's work is not in it."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from licensing import services
from licensing.demo.identifiers import backdate_application

from .factories import EnterpriseFactory, OfferFactory


def add_work(side, clock):
    """One of several kinds of waiting work on institution `side`'s book (clock: 2026-08-01)."""
    user, lic = side["user"], side["license"]
    institution = user.staff_profile.institution
    services.apply_for_trial(offer_id=OfferFactory(patent__owner=institution).pk, enterprise=EnterpriseFactory())
    services.report_payment(license_id=lic.pk, amount="50.00", paid_on=dt.date(2026, 8, 1), reference="T1", by=user)
    ending = services.apply_for_trial(
        offer_id=OfferFactory(patent__owner=institution).pk, enterprise=EnterpriseFactory()
    )
    backdate_application(ending, dt.date(2026, 2, 1))
    services.approve_trial(license_id=ending.pk, by=user, start=dt.date(2026, 2, 4))  # ends 2026-08-04
    overdue = OfferFactory(patent__owner=institution, first_due_months=0)
    late = services.apply_for_trial(offer_id=overdue.pk, enterprise=EnterpriseFactory())
    backdate_application(late, dt.date(2026, 1, 1))
    services.approve_trial(license_id=late.pk, by=user, start=dt.date(2026, 1, 5))
    services.purchase(license_id=late.pk, plan="lump_sum", by=user, on=dt.date(2026, 7, 1))  # due 07-01: overdue


def queue(client):
    response = client.get(reverse("admin:index"), headers={"accept-language": "en"})
    return {task["key"]: task for task in response.context["tasks"]}


def test_each_count_is_what_its_list_shows_and_only_for_the_users_institution(client, two_institutions, clock):
    add_work(two_institutions["A"], clock)
    add_work(two_institutions["B"], clock)
    client.force_login(two_institutions["A"]["user"])

    tasks = queue(client)

    waiting = {key: t["count"] for key, t in tasks.items() if t["count"]}
    assert waiting == {"applications": 1, "payment_reports": 1, "trials_ending": 1, "overdue": 1}
    for key, task in tasks.items():
        listed = client.get(task["url"])
        assert listed.status_code == 200, key
        assert listed.context["cl"].result_count == task["count"], key


def test_the_index_takes_a_fixed_number_of_queries(client, two_institutions, clock):
    client.force_login(two_institutions["A"]["user"])
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("admin:index"))
    for _ in range(3):
        add_work(two_institutions["A"], clock)
    with CaptureQueriesContext(connection) as large:
        body = client.get(reverse("admin:index"), headers={"accept-language": "zh-hans"}).content.decode()
    assert len(small) == len(large) == INDEX_QUERIES, (len(small), len(large))
    assert "今天等您处理" in body


INDEX_QUERIES = 15  # session, user, permissions, staff profile, the work queue (7), system status, app list


@pytest.mark.parametrize("value", ["7", "30", "past"])
def test_the_trial_end_filter_looks_forward(admin_client, offer, make_license, clock, value):
    clock("2026-08-01")
    make_license(offer, "trial", start="2026-02-04")  # ends 2026-08-04
    listed = admin_client.get(reverse("admin:licensing_license_changelist") + f"?trial_ends={value}")
    assert listed.context["cl"].result_count == (0 if value == "past" else 1)
