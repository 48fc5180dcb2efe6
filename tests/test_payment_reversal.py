"""A payment recorded in error is reversed, never deleted (issue 24, point 3): what it paid is owed
again, the credit it left is taken back (and where that credit was applied, owed again), its
allocation is taken back to the fen by a negative allocation dated the day of the reversal, the
enterprise is told, and the figures that count money received leave it out."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from licensing import selectors, services
from licensing.models import (
    Allocation,
    AllocationLine,
    AuditEvent,
    CreditMovement,
    Installment,
    InvoiceRequest,
    License,
    Payment,
    Reminder,
)
from licensing.selectors import BookFilter

from .factories import OfferFactory


def pay(lic, amount, key, staff, on):
    return services.record_payment(
        license_id=lic.pk, amount=D(amount), paid_on=on, reference=f"ICBC-{key}", idempotency_key=key, by=staff
    )


def net_lines(**filters) -> dict:
    """What each line key of the ledger holds now, net of what was taken back (summed as Decimal:
    SQLite sums decimals as floats)."""
    held: dict = {}
    for *key, amount in AllocationLine.objects.filter(**filters).values_list(
        "patent_id", "party", "inventor_id", "college", "amount"
    ):
        held[tuple(key)] = held.get(tuple(key), D(0)) + amount
    return held


def total(rows) -> D:
    return sum(rows.values_list("amount", flat=True), D(0))


def ledger_rows() -> list[tuple]:
    return list(AllocationLine.objects.order_by("pk").values_list("pk", "allocation_id", "party", "amount"))


def test_a_reversed_payment_is_owed_again_and_its_allocation_taken_back_line_by_line(
    two_patent_license, staff, clock, django_capture_on_commit_callbacks
):
    lic = two_patent_license
    payment = pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))
    lic.refresh_from_db()
    assert lic.state == License.State.PAID_UP
    paid_lines = list(
        AllocationLine.objects.filter(allocation__payment=payment)
        .order_by("patent_id", "party", "inventor_id", "college")
        .values_list("patent_id", "party", "inventor_id", "college", "amount")
    )
    before = ledger_rows()
    due = lic.installments.get().effective_due_date
    reversed_on = due + dt.timedelta(days=10)

    clock(reversed_on.isoformat())
    with django_capture_on_commit_callbacks(execute=True):
        services.reverse_payment(payment_id=payment.pk, by=staff, reason="The transfer bounced (退票)")

    payment.refresh_from_db()
    lic.refresh_from_db()
    assert (payment.state, payment.reversed_by, payment.reversal_reason) == (
        "reversed",
        staff,
        "The transfer bounced (退票)",
    )
    inst = lic.installments.get()
    assert (inst.paid_amount, inst.state) == (D("0"), Installment.State.OVERDUE)  # it was due 10 days before
    assert lic.state == License.State.IN_ARREARS  # reopened, then in arrears: the price is overdue again
    assert lic.credit == D("0")
    taken = Allocation.objects.get(source="reversal")
    assert (taken.amount, taken.received_on, taken.payment_id, taken.installment_id, taken.by) == (
        D("-100000.00"),
        reversed_on,
        payment.pk,
        inst.pk,
        staff,
    )
    # Every line the payment allocated, exactly negated: the inventors', the colleges', the service's.
    assert sorted(
        (line.patent_id, line.party, line.inventor_id, line.college, -line.amount) for line in taken.lines.all()
    ) == sorted(paid_lines)
    assert all(total == 0 for total in net_lines().values())
    assert ledger_rows()[: len(before)] == before  # append-only: nothing earlier changed
    event = AuditEvent.objects.get(transition="reverse", object_id=payment.pk)
    assert (event.by, event.source_state, event.state, event.reason) == (
        staff,
        "recorded",
        "reversed",
        "The transfer bounced (退票)",
    )
    told = Reminder.objects.get(kind=Reminder.Kind.PAYMENT_REVERSED)
    assert (told.subject_id, told.license_id, told.state) == (payment.pk, lic.pk, Reminder.State.SENT)


def test_the_credit_a_payment_left_is_taken_back_with_it(trial_with_credit, staff):
    """8,000.00 paid on a 5,000.00 trial fee: reversed, the fee is owed again and the 3,000.00 of
    credit it left is taken back from the license's credit."""
    lic = trial_with_credit
    payment = lic.payments.get()
    services.reverse_payment(payment_id=payment.pk, by=staff, reason="Another license's money")

    lic.refresh_from_db()
    assert lic.credit == D("0")
    assert lic.installments.get(kind="trial_fee").paid_amount == D("0")
    movement = CreditMovement.objects.get(license=lic, kind=CreditMovement.Kind.REVERSED)
    assert (movement.amount, movement.payment_id, movement.reason) == (
        D("3000.00"),
        payment.pk,
        "Another license's money",
    )
    assert total(Allocation.objects.filter(license=lic)) == D("0")


