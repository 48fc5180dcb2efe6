"""The bench book at national scale (issue 25, point 1): loaded by COPY a batch per transaction,
unique identifiers by construction, and a stopped load resumed as the first run would have
written it."""

import pytest
from django.db import transaction

from licensing.models import Installment


def bench_signature() -> list[tuple]:
    """The bench book as a reader sees it, without its ids: each license in order with its terms,
    dates, schedule, reports, payments and any policy and claim."""
    from licensing.demo.bulk import bench_licenses
    from licensing.models import InsuranceClaim, Payment, RoyaltyReport

    def per_license(model, *fields) -> dict:
        rows: dict = {}
        for license_id, *values in model.objects.order_by("license_id", "pk").values_list("license_id", *fields):
            rows.setdefault(license_id, []).append(tuple(values))
        return rows

    schedules = per_license(Installment, "kind", "sequence", "amount", "due_date", "paid_amount", "state")
    reports = per_license(RoyaltyReport, "period_start", "state", "royalty")
    payments = per_license(Payment, "amount", "paid_on")
    claims = per_license(InsuranceClaim, "state", "claimed_amount", "paid_amount")
    return [
        (*values, schedules.get(pk), reports.get(pk), payments.get(pk), claims.get(pk), has_policy)
        for pk, has_policy, *values in bench_licenses()
        .order_by("pk")
        .values_list(
            "pk",
            "insurance_policy__coverage_ratio",
            "offer__patent__number",
            "enterprise__uscc",
            "state",
            "trial_start",
            "trial_ended_on",
            "purchased_on",
            "price",
            "term_end",
        )
    ]


def test_a_stopped_bulk_load_is_resumed_as_the_first_run_would_have_written_it(db):
    """License i is drawn from its own seed: a run that stopped after 60 licenses and was run again
    writes the same book as one run, and a third run writes nothing more."""
    from licensing.demo.bulk import bench_licenses, seed_bulk

    with transaction.atomic():
        seed_bulk(130, batch=50)
        straight = bench_signature()
        transaction.set_rollback(True)
    seed_bulk(60, batch=25)
    assert bench_licenses().count() == 60
    counted = []
    seed_bulk(130, batch=50, progress=counted.append)
    assert counted == [60, 50, 20]  # what was there, then each batch
    assert bench_signature() == straight and len(straight) == 130
    seed_bulk(130)
    assert bench_signature() == straight


def test_bench_identifiers_are_unique_by_construction():
    from licensing.demo.bulk import PATENT_SERIAL_BASE, USCC_SERIAL_BASE
    from licensing.demo.identifiers import make_patent_number, make_uscc

    n = 60_000  # the enterprises and the patents of a 1,000,000-license book
    assert len({make_uscc(USCC_SERIAL_BASE + i, "310115") for i in range(n)}) == n
    assert len({make_patent_number(2020, PATENT_SERIAL_BASE + i) for i in range(n)}) == n


def indexes_of_the_loaded_tables() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('licensing_license', "
            "'licensing_installment', 'licensing_payment', 'licensing_royaltyreport', 'licensing_licensepatent', "
            "'licensing_insurancepolicy', 'licensing_insuranceclaim')"
        )
        return dict(cursor.fetchall())


# Indexes a load sets aside (the rest are keys and unique ones, which stay).
SECONDARY = {"license_next_due", "installment_open_due_on", "payment_reference_trgm"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_load_killed_with_its_indexes_set_aside_leaves_them_to_the_next_run(postgres_only, monkeypatch):
    """Indexes set aside for a load wait in a table until built: a load killed before it built
    them (no `finally` runs on SIGKILL) leaves them to the next run, which builds them."""
    from licensing.demo import bulk

    indexes_before = indexes_of_the_loaded_tables()
    assert indexes_before.keys() >= SECONDARY
    monkeypatch.setattr(bulk, "_build_set_aside", lambda: None)  # killed before the build
    bulk.seed_bulk(100, batch=50)
    assert len(indexes_of_the_loaded_tables()) < len(indexes_before)
    monkeypatch.undo()

    bulk.seed_bulk(110, batch=50)  # too small a load to set any aside: it builds those waiting
    assert indexes_of_the_loaded_tables() == indexes_before
    assert bulk.bench_licenses().count() == 110


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_on_postgresql_batches_are_copied_by_a_writer_thread_and_a_failed_batch_is_resumed(postgres_only, monkeypatch):
    """The writer thread commits batch by batch; when a batch fails the load stops with its error,
    what was committed stays, and the same command completes it. The sequences follow the ids the
    load wrote, so the services insert after them."""
    from licensing.demo import bulk
    from licensing.models import License, Payment

    write = bulk._Table.write
    calls = {"n": 0}

    def fail_in_the_second_batch(self, rows, last_id, cursor):
        if self.model is License:
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError("disk full")
        return write(self, rows, last_id, cursor)

    indexes_before = indexes_of_the_loaded_tables()
    assert indexes_before.keys() >= SECONDARY
    monkeypatch.setattr(bulk._Table, "write", fail_in_the_second_batch)
    with pytest.raises(OSError, match="disk full"):
        bulk.seed_bulk(400, batch=100)
    assert bulk.bench_licenses().count() == 100
    assert indexes_of_the_loaded_tables() == indexes_before  # set aside for the load, built again
    monkeypatch.setattr(bulk._Table, "write", write)

    bulk.seed_bulk(400, batch=100)
    assert bulk.bench_licenses().count() == 400
    assert indexes_of_the_loaded_tables() == indexes_before
    assert Installment.objects.count() > 400 and Payment.objects.count() > 0
    lic = License.objects.order_by("-pk").first()
    new = License.objects.create(offer=lic.offer, institution=lic.institution, enterprise=lic.enterprise, price=0)
    assert new.pk == lic.pk + 1
