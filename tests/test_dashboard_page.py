"""The dashboard page: a fixed number of queries whatever the size of the book, every chart
beside its table, nothing loaded from outside the app, and clear words for a bad filter."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse

from licensing.roles import TTO_STAFF_GROUP

from .factories import OfferFactory, ended_trials, enterprise_of_size

# On PostgreSQL the figures come from the tallies (licensing/models/tallies.py), one query each as on
# SQLite, but the pipeline's trials ending soon, read beside its tally from an index.
BESIDE_TALLIES = 1 if connection.vendor == "postgresql" else 0
# session, user, institutions for the filter, 21 figure groups (contracts: 3, distribution: 2)
SUPERUSER_QUERIES = 24 + BESIDE_TALLIES
# session, user, its permissions (2), staff profile and institution, 21 figure groups
STAFF_QUERIES = 27 + BESIDE_TALLIES


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


def test_figures_link_to_the_lists_behind_them(admin_client, institution, offer, make_license, clock):
    """Issue 15, point 1: a state's count opens the licenses in that state; what is overdue opens the
    overdue licenses; the period's collections open its payments. Each link answers 200."""
    clock("2026-08-01")
    add_book(institution, 2)
    make_license(offer, "purchased")  # 100,000.00 still to pay
    page = admin_client.get(
        reverse("admin:dashboard"), {"date_from": "2026-01-01", "date_to": "2026-03-31"}
    ).content.decode()

    links = set(re.findall(r'href="(/admin/licensing/[a-z]+/\?[^"]+)"', page))
    for expected in (
        "/admin/licensing/license/?state__exact=trial",
        "/admin/licensing/license/?state__exact=purchased",
        "/admin/licensing/license/?due=overdue",
        "/admin/licensing/license/?trial_ends=30",
        "/admin/licensing/payment/?paid_on__gte=2026-01-01&amp;paid_on__lte=2026-03-31",
        "/admin/licensing/license/?purchased_on__gte=2026-01-01&amp;purchased_on__lte=2026-03-31",
        "/admin/licensing/license/?due=unpaid",
        "/admin/licensing/insuranceclaim/?state__in=filed,approved",
        "/admin/licensing/equityconversion/?state__exact=executed",
    ):
        assert expected in links, expected
    for link in links:
        assert admin_client.get(link.replace("&amp;", "&")).status_code == 200, link
    # The outstanding card's list holds exactly the licenses whose unpaid amounts it adds up.
    board = admin_client.get(reverse("admin:dashboard")).context["board"]
    listed = admin_client.get("/admin/licensing/license/?due=unpaid").context["cl"].result_list
    assert sum(lic.outstanding_amount for lic in listed) == board.headline["outstanding"] > 0


def test_the_collections_chart_has_a_value_axis_and_wide_tables_scroll(admin_client, institution):
    """Issue 15, point 13: the y-axis reads round steps; the CSV links stand out from the caption's
    band; a wide table scrolls in its own box on a phone (the browser test looks at it)."""
    from decimal import Decimal

    from licensing.models import License, Payment

    add_book(institution, 1)
    Payment.objects.create(
        license=License.objects.first(), amount=Decimal("1234567"), paid_on=dt.date(2026, 1, 6), idempotency_key="p"
    )
    page = admin_client.get(reverse("admin:dashboard"), {"date_from": "2026-01-01", "date_to": "2026-01-31"})
    body = page.content.decode()
    chart = body[body.index('id="chart-collections-title"') :].split("</svg>")[0]
    ticks = re.findall(r'class="tick value-tick">([^<]+)<', chart)
    assert ticks[:3] == ["0", "500,000", "1,000,000"]  # round steps, grouped by thousands
    assert body.count('<div class="table-scroll">') == body.count('<table class="dashboard-table"') - 1  # exports
