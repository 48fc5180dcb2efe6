"""The dashboard page: a fixed number of queries whatever the size of the book, every chart
beside its table, nothing loaded from outside the app, and clear words for a bad filter."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from licensing.roles import TTO_STAFF_GROUP

from .factories import OfferFactory, ended_trials, enterprise_of_size

SUPERUSER_QUERIES = 16  # session, user, institutions for the filter, 13 figure groups
STAFF_QUERIES = 19  # session, user, its permissions (2), staff profile and institution, 13 figure groups


def add_book(institution, licenses: int):
    for size in ("micro", "small", "medium", "large"):
        offer = OfferFactory(patent__owner=institution)
        ended_trials(
            offer, enterprise_of_size(size), ended=licenses, converted=licenses // 2, ended_on=dt.date(2026, 1, 5)
        )


@pytest.mark.parametrize("licenses", [1, 200])
def test_superuser_dashboard_queries_do_not_grow_with_the_book(
    admin_client, institution, licenses, django_assert_max_num_queries
):
    add_book(institution, licenses)

    with django_assert_max_num_queries(SUPERUSER_QUERIES):
        response = admin_client.get(reverse("admin:dashboard"))

    assert response.context["board"].headline["trials_ended"] == 4 * licenses


@pytest.mark.parametrize("licenses", [1, 200])
def test_staff_dashboard_queries_do_not_grow_with_the_book(
    client, staff, institution, licenses, django_assert_max_num_queries
):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    add_book(institution, licenses)

    with django_assert_max_num_queries(STAFF_QUERIES):
        response = client.get(reverse("admin:dashboard"))

    assert response.context["board"].headline["trials_ended"] == 4 * licenses


def test_every_chart_has_its_table_and_nothing_comes_from_outside(admin_client, institution):
    from decimal import Decimal

    from licensing.models import License, Payment

    add_book(institution, 3)
    Payment.objects.create(
        license=License.objects.first(), amount=Decimal("10"), paid_on=dt.date(2026, 1, 6), idempotency_key="p"
    )

    page = admin_client.get(reverse("admin:dashboard"), headers={"accept-language": "en"}).content.decode()

    charts = re.findall(r'<svg class="chart" role="img" aria-labelledby="chart-(\w+)-title"', page)
    assert charts == ["conversion", "collections", "aging"]
    for table in ("conversion_size", "collections", "aging"):
        assert f'id="table-{table}"' in page
    assert re.findall(r'(?:src|href)="(?:https?:)?//', page) == []  # no CDN: every asset is the app's
    assert "/static/dashboard/dashboard.css" in page


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The period must start on or before the day it ends."),
        ("zh-hans", "期间的开始日期不能晚于结束日期。"),
    ],
)
def test_a_period_that_ends_before_it_starts_is_explained(admin_client, db, language, message):
    response = admin_client.get(
        reverse("admin:dashboard"),
        {"date_from": "2026-05-01", "date_to": "2026-04-01"},
        headers={"accept-language": language},
    )

    assert response.status_code == 200 and response.context["board"] is None
    page = response.content.decode()
    assert message in page
    assert 'value="2026-05-01"' in page  # what was typed is kept


def test_a_date_that_is_not_one_is_explained_by_field(admin_client, db):
    response = admin_client.get(
        reverse("admin:dashboard"), {"date_from": "2026-13-45"}, headers={"accept-language": "en"}
    )

    assert response.context["board"] is None
    assert "From: Enter a valid date." in response.content.decode()


def test_the_admin_index_leads_to_the_dashboard(client, staff):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)

    page = client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()

    assert f'href="{reverse("admin:dashboard")}"' in page


def test_an_sme_user_cannot_open_the_dashboard(client, make_member):
    member = make_member()
    client.force_login(member.user)

    response = client.get(reverse("admin:dashboard"))

    assert response.status_code == 302 and "/admin/login/" in response.url


def test_a_period_without_payments_says_so_instead_of_an_empty_chart(admin_client, institution):
    add_book(institution, 2)

    page = admin_client.get(reverse("admin:dashboard"), headers={"accept-language": "en"}).content.decode()

    assert 'aria-labelledby="chart-collections-title"' not in page
    assert "Nothing in this period." in page.split("Collections by month (CNY)")[0][-300:]
