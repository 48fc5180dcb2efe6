"""Data exports: CSV streams in the reader's language; an XLSX is built in the background with
progress the requester can follow, once however often its task runs, and a failed one leaves no
file behind."""

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.urls import reverse

from licensing import services, tasks
from licensing.models import Export
from licensing.reporting import exports, jobs, tables
from licensing.selectors import BookFilter

from .factories import EnterpriseFactory, OfferFactory


@pytest.fixture
def paid_book(institution, staff, clock, settings, tmp_path):
    """Five payments of 1,000.00 on one license of 30,000.00 in 3 installments."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    clock("2026-03-02")
    offer = OfferFactory(patent__owner=institution, price=Decimal("30000"), first_due_months=0)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory(name="Acme 有限公司"))
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2025, 9, 1))
    services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 3, 2))
    for n in range(5):
        services.record_payment(
            license_id=lic.pk,
            amount=Decimal("1000"),
            paid_on=dt.date(2026, 3, 2),
            reference=f"R{n}",
            idempotency_key=f"k{n}",
            by=staff,
        )
    return lic


def queued(staff, kind="payments", **book) -> Export:
    return Export.objects.create(kind=kind, requested_by=staff, language="en", **book)


def sheet_rows(export) -> list[list]:
    with export.file.open("rb") as f:
        book = openpyxl.load_workbook(io.BytesIO(f.read()))
    return [[c.value for c in row] for sheet in book for row in sheet.iter_rows()]


def test_csv_installments_in_english_with_exact_money(admin_client, paid_book):
    response = admin_client.get(reverse("admin:export_csv", args=["installments"]), headers={"accept-language": "en"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="installments-20260302.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][:7] == [
        "license no.",
        "application number",
        "enterprise",
        "license state",
        "kind",
        "number",
        "amount (CNY)",
    ]
    assert [r[6] for r in rows[1:]] == ["10000.00", "10000.00", "10000.00"]
    assert [r[9] for r in rows[1:]] == ["5000.00", "0.00", "0.00"]  # paid: the oldest first
    assert rows[1][2] == "Acme 有限公司" and rows[1][3] == "Purchased" and rows[1][10] == "Due"


def test_csv_headers_and_states_in_chinese(admin_client, paid_book):
    response = admin_client.get(reverse("admin:export_csv", args=["licenses"]), headers={"accept-language": "zh-hans"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][1] == "主专利" and "已购买" in rows[1]


def test_progress_is_visible_while_the_xlsx_is_written(staff, paid_book, monkeypatch):
    export = queued(staff)
    seen = []
    write = tables.write_xlsx

    def watched(tables_, target, progress):
        def report(rows):
            progress(rows)
            row = Export.objects.get(pk=export.pk)  # what the requester's page reads meanwhile
            seen.append((row.state, row.rows_done, row.rows_total, row.percent))

        return write(tables_, target, report)

    monkeypatch.setattr(tables, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(tables, "write_xlsx", watched)

    assert jobs.build_export(export_id=export.pk) == "done"

    assert seen == [("running", 2, 5, 40), ("running", 4, 5, 80)]
    export.refresh_from_db()
    assert (export.state, export.rows_done, export.percent) == ("done", 5, 100)
    assert [row[1] for row in sheet_rows(export)[1:]] == [1000] * 5


def test_running_the_task_twice_builds_once(staff, paid_book):
    export = queued(staff)

    assert tasks.build_export(export.pk) == "done"
    export.refresh_from_db()
    first_file = export.file.name
    assert tasks.build_export(export.pk) == "skipped"

    export.refresh_from_db()
    assert export.file.name == first_file and export.state == "done"


def test_an_export_another_worker_is_building_is_left_alone_until_it_stalls(staff, paid_book, clock):
    export = queued(staff)
    Export.objects.filter(pk=export.pk).update(
        state="running", heartbeat_at=dt.datetime(2026, 3, 2, 3, 55, tzinfo=dt.UTC)
    )

    assert jobs.build_export(export_id=export.pk) == "skipped"  # progress 5 minutes ago

    clock("2026-03-03")  # no progress for a day: its worker died
    assert jobs.build_export(export_id=export.pk) == "done"


def test_a_failed_export_says_why_and_leaves_no_file(staff, paid_book, monkeypatch):
    export = queued(staff)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tables, "write_xlsx", disk_full)

    assert jobs.build_export(export_id=export.pk) == "failed"
    export.refresh_from_db()
    assert export.state == "failed" and "No space left on device" in export.error
    assert not export.file and export.finished_at is not None


def test_a_table_longer_than_a_sheet_continues_on_the_next(staff, paid_book, monkeypatch):
    monkeypatch.setattr(tables, "EXCEL_MAX_ROWS", 3)  # a header and two rows a sheet
    export = queued(staff)

    jobs.build_export(export_id=export.pk)

    export.refresh_from_db()
    with export.file.open("rb") as f:
        book = openpyxl.load_workbook(io.BytesIO(f.read()))
    assert book.sheetnames == ["Payments", "Payments (2)", "Payments (3)"]
    assert [book[name].max_row for name in book.sheetnames] == [3, 3, 2]


def test_the_sweep_queues_again_an_export_queued_while_the_broker_was_down(staff, paid_book, clock):
    export = queued(staff)  # its task was never delivered

    clock("2026-03-02T12:09")
    tasks.sweep()
    assert Export.objects.get(pk=export.pk).state == "queued"  # 9 minutes: maybe still on its way

    clock("2026-03-02T12:11")
    tasks.sweep()
    assert Export.objects.get(pk=export.pk).state == "done"


def test_a_period_that_ends_before_it_starts_is_refused_and_nothing_is_queued(admin_client, paid_book):
    query = "?date_from=2026-03-01&date_to=2026-02-01"

    csv_response = admin_client.get(
        reverse("admin:export_csv", args=["payments"]) + query, headers={"accept-language": "en"}
    )
    xlsx_response = admin_client.post(
        reverse("admin:export_xlsx", args=["payments"]) + query, headers={"accept-language": "en"}, follow=True
    )

    assert csv_response.status_code == 400
    assert "The period must start on or before the day it ends." in csv_response.content.decode()
    assert "The period must start on or before the day it ends." in xlsx_response.content.decode()
    assert Export.objects.count() == 0


def test_the_export_page_reloads_until_the_file_is_ready(admin_client, superuser, paid_book):
    export = queued(superuser)
    page = reverse("admin:licensing_export_change", args=[export.pk])

    waiting = admin_client.get(page, headers={"accept-language": "en"}).content.decode()
    jobs.build_export(export_id=export.pk)
    ready = admin_client.get(page, headers={"accept-language": "en"}).content.decode()

    assert 'http-equiv="refresh"' in waiting and "Download" not in waiting.split('id="content-main"')[1]
    assert 'http-equiv="refresh"' not in ready
    assert reverse("admin:export_download", args=[export.pk]) in ready


def test_payments_export_applies_the_period(staff, paid_book):
    rows = list(tables.csv_lines(exports.export_table("payments", BookFilter(date_from=dt.date(2026, 3, 3)))))
    assert len(rows) == 1  # the header only: every payment is on 2026-03-02


def test_the_sweep_deletes_exports_a_week_after_they_were_built(staff, paid_book, clock):
    export = queued(staff)
    jobs.build_export(export_id=export.pk)
    path = Export.objects.get(pk=export.pk).file.path

    clock("2026-03-08")  # six days later
    tasks.sweep()
    assert Export.objects.filter(pk=export.pk).exists()

    clock("2026-03-10")
    tasks.sweep()
    assert not Export.objects.filter(pk=export.pk).exists()
    assert not Path(path).exists()


def test_every_export_column_names_the_value_it_reads(staff, paid_book):
    """Headers and values come from one spec: each column reads a path of the row's model, so a
    column cannot be added or moved without its value."""
    for kind in Export.Kind.values:
        rows = list(exports.export_rows(kind, BookFilter()))  # every path resolves (the book has no claim)
        assert all(len(row) == len(exports.COLUMNS[kind]) for row in rows), kind
    assert len(list(exports.export_rows(Export.Kind.PAYMENTS, BookFilter()))) == 5


class _CancelledAfter:
    """Rows that the database cancels (statement timeout) after `n` of them, as psycopg raises it."""

    def __init__(self, n: int):
        self.n = n

    def __iter__(self):
        from django.db import OperationalError

        for i in range(self.n):
            yield (f"row {i}",)
        raise OperationalError("canceling statement due to statement timeout")


def test_a_csv_cancelled_mid_stream_ends_with_a_line_that_says_so_and_logs_one_line(caplog):
    """Issue 21, point 4.5: the status line is sent; the file must not just stop."""
    table = tables.Table("licenses", "Licenses", [tables.Column("name")], _CancelledAfter(2))
    with caplog.at_level("WARNING", logger="licensing.reporting.tables"):
        lines = list(tables.csv_lines(table))
    assert lines[1:3] == ["row 0\r\n", "row 1\r\n"]
    assert "The export stopped here: the database took too long" in lines[-1]
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("WARNING", "CSV export licenses stopped by the statement timeout after 2 rows", None)
    ]


def test_a_csv_cancelled_before_its_first_row_still_ends_with_the_line_that_says_so(admin_client, monkeypatch):
    cancelled = tables.Table("licenses", "Licenses", [tables.Column("name")], _CancelledAfter(0))
    monkeypatch.setattr(exports, "export_table", lambda kind, book: cancelled)
    page = admin_client.get(reverse("admin:export_csv", args=["licenses"]), headers={"accept-language": "zh-hans"})
    lines = b"".join(page.streaming_content).decode().splitlines()
    assert page.status_code == 200 and lines[0] == "\ufeffname"
    assert "导出在此中止：数据库耗时过长" in lines[-1]
