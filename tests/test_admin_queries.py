"""Admin pages cost a fixed number of queries, whatever the number of rows, and whether a
package holds 1 patent or 10."""

import datetime as dt

import pytest
from django.urls import reverse

from licensing import services
from licensing.models import License

from .factories import EnterpriseFactory, OfferFactory, PatentFactory


def add_licenses(institution, staff, n, package=1):
    for _ in range(n):
        offer = OfferFactory(patent__owner=institution)
        offer.patents.add(*PatentFactory.create_batch(package - 1, owner=institution))
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
        services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))


LICENSE_LIST_QUERIES = 5  # session, user, count, rows, institution filter
OFFER_LIST_QUERIES = 6  # session, user, count, rows with their package sizes, the filters
# patents, the balance summary (2), which sections have rows (1), those sections, and the names its
# history mentions (the offer with its lead patent, the enterprise: one query per kind), and
# whether it has more than one patent (the button sharing its income among them)
LICENSE_PAGE_QUERIES = 18


@pytest.mark.parametrize(("rows", "package"), [(1, 1), (30, 1), (30, 10)])
def test_license_list_queries_do_not_grow_with_rows(
    admin_client, institution, staff, rows, package, django_assert_max_num_queries
):
    add_licenses(institution, staff, rows, package)

    with django_assert_max_num_queries(LICENSE_LIST_QUERIES):
        response = admin_client.get(reverse("admin:licensing_license_changelist"))
    assert len(response.context["cl"].result_list) == rows


@pytest.mark.parametrize(("payments", "package"), [(1, 1), (12, 1), (12, 10)])
def test_license_page_queries_do_not_grow_with_payments(
    admin_client, institution, staff, payments, package, clock, django_assert_max_num_queries
):
    from decimal import Decimal

    clock("2026-08-01")
    add_licenses(institution, staff, 1, package)
    lic = License.objects.get()
    for i in range(payments):
        services.record_payment(
            license_id=lic.pk,
            amount=Decimal("10.00"),
            paid_on=dt.date(2026, 8, 1),
            reference=f"R{i}",
            idempotency_key=f"k{i}",
            by=staff,
        )

    with django_assert_max_num_queries(LICENSE_PAGE_QUERIES):
        response = admin_client.get(reverse("admin:licensing_license_change", args=[lic.pk]))
    assert response.status_code == 200


STAFF_LIST_QUERIES = 8  # + the staff profile and group permissions


@pytest.mark.parametrize("rows", [1, 30])
def test_staff_license_list_queries_do_not_grow_with_rows(
    client, institution, staff, rows, django_assert_max_num_queries
):
    from django.contrib.auth.models import Group

    from licensing.roles import TTO_STAFF_GROUP

    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    add_licenses(institution, staff, rows)

    with django_assert_max_num_queries(STAFF_LIST_QUERIES):
        response = client.get(reverse("admin:licensing_license_changelist"))
    assert len(response.context["cl"].result_list) == rows


@pytest.mark.parametrize("reminders", [1, 6])
def test_license_page_queries_do_not_grow_with_reminders(
    admin_client, institution, staff, reminders, clock, django_assert_max_num_queries
):
    from licensing.models import Installment, Reminder

    clock("2026-08-01")
    add_licenses(institution, staff, 1)
    lic = License.objects.get()
    inst = Installment.objects.filter(license=lic).first()
    Reminder.objects.bulk_create(
        Reminder(
            key=f"installment_due:installment:{inst.pk}:{n}",
            kind="installment_due",
            license=lic,
            installment=inst,
            offset_days=n,
            deadline=inst.effective_due_date,
        )
        for n in range(reminders)
    )

    with django_assert_max_num_queries(LICENSE_PAGE_QUERIES):
        response = admin_client.get(reverse("admin:licensing_license_change", args=[lic.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("package", [1, 10])
def test_offer_list_shows_package_sizes_in_a_fixed_number_of_queries(
    admin_client, institution, package, django_assert_max_num_queries
):
    for n in range(20):
        offer = OfferFactory(patent__owner=institution, name=f"Package {n:02d}" if package > 1 else "")
        offer.patents.add(*PatentFactory.create_batch(package - 1, owner=institution))

    with django_assert_max_num_queries(OFFER_LIST_QUERIES):
        response = admin_client.get(reverse("admin:licensing_offer_changelist"))
    assert {row.package_size for row in response.context["cl"].result_list} == {package}
    if package > 1:  # each row is named by the offer's title (issue 22, point 1), then its lead patent
        assert "Package 07</a>" in response.content.decode()


def test_the_license_page_is_a_view_without_empty_sections(admin_client, institution, staff, clock):
    """Issue 15, point 2: every field is read-only, so the page is titled as a view; a section with
    no rows is left out (a license just bought has its schedule, not payments, claims or reminders)."""
    clock("2026-08-01")
    add_licenses(institution, staff, 1)
    lic = License.objects.get()
    page = admin_client.get(
        reverse("admin:licensing_license_change", args=[lic.pk]), headers={"accept-language": "en"}
    ).content.decode()
    assert "<h1>View license</h1>" in page and "Change license" not in page
    assert 'id="installments-group"' in page
    assert 'id="reminders-group"' in page  # the notices of its story: trial started, purchase confirmed
    for empty in ("payments-group", "claims-group", "equity_conversions-group"):
        assert f'id="{empty}"' not in page, empty

    services.record_payment(
        license_id=lic.pk, amount="10.00", paid_on=dt.date(2026, 8, 1), reference="R", idempotency_key="k", by=staff
    )
    page = admin_client.get(reverse("admin:licensing_license_change", args=[lic.pk])).content.decode()
    assert 'id="payments-group"' in page
