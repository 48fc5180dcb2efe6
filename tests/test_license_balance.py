"""A license's balance (outstanding, next due date) is kept on its row by the database's triggers
(models/balances.py), whatever writes the installments: a service, a bulk update, a stale save of
the license. Every test that uses the database also checks it at its end (conftest.balances_kept)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F

from licensing import selectors, services
from licensing.models import Installment, License


@pytest.fixture
def purchased(offer, make_license, clock):
    clock("2026-08-01")
    return make_license(offer, "purchased", start="2026-01-31")  # 3 x 33,333.33/.33/.34


def kept(lic):
    return License.objects.values_list("outstanding_amount", "next_due_date").get(pk=lic.pk)


def test_a_purchase_and_a_payment_keep_the_balance(purchased, staff):
    first, second, _third = purchased.installments.order_by("sequence")
    assert kept(purchased) == (Decimal("100000.00"), first.effective_due_date)

    services.record_payment(
        license_id=purchased.pk,
        amount=Decimal("40000.00"),
        paid_on=dt.date(2026, 8, 1),
        reference="BANK-1",
        idempotency_key="k1",
        by=staff,
    )

    assert kept(purchased) == (Decimal("60000.00"), second.effective_due_date)


def test_a_bulk_update_of_installments_keeps_it_too(purchased):
    purchased.installments.update(paid_amount=F("amount"))
    assert kept(purchased) == (Decimal("0.00"), None)

    Installment.objects.filter(license=purchased, sequence=3).update(paid_amount=0, effective_due_date="2027-05-04")
    assert kept(purchased) == (Decimal("33333.34"), dt.date(2027, 5, 4))


def test_a_stale_save_of_the_license_never_writes_an_old_balance_back(purchased):
    stale = License.objects.get(pk=purchased.pk)  # read before the installments change
    purchased.installments.update(paid_amount=F("amount"))

    stale.contact = "Ms Li 138 0000 0000"
    stale.save()  # every column, the old balance among them

    assert kept(purchased) == (Decimal("0.00"), None)


def test_a_deleted_installment_leaves_the_balance(purchased):
    purchased.installments.order_by("sequence").first().delete()
    second = purchased.installments.order_by("sequence").first()
    assert kept(purchased) == (Decimal("66666.67"), second.effective_due_date)


def test_a_period_still_to_report_is_the_next_due_with_nothing_owed_yet(purchased):
    last = purchased.installments.order_by("sequence").last()
    purchased.installments.update(paid_amount=F("amount"))
    Installment.objects.filter(pk=last.pk).update(amount=0, paid_amount=0, report_pending=True)
    assert kept(purchased) == (Decimal("0.00"), last.effective_due_date)


def test_the_twin_finds_a_balance_written_past_the_triggers(purchased):
    """The check every test ends with can fail: a balance written past the triggers is found."""
    assert not selectors.balances_out_of_step().exists()
    License.objects.filter(pk=purchased.pk).update(state=purchased.state)  # the trigger runs: still right
    assert not selectors.balances_out_of_step().exists()

    from django.db import connection

    with connection.cursor() as cursor:  # the triggers off, as a careless restore would leave it
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER licensing_license_balance")
        cursor.execute("UPDATE licensing_license SET outstanding_amount = 1 WHERE id = %s", [purchased.pk])
    assert list(selectors.balances_out_of_step().values_list("pk", flat=True)) == [purchased.pk]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            from licensing.models import balances

            for statement in balances.SQLITE[:2]:
                cursor.execute(statement)
    License.objects.filter(pk=purchased.pk).update(state=purchased.state)  # the trigger puts it right again
    assert not selectors.balances_out_of_step().exists()
