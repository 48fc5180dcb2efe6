"""The admin's long lists (issue 25): counted to a bound, and a page read by its keys first. A
page shows exactly the rows the ordinary list would show there, in its order, for every sort."""

import pytest
from django.urls import reverse

from licensing.admin.licenses import LicenseAdmin
from licensing.admin.paging import BoundedPaginator
from licensing.models import License

from .test_admin_queries import LICENSE_LIST_QUERIES, add_licenses

URL = "admin:licensing_license_changelist"


@pytest.fixture
def seven(institution, staff, clock, admin_client):
    clock("2026-08-01")
    add_licenses(institution, staff, 7)
    admin_client.cookies["django_language"] = "en"


def ids(response):
    return [lic.pk for lic in response.context["cl"].result_list]


@pytest.mark.parametrize("sort", ["", "4", "-4", "5", "2"])  # applied (default), next due, outstanding, enterprise
def test_pages_read_by_their_keys_are_the_lists_own_slices(admin_client, seven, monkeypatch, sort):
    query = {"o": sort} if sort else {}
    whole = ids(admin_client.get(reverse(URL), query))  # 7 rows: one page, no paging
    monkeypatch.setattr(LicenseAdmin, "list_per_page", 3)

    pages = [ids(admin_client.get(reverse(URL), {**query, "p": p})) for p in (1, 2, 3)]

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [pk for page in pages for pk in page] == whole


def test_a_list_longer_than_its_bound_says_so_and_pages_that_far(
    admin_client, seven, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr("licensing.admin.paging.COUNT_BOUND", 4)
    monkeypatch.setattr(BoundedPaginator, "bound_text", "4")
    monkeypatch.setattr(LicenseAdmin, "list_per_page", 2)

    with django_assert_max_num_queries(LICENSE_LIST_QUERIES + 1):  # the page's keys, then its rows
        response = admin_client.get(reverse(URL), {"p": 2})

    cl = response.context["cl"]
    assert (cl.paginator.capped, cl.paginator.num_pages, len(cl.result_list)) == (True, 2, 2)
    assert "More than 4 licenses: narrow the list with a filter or a search, or sort it the other way." in (
        response.content.decode()
    )
    assert admin_client.get(reverse(URL), {"p": 3}).status_code == 302  # past the bound: back to page 1 (?e=1)

    searched = admin_client.get(reverse(URL), {"q": "Method"})  # every offer's title
    assert "more than 4 results" in searched.content.decode()


def test_the_bound_reads_in_chinese(admin_client, seven, monkeypatch):
    monkeypatch.setattr("licensing.admin.paging.COUNT_BOUND", 4)
    monkeypatch.setattr(BoundedPaginator, "bound_text", "4")
    monkeypatch.setattr(LicenseAdmin, "list_per_page", 2)

    admin_client.cookies["django_language"] = "zh-hans"
    response = admin_client.get(reverse(URL))

    assert "超过 4" in response.content.decode()


def test_a_list_within_its_bound_counts_exactly(admin_client, seven, monkeypatch):
    monkeypatch.setattr(LicenseAdmin, "list_per_page", 2)
    response = admin_client.get(reverse(URL))
    cl = response.context["cl"]
    assert (cl.paginator.capped, cl.result_count, cl.paginator.num_pages) == (False, 7, 4)
    assert "7 licenses" in response.content.decode()


def test_ties_follow_the_direction_of_the_column_sorted_by(admin_client, seven):
    """Seven equal balances: ascending, the ties come in key order; descending, in reverse. So the
    list's order is one index read either way (Django's tiebreaker is always descending)."""
    up = ids(admin_client.get(reverse(URL), {"o": "4"}))
    down = ids(admin_client.get(reverse(URL), {"o": "-4"}))
    assert len(set(License.objects.values_list("outstanding_amount", flat=True))) == 1
    assert up == sorted(up) and down == sorted(down, reverse=True)
