"""Overpayments become a credit (issue 14, part 3): it pays what falls due next, oldest first, is
shown to both sides, and a refund of it is recorded with its reason, never silent."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from licensing import services
from licensing.models import AuditEvent, CreditMovement, Installment
from licensing.roles import TTO_STAFF_GROUP


def pay(lic, amount, key, staff, on):
    return services.record_payment(
        license_id=lic.pk, amount=Decimal(amount), paid_on=on, reference=f"ICBC-{key}", idempotency_key=key, by=staff
    )


def test_an_overpayment_is_kept_as_credit_and_pays_the_purchase_first(trial_with_credit, staff):
    assert trial_with_credit.credit == Decimal("3000.00")

    lic = services.purchase(license_id=trial_with_credit.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))

    lic.refresh_from_db()
    first = lic.installments.filter(kind=Installment.Kind.PURCHASE).order_by("sequence").first()
    assert lic.credit == Decimal("0.00") and first.paid_amount == Decimal("3000.00")
    kinds = list(lic.credit_movements.order_by("pk").values_list("kind", "amount"))
    assert kinds == [("overpayment", Decimal("3000.00")), ("applied", Decimal("3000.00"))]
    assert lic.outstanding == Decimal("87000.00")


def test_a_refund_of_credit_is_recorded_with_its_reason(trial_with_credit, staff):
    with pytest.raises(ValidationError, match="no more can be refunded"):
        services.refund_credit(
            license_id=trial_with_credit.pk, amount="3000.01", reference="R", by=staff, reason="Asked by the SME"
        )
    with pytest.raises(ValidationError):
        services.refund_credit(license_id=trial_with_credit.pk, amount="100", reference="R", by=staff, reason=" ")

    services.refund_credit(
        license_id=trial_with_credit.pk, amount="1000.00", reference="ICBC-REF-1", by=staff, reason="Asked by the SME"
    )

    trial_with_credit.refresh_from_db()
    assert trial_with_credit.credit == Decimal("2000.00")
    refund = CreditMovement.objects.get(kind="refunded")
    assert (refund.reference, refund.reason, refund.by) == ("ICBC-REF-1", "Asked by the SME", staff)
    event = AuditEvent.objects.filter(license=trial_with_credit, changes__has_key="credit").latest("pk")
    assert event.changes["credit"] == ["3000.00", "2000.00"] and event.by == staff


def test_both_sides_see_the_credit(trial_with_credit, staff, sme_client):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    tto = Client()
    tto.force_login(staff)
    assert trial_with_credit.enterprise == sme_client.member.enterprise

    admin_page = tto.get(
        reverse("admin:licensing_license_change", args=[trial_with_credit.pk]), headers={"accept-language": "en"}
    ).content.decode()
    portal_page = sme_client.get(f"/licenses/{trial_with_credit.pk}/", headers={"accept-language": "en"})

    assert "Overpayment kept as credit" in admin_page and "Refund credit" in admin_page
    assert "3,000.00" in portal_page.content.decode() and "Credit" in portal_page.content.decode()


def test_what_the_credit_does_reads_in_the_readers_language(trial_with_credit, staff):
    """Issue 22, point 5: the reasons the credit writes are kept as messages and worded when read,
    not frozen in the language of whoever caused them (English here)."""
    lic = services.purchase(license_id=trial_with_credit.pk, plan="lump_sum", by=staff)
    kept, applied = (
        AuditEvent.objects.filter(license=lic, content_type__model="license", changes__has_key="credit")
        .order_by("pk")
        .values_list("pk", flat=True)[:2]
    )
    paid = AuditEvent.objects.get(license=lic, reason_code="Paid from the license's credit")
    applied_to = CreditMovement.objects.get(license=lic, kind=CreditMovement.Kind.APPLIED).installment
    assert (paid.reason, paid.by, paid.object_id) == ("", staff, applied_to.pk)  # into the purchase, by who bought
    assert applied_to.kind == Installment.Kind.PURCHASE and applied_to.paid_amount == Decimal("3000.00")
    with translation.override("zh-hans"):
        assert AuditEvent.objects.get(pk=kept).why == str(CreditMovement.Kind.OVERPAYMENT.label)
        assert AuditEvent.objects.get(pk=applied).why == str(CreditMovement.Kind.APPLIED.label)
        assert paid.why == translation.gettext("Paid from the license's credit") != "Paid from the license's credit"