def test_credit_already_applied_to_what_fell_due_next_is_owed_again(trial_with_credit, staff):
    """The 3,000.00 of credit paid the purchase's first installment in part: reversing the payment
    gives it back from that installment, which owes it again, and its allocation is taken back."""
    lic = trial_with_credit
    payment = lic.payments.get()
    services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))
    lic.refresh_from_db()
    assert lic.credit == D("0")
    first = lic.installments.get(kind="purchase", sequence=1)
    assert first.paid_amount == D("3000.00")
    plan = services.plan_payment_reversal(payment)
    assert ([(i.pk, a) for i, a in plan.unpaid], [(i.pk, a) for i, a in plan.unapplied], plan.from_credit) == (
        [(lic.installments.get(kind="trial_fee").pk, D("5000.00"))],
        [(first.pk, D("3000.00"))],
        D("3000.00"),
    )
    assert plan.owed_again == D("8000.00")

    services.reverse_payment(payment_id=payment.pk, by=staff, reason="Bounced")

    lic.refresh_from_db()
    first.refresh_from_db()
    assert (lic.credit, first.paid_amount) == (D("0"), D("0"))
    kinds = list(
        CreditMovement.objects.filter(license=lic).order_by("pk").values_list("kind", "amount", "installment_id")
    )
    assert kinds[-2:] == [("unapplied", D("3000.00"), first.pk), ("reversed", D("3000.00"), None)]
    assert total(Allocation.objects.filter(license=lic)) == D("0")
    assert all(total == 0 for total in net_lines(allocation__license=lic).values())
    assert sum(m.signed_amount for m in CreditMovement.objects.filter(license=lic)) == lic.credit


def test_a_payment_whose_credit_was_refunded_is_not_reversed_and_nothing_is_written(trial_with_credit, staff):
    lic = trial_with_credit
    payment = lic.payments.get()
    services.refund_credit(license_id=lic.pk, amount="1000.00", reference="R-1", by=staff, reason="Asked")
    before = (ledger_rows(), CreditMovement.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError, match=r"1000\.00 of the credit this payment left was refunded"):
        services.reverse_payment(payment_id=payment.pk, by=staff, reason="Bounced")
    assert (ledger_rows(), CreditMovement.objects.count(), AuditEvent.objects.count()) == before
    payment.refresh_from_db()
    assert payment.state == "recorded"


def test_a_reversal_needs_a_reason_happens_once_and_not_after_an_invoice_was_asked_for(
    two_patent_license, staff, make_member
):
    lic = two_patent_license
    payment = pay(lic, "60000.00", "part", staff, dt.date(2026, 7, 31))
    with pytest.raises(ValidationError):
        services.reverse_payment(payment_id=payment.pk, by=staff, reason="  ")
    member = make_member(lic.enterprise)
    details = {
        "buyer_name": "Suzhou Nano Co.",
        "taxpayer_number": lic.enterprise.uscc,
        "email": "finance@nano.example",
    }
    services.request_invoice(payment_id=payment.pk, details=details, by=member.user)
    with pytest.raises(ValidationError, match="An invoice was requested"):
        services.reverse_payment(payment_id=payment.pk, by=staff, reason="Bounced")

    other = pay(lic, "40000.00", "rest", staff, dt.date(2026, 7, 31))
    services.reverse_payment(payment_id=other.pk, by=staff, reason="Bounced")
    with pytest.raises(ValidationError, match="already reversed"):
        services.reverse_payment(payment_id=other.pk, by=staff, reason="Again")
    with pytest.raises(ValidationError, match="reversed: no invoice"):
        services.request_invoice(payment_id=other.pk, details=details, by=member.user)
    assert not InvoiceRequest.objects.filter(payment=other).exists()
    assert Allocation.objects.filter(source="reversal").count() == 1


def test_money_received_leaves_out_a_reversed_payment_and_the_same_transfer_may_come_again(
    two_patent_license, staff, clock
):
    lic = two_patent_license
    payment = pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))
    book = BookFilter(institution=None, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31))
    assert [row["amount"] for row in selectors.collections_by_month(book)] == [D("100000.00")]
    services.reverse_payment(payment_id=payment.pk, by=staff, reason="Bounced")
    assert selectors.collections_by_month(book) == []

    # The bank sends the same transfer again: it is recorded, not refused as already recorded.
    again = services.record_payment(
        license_id=lic.pk,
        amount=D("100000.00"),
        paid_on=dt.date(2026, 7, 31),
        reference="ICBC-all",
        idempotency_key="again",
        by=staff,
    )
    lic.refresh_from_db()
    assert lic.state == License.State.PAID_UP
    assert [row["amount"] for row in selectors.collections_by_month(book)] == [D("100000.00")]
    assert Payment.objects.standing().get() == again
    paid = total(AllocationLine.objects.filter(allocation__license=lic))
    assert paid == D("100000.00")


