"""Conversion rates on a book with known outcomes: the regulators' 2024 figures by size class
(medium 61.4%, small 57.8%, micro 36.7% of ended trials bought) come out exactly, on the page,
in the CSV and in the XLSX, overall and by institution, IPC section and year of trial end."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from licensing import services
from licensing.reporting.dashboard import conversion_rate
from licensing.roles import TTO_STAFF_GROUP

from .factories import OfferFactory, StaffProfileFactory, ended_trials, enterprise_of_size

D = Decimal


@pytest.fixture
def known_book(db, institution, staff):
    """Institution A (the `staff` fixture's): medium 307 of 500, small 289 of 500, micro 367 of 1000
    ended trials bought; plus trials still running, applications and rejections, which do not
    count. Institution B: 9 of 10 trials of a large enterprise bought."""
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    physics = OfferFactory(patent__owner=institution, patent__ipc_class="G06F 16/33")
    electricity = OfferFactory(patent__owner=institution, patent__ipc_class="H01M 4/36")
    medium, small, micro = (enterprise_of_size(size) for size in ("medium", "small", "micro"))
    ended_trials(physics, medium, ended=500, converted=307, ended_on=dt.date(2025, 6, 30))
    ended_trials(electricity, small, ended=500, converted=289, ended_on=dt.date(2026, 3, 31))
    ended_trials(physics, micro, ended=500, converted=200, ended_on=dt.date(2025, 9, 15))
    ended_trials(electricity, micro, ended=500, converted=167, ended_on=dt.date(2026, 1, 10))
    for _ in range(3):
        services.apply_for_trial(offer_id=OfferFactory(patent__owner=institution).pk, enterprise=medium)
    running = services.apply_for_trial(offer_id=OfferFactory(patent__owner=institution).pk, enterprise=small)
    services.approve_trial(license_id=running.pk, by=staff, start=dt.date(2026, 10, 1))
    rejected = services.apply_for_trial(offer_id=OfferFactory(patent__owner=institution).pk, enterprise=micro)
    services.reject_application(license_id=rejected.pk, by=staff, reason="incomplete")

    other = StaffProfileFactory(institution__name="Institution B").institution
    ended_trials(
        OfferFactory(patent__owner=other, patent__ipc_class="C07C 1/00"),
        enterprise_of_size("large"),
        ended=10,
        converted=9,
        ended_on=dt.date(2026, 5, 1),
    )
    return {"other": other}


def rows(response, slug):
    return [list(row) for row in response.context["board"].tables[slug].rows]


def test_rates_by_size_class_are_the_regulators_figures(client, staff, known_book):
    client.force_login(staff)

    response = client.get(reverse("admin:dashboard"), headers={"accept-language": "en"})

    assert response.status_code == 200
    assert rows(response, "conversion_size") == [
        ["Micro", 1000, 367, D("36.7"), D("36.7")],
        ["Small", 500, 289, D("57.8"), D("57.8")],
        ["Medium", 500, 307, D("61.4"), D("61.4")],
        ["Large", 0, 0, None, None],
        ["All enterprises", 2000, 963, D("48.2"), D("53.3")],  # 48.15% rounds half up
    ]
    page = response.content.decode()
    assert "61.4%" in page and "57.8%" in page and "36.7%" in page
    assert response.context["board"].headline["conversion_rate"] == D("48.2")


def test_rates_by_institution_ipc_section_and_year(client, staff, known_book):
    client.force_login(staff)

    response = client.get(reverse("admin:dashboard"), headers={"accept-language": "en"})

    institution = staff.staff_profile.institution.name
    assert rows(response, "conversion_institution") == [[institution, 2000, 963, D("48.2")]]
    assert rows(response, "conversion_ipc") == [
        ["G: Physics", 1000, 507, D("50.7")],  # medium 307/500 + micro 200/500
        ["H: Electricity", 1000, 456, D("45.6")],  # small 289/500 + micro 167/500
    ]
    assert rows(response, "conversion_year") == [["2025", 1000, 507, D("50.7")], ["2026", 1000, 456, D("45.6")]]


def test_the_period_and_ipc_filters_select_the_trials_that_ended(client, staff, known_book):
    client.force_login(staff)

    response = client.get(
        reverse("admin:dashboard"), {"date_from": "2026-01-01", "ipc_section": "H"}, headers={"accept-language": "en"}
    )

    assert [row[:4] for row in rows(response, "conversion_size")] == [
        ["Micro", 500, 167, D("33.4")],  # only the 2026 electricity trials
        ["Small", 500, 289, D("57.8")],
        ["Medium", 0, 0, None],  # physics, 2025
        ["Large", 0, 0, None],  # another institution's
        ["All enterprises", 1000, 456, D("45.6")],
    ]


def test_superuser_sees_every_institution_or_picks_one(admin_client, known_book):
    everything = admin_client.get(reverse("admin:dashboard"), headers={"accept-language": "en"})
    picked = admin_client.get(
        reverse("admin:dashboard"), {"institution": known_book["other"].pk}, headers={"accept-language": "en"}
    )

    assert rows(everything, "conversion_size")[3] == ["Large", 10, 9, D("90.0"), None]
    assert rows(everything, "conversion_size")[4][1:4] == [2010, 972, D("48.4")]
    assert [r[1:3] for r in rows(picked, "conversion_size")] == [[0, 0], [0, 0], [0, 0], [10, 9], [10, 9]]


def test_csv_reports_exactly_those_rates(client, staff, known_book):
    client.force_login(staff)

    response = client.get(
        reverse("admin:dashboard_table", args=["conversion_size", "csv"]), headers={"accept-language": "en"}
    )

    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the file as UTF-8
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert table == [
        ["size class", "trials ended", "bought", "conversion rate (%)", "national rate 2024 (%)"],
        ["Micro", "1000", "367", "36.7", "36.7"],
        ["Small", "500", "289", "57.8", "57.8"],
        ["Medium", "500", "307", "61.4", "61.4"],
        ["Large", "0", "0", "", ""],
        ["All enterprises", "2000", "963", "48.2", "53.3"],
    ]


def test_xlsx_reports_exactly_those_rates_on_one_sheet_per_table(client, staff, known_book):
    client.force_login(staff)

    response = client.get(reverse("admin:dashboard_table", args=["all", "xlsx"]), headers={"accept-language": "en"})

    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert len(book.sheetnames) == 18  # every table of the dashboard
    assert {"Income by fee kind", "Royalty and use reports"} <= set(book.sheetnames)
    sheet = book["Conversion by enterprise size"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["size class", "trials ended", "bought", "conversion rate (%)", "national rate 2024 (%)"]
    assert [row[3] for row in values[1:]] == [36.7, 57.8, 61.4, None, 48.2]
    assert [row[1:3] for row in values[1:4]] == [[1000, 367], [500, 289], [500, 307]]


def test_chinese_page_names_the_size_classes_and_shows_the_same_rates(client, staff, known_book):
    client.force_login(staff)

    response = client.get(reverse("admin:dashboard"), headers={"accept-language": "zh-hans"})

    page = response.content.decode()
    assert "按企业规模的转化率" in page and "中型" in page and "61.4%" in page


def test_rate_rounds_half_up_to_one_decimal():
    assert conversion_rate(963, 2000) == D("48.2")
    assert conversion_rate(1, 3) == D("33.3")
    assert conversion_rate(0, 0) is None
