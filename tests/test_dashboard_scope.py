"""Staff of one institution never see another institution's rows: not on the dashboard, not in a
table download, not in a data export (CSV or XLSX), not in another user's export file."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from licensing import services
from licensing.models import Export, InsuranceClaim
from licensing.roles import TTO_STAFF_GROUP

from .factories import EnterpriseFactory, OfferFactory, StaffProfileFactory


@pytest.fixture
def two_books(db, clock, settings, tmp_path):
    """Institutions A and B, each with one defaulted, insured, part-paid license whose claim is
    filed; every row of B is marked 'B' (patent number series, payment reference, enterprise)."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    clock("2026-01-31")
    group = Group.objects.get(name=TTO_STAFF_GROUP)
    sides = {}
    for side, ipc in (("A", "G06F 1/00"), ("B", "H01M 1/00")):
        user = StaffProfileFactory(institution__name=f"Institution {side}").user
        user.groups.add(group)
        offer = OfferFactory(
            patent__owner=user.staff_profile.institution, patent__ipc_class=ipc, first_due_months=0, price=Decimal(1000)
        )
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory(name=f"SME of {side}"))
        services.approve_trial(license_id=lic.pk, by=user, start=dt.date(2026, 1, 31))
        services.register_policy(
            license_id=lic.pk,
            by=user,
            insurer=f"Insurer {side}",
            policy_number=f"POLICY-{side}",
            coverage_ratio=Decimal("0.5"),
            starts_on=dt.date(2026, 1, 31),
            ends_on=dt.date(2030, 1, 1),
        )
        services.purchase(license_id=lic.pk, plan="lump_sum", by=user, on=dt.date(2026, 2, 2))
        clock("2026-02-02")
        services.record_payment(
            license_id=lic.pk,
            amount=Decimal(100 if side == "A" else 300),
            paid_on=dt.date(2026, 2, 2),
            reference=f"REF-{side}",
            idempotency_key=f"key-{side}",
            by=user,
        )
        sides[side] = {"user": user, "license": lic, "patent": offer.patent.number}
        clock("2026-01-31")
    clock("2026-06-01")
    for side in sides.values():
        services.mark_overdue(license_id=side["license"].pk)
        services.declare_default(license_id=side["license"].pk, by=side["user"])
        services.file_claim(license_id=side["license"].pk, by=side["user"])
    return sides


def test_staff_dashboard_counts_only_their_institution(client, two_books):
    client.force_login(two_books["A"]["user"])

    response = client.get(reverse("admin:dashboard"), headers={"accept-language": "en"})

    figures = response.context["board"]
    assert figures.headline["collected"] == Decimal("100.00")  # A's payment; B paid 300
    assert figures.headline["outstanding"] == Decimal("900.00")
    assert dict(figures.tables["pipeline"].rows)["Claim filed"] == 1
    assert [row[0] for row in figures.tables["conversion_institution"].rows] == ["Institution A"]
    assert "Institution B" not in response.content.decode()


def test_staff_cannot_pick_another_institution(client, two_books):
    """The institution filter is not offered to staff; passing it anyway changes nothing."""
    client.force_login(two_books["A"]["user"])
    other = two_books["B"]["user"].staff_profile.institution

    response = client.get(reverse("admin:dashboard"), {"institution": other.pk}, headers={"accept-language": "en"})

    assert "institution" not in response.context["form"].fields
    assert response.context["board"].headline["collected"] == Decimal("100.00")


@pytest.mark.parametrize("kind", ["licenses", "installments", "payments", "claims"])
def test_staff_csv_exports_hold_only_their_rows(client, two_books, kind):
    client.force_login(two_books["A"]["user"])

    response = client.get(reverse("admin:export_csv", args=[kind]), headers={"accept-language": "en"})

    text = b"".join(response.streaming_content).decode()
    lines = text.strip().splitlines()
    assert len(lines) == 2, text  # header and A's one row
    assert two_books["A"]["patent"] in text
    assert two_books["B"]["patent"] not in text and "SME of B" not in text


def test_staff_dashboard_tables_hold_only_their_rows(client, two_books):
    client.force_login(two_books["A"]["user"])

    response = client.get(reverse("admin:dashboard_table", args=["all", "xlsx"]), headers={"accept-language": "en"})

    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row}
    assert "Institution A" in cells and "Institution B" not in cells
    assert 300 not in {c.value for row in book["Collections by month"].iter_rows() for c in row}


def test_staff_xlsx_export_holds_only_their_rows_and_only_they_download_it(
    client, two_books, django_capture_on_commit_callbacks
):
    client.force_login(two_books["A"]["user"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:export_xlsx", args=["claims"]), headers={"accept-language": "en"})

    export = Export.objects.get()
    assert response.status_code == 302 and response.url == reverse("admin:licensing_export_change", args=[export.pk])
    assert export.state == Export.State.DONE  # built by the (eager) task after the commit
    download = client.get(reverse("admin:export_download", args=[export.pk]))
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(rows) == 2 and rows[1][4] == "Insurer A"
    assert InsuranceClaim.objects.count() == 2

    client.force_login(two_books["B"]["user"])
    assert client.get(reverse("admin:export_download", args=[export.pk])).status_code == 404
    assert client.get(reverse("admin:licensing_export_change", args=[export.pk])).status_code == 302  # not found
    assert client.get(reverse("admin:licensing_export_changelist")).context["cl"].result_count == 0


def test_staff_without_an_institution_see_no_dashboard(client, db):
    from .factories import UserFactory

    user = UserFactory()
    user.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(user)

    for url in (reverse("admin:dashboard"), reverse("admin:export_csv", args=["payments"])):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