def test_a_reversed_payment_is_left_out_when_the_backfill_allocates_a_book(two_patent_license, staff):
    """The backfill replays the payments that stand: after a reversal it has nothing to add."""
    lic = two_patent_license
    payment = pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))
    services.reverse_payment(payment_id=payment.pk, by=staff, reason="Bounced")
    before = ledger_rows()
    call_command("allocate_book")
    assert ledger_rows() == before


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_enterprise_is_told_in_its_language_with_the_reason_and_what_it_owes_now(
    two_patent_license, staff, clock, language, django_capture_on_commit_callbacks, mailoutbox
):
    lic = two_patent_license
    lic.enterprise.language = language
    lic.enterprise.save()
    payment = pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))
    with django_capture_on_commit_callbacks(execute=True):
        services.reverse_payment(payment_id=payment.pk, by=staff, reason="退票 Bounced")
    (message,) = [m for m in mailoutbox if m.extra_headers["X-Reminder-Key"].startswith("payment_reversed:")]
    assert message.to == [lic.enterprise.contact_email]
    assert "100,000.00" in message.subject and "ICBC-all" in message.body and "退票 Bounced" in message.body
    inst = lic.installments.get()
    assert inst.effective_due_date.isoformat() in message.body  # what it owes now, and when
    words = {"zh-hans": "已被冲回", "en": "was reversed"}[language]
    assert words in message.subject


# -- in the admin ---------------------------------------------------------------------------------


def test_staff_reverse_a_payment_from_its_page_after_reading_what_it_does(client, two_institutions, mailoutbox):
    a, b = two_institutions["A"], two_institutions["B"]
    client.force_login(a["user"])
    payment = a["payment"]
    page = client.get(reverse("admin:licensing_payment_change", args=[payment.pk]))
    act_url = reverse("admin:licensing_payment_act", args=[payment.pk, "reverse"])
    assert page.status_code == 200 and act_url in page.content.decode()

    decision = client.get(act_url).content.decode()
    assert "冲回这笔付款会怎样" in decision  # staff read the admin in Chinese: what reversing it does
    assert "100.00" in decision and "通知企业" in decision  # owed again, and the enterprise is told
    refused = client.post(act_url, {"reason": ""})
    assert refused.status_code == 200
    payment.refresh_from_db()
    assert payment.state == "recorded"

    done = client.post(act_url, {"reason": "退票"})
    assert done.status_code == 302
    payment.refresh_from_db()
    assert (payment.state, payment.reversed_by, payment.reversal_reason) == ("reversed", a["user"], "退票")
    after = client.get(reverse("admin:licensing_payment_change", args=[payment.pk])).content.decode()
    assert act_url not in after and "退票" in after  # once; its reason on its page

    other = b["payment"]
    assert (
        client.post(reverse("admin:licensing_payment_act", args=[other.pk, "reverse"]), {"reason": "x"}).status_code
        == 404
    )
    other.refresh_from_db()
    assert other.state == "recorded"


def test_the_sme_sees_the_payment_reversed_on_its_license_page(two_patent_license, staff, make_member):
    lic = two_patent_license
    payment = pay(lic, "100000.00", "all", staff, dt.date(2026, 7, 31))
    services.reverse_payment(payment_id=payment.pk, by=staff, reason="Bounced <script>alert(1)</script>")
    member = make_member(lic.enterprise)
    client = Client()
    client.force_login(member.user)
    page = client.get(reverse("portal:license", args=[lic.pk])).content.decode()
    assert "<s>100,000.00</s>" in page and "Bounced &lt;script&gt;" in page
    assert reverse("portal:request_invoice", args=[lic.pk, payment.pk]) not in page


def test_credit_is_given_back_from_the_installments_it_paid_last_first(institution, staff, clock, make_license):
    """3,000.00 of credit paid installment 1 (2,000.00) and 1,000.00 of installment 2 at once; a
    later payment left 500.00 more. Reversing the first payment takes 500.00 from the balance and
    gives back the 2,500.00 rest from the installment paid last first: 1,000.00 of installment 2,
    then 1,500.00 of installment 1."""
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, trial_fee=D("5000.00"), price=D("6000.00"), installment_count=3)
    lic = make_license(offer, "trial")
    clock("2026-02-02")
    first = pay(lic, "8000.00", "over", staff, dt.date(2026, 2, 2))
    services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))
    one, two, _three = lic.installments.filter(kind="purchase").order_by("sequence")
    assert (one.paid_amount, two.paid_amount) == (D("2000.00"), D("1000.00"))
    clock("2026-07-31")
    pay(lic, "3500.00", "later", staff, dt.date(2026, 7, 31))  # the 3,000.00 still owed, and 500.00 of credit

    plan = services.plan_payment_reversal(Payment.objects.get(pk=first.pk))
    assert [(inst.pk, amount) for inst, amount in plan.unapplied] == [(two.pk, D("1000.00")), (one.pk, D("1500.00"))]
    services.reverse_payment(payment_id=first.pk, by=staff, reason="Bounced")
    lic.refresh_from_db()
    assert lic.credit == D("0")
    assert [i.paid_amount for i in lic.installments.filter(kind="purchase").order_by("sequence")] == [
        D("500.00"),
        D("1000.00"),
        D("2000.00"),
    ]
    assert all(amount >= 0 for amount in net_lines(allocation__license=lic).values())
    assert total(AllocationLine.objects.filter(allocation__license=lic)) == D("3500.00")  # the later payment's
