"""Money in: payments recorded by the TTO, and transfers reported by SMEs with their receipts."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain import clock, identifiers
from ..domain.numbers import money_text
from ..domain.text import single_line
from .base import MONEY, new_token, private_storage
from .licenses import License
from .parties import Enterprise


class PaymentQuerySet(models.QuerySet):
    def standing(self) -> "PaymentQuerySet":
        """Money that came in and stays in: every payment not reversed (what collections count)."""
        return self.filter(state=Payment.State.RECORDED)


class Payment(FSMModelMixin, models.Model):
    """Money received on a license. A payment recorded in error (a transfer that bounced, another
    license's money) is reversed, never deleted: `services.reverse_payment`."""

    class State(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        REVERSED = "reversed", _("Reversed")

    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="payments", verbose_name=_("license"))
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(_("bank reference"), max_length=100, validators=[single_line])
    # Unique per license, not across the book: nobody can take or probe another license's keys.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=clock.now)
    state = FSMField(_("state"), default=State.RECORDED, choices=State.choices, protected=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reversed by"),
    )
    reversal_reason = models.TextField(_("why it was reversed"), blank=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_on", "-recorded_at"]
        # The admin lists payments newest first (its ordering plus -pk): with this index it reads a
        # page of them instead of sorting every payment of the book.
        indexes = [
            models.Index(fields=["-paid_on", "-recorded_at", "-id"], name="payment_newest_first"),
            models.Index(fields=["amount", "id"], name="payment_by_amount"),  # the admin list's other sort
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
            models.UniqueConstraint(fields=["license", "idempotency_key"], name="payment_key_unique_per_license"),
        ]

    def __str__(self) -> str:
        return f"{money_text(self.amount)} · {self.paid_on} · {self.reference}"

    @transition(field=state, source=State.RECORDED, target=State.REVERSED, custom={"label": _("Reverse")})
    def reverse(self, at: datetime, by: Any, reason: str) -> None:
        self.reversed_at, self.reversed_by, self.reversal_reason = at, by, reason


def receipt_path(report: "PaymentReport", filename: str) -> str:
    extension = Path(filename).suffix.lower()
    return f"receipts/{report.license_id}/{new_token()}{extension}"


class PaymentReport(FSMModelMixin, models.Model):
    """A bank transfer as the SME reports it. The TTO confirms it against its account, which
    records the payment; until then it is only a claim."""

    class State(models.TextChoices):
        REPORTED = "reported", _("Awaiting confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    license = models.ForeignKey(
        License, on_delete=models.PROTECT, related_name="payment_reports", verbose_name=_("license")
    )
    state = FSMField(_("state"), default=State.REPORTED, choices=State.choices, protected=True)
    amount = models.DecimalField(_("amount (CNY)"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    paid_on = models.DateField(_("transfer date"))
    reference = models.CharField(_("bank reference"), max_length=100, validators=[single_line])
    receipt = models.FileField(_("receipt"), upload_to=receipt_path, storage=private_storage, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("reported by")
    )
    reported_at = models.DateTimeField(_("reported at"), default=clock.now)
    payment = models.OneToOneField(
        Payment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="report",
        verbose_name=_("recorded payment"),
    )

    class Meta:
        verbose_name = _("payment report")
        verbose_name_plural = _("payment reports")
        ordering = ["-reported_at"]
        indexes = [models.Index(fields=["-reported_at", "-id"], name="report_newest_first")]  # as payment_newest_first

    def __str__(self) -> str:
        return f"{money_text(self.amount)} · {self.paid_on} · {self.reference}"

    @transition(field=state, source=State.REPORTED, target=State.CONFIRMED, custom={"label": _("Confirm")})
    def confirm(self, payment: Payment) -> None:
        self.payment = payment

    @transition(field=state, source=State.REPORTED, target=State.REJECTED, custom={"label": _("Reject")})
    def reject(self) -> None:
        pass


class CreditMovement(models.Model):
    """The license's credit, movement by movement: money received beyond what was owed, its use
    on what fell due next, and any refund. The balance is kept on the license (License.credit)."""

    class Kind(models.TextChoices):
        OVERPAYMENT = "overpayment", _("Overpayment kept as credit")
        APPLIED = "applied", _("Credit applied to a payment due")
        REFUNDED = "refunded", _("Credit refunded")
        UNAPPLIED = "unapplied", _("Credit given back by a reversed payment")
        REVERSED = "reversed", _("Credit taken back: its payment was reversed")

    INCREASES = (Kind.OVERPAYMENT, Kind.UNAPPLIED)  # the others reduce the balance

    license = models.ForeignKey(
        License, on_delete=models.PROTECT, related_name="credit_movements", verbose_name=_("license")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(_("amount (CNY)"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("payment")
    )
    installment = models.ForeignKey(
        "licensing.Installment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(_("bank reference"), max_length=100, blank=True, validators=[single_line])
    reason = models.TextField(_("reason"), blank=True)
    at = models.DateTimeField(_("at"), default=clock.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("credit movement")
        verbose_name_plural = _("credit movements")
        ordering = ["-at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="credit_movement_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {money_text(self.amount)}"

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.kind in self.INCREASES else -self.amount


def invoice_path(invoice: "InvoiceRequest", filename: str) -> str:
    return f"invoices/{invoice.license_id}/{new_token()}.pdf"


class InvoiceDetails(models.Model):
    """What a fapiao names the buyer by (发票抬头): asked with each request, kept per enterprise."""

    buyer_name = models.CharField(_("buyer name"), max_length=200, validators=[single_line])
    taxpayer_number = models.CharField(
        _("taxpayer number"),
        max_length=18,
        validators=[identifiers.normalize_uscc],  # type: ignore[list-item]  # returns the code, ignored here
        help_text=_("纳税人识别号: the enterprise's Unified Social Credit Code."),
    )
    address_phone = models.CharField(_("address and phone"), max_length=300, blank=True, validators=[single_line])
    bank_account = models.CharField(_("bank and account"), max_length=300, blank=True, validators=[single_line])
    email = models.EmailField(_("email to receive it"), validators=[single_line])

    FIELDS = ("buyer_name", "taxpayer_number", "address_phone", "bank_account", "email")

    class Meta:
        abstract = True

    def clean(self) -> None:
        if self.taxpayer_number:
            self.taxpayer_number = identifiers.normalize_uscc(self.taxpayer_number)


class InvoiceProfile(InvoiceDetails):
    """The details an enterprise last asked an invoice with: the next request starts from them."""

    enterprise = models.OneToOneField(Enterprise, on_delete=models.CASCADE, related_name="invoice_profile")

    class Meta:
        verbose_name = _("invoice details")
        verbose_name_plural = _("invoice details")

    def __str__(self) -> str:
        return self.buyer_name


class InvoiceRequestQuerySet(models.QuerySet):
    def overdue(self, on: date) -> "InvoiceRequestQuerySet":
        return self.filter(InvoiceRequest.overdue_q(on))


class InvoiceRequest(FSMModelMixin, InvoiceDetails):
    """An SME asks for the invoice (fapiao) of one payment; the TTO's finance office issues it in
    the tax system and records it here with its PDF, which the SME downloads. The product tracks
    invoices; it does not issue them."""

    ISSUE_WITHIN_DAYS = 15  # after the request: later, it is overdue in the work queue

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        ISSUED = "issued", _("Issued")

    class Kind(models.TextChoices):
        ORDINARY = "ordinary", _("Ordinary VAT invoice (增值税普通发票)")
        SPECIAL = "special", _("Special VAT invoice (增值税专用发票)")

    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, related_name="invoice_request", verbose_name=_("payment")
    )
    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="invoice_requests")
    state = FSMField(_("state"), default=State.REQUESTED, choices=State.choices, protected=True, db_index=True)
    requested_at = models.DateTimeField(_("requested at"), default=clock.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    invoice_number = models.CharField(_("invoice number"), max_length=40, blank=True, validators=[single_line])
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    kind = models.CharField(_("invoice kind"), max_length=10, choices=Kind.choices, blank=True)
    # None: exempt from VAT (免税, a registered technology contract); else the rate charged.
    vat_rate = models.DecimalField(_("VAT rate"), null=True, blank=True, max_digits=5, decimal_places=4)
    document = models.FileField(_("invoice (PDF)"), upload_to=invoice_path, storage=private_storage, blank=True)

    objects = InvoiceRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice request")
        verbose_name_plural = _("invoice requests")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return _("Invoice for %(payment)s") % {"payment": self.payment}

    def due_by(self) -> date:
        return clock.local_date(self.requested_at) + timedelta(days=self.ISSUE_WITHIN_DAYS)

    def is_overdue_on(self, on: date) -> bool:
        """Requested more than ISSUE_WITHIN_DAYS days before `on` and not issued (overdue_q, twin)."""
        return self.state == self.State.REQUESTED and self.due_by() < on

    @staticmethod
    def overdue_q(on: date) -> Q:
        cutoff = clock.start_of_day(on - timedelta(days=InvoiceRequest.ISSUE_WITHIN_DAYS))
        return Q(state=InvoiceRequest.State.REQUESTED, requested_at__lt=cutoff)

    @property
    def vat_exempt(self) -> bool:
        return self.state == self.State.ISSUED and self.vat_rate is None

    @transition(field=state, source=State.REQUESTED, target=State.ISSUED, custom={"label": _("Record the invoice")})
    def issue(self, number: str, on: date, kind: str, vat_rate: Decimal | None) -> None:
        self.invoice_number, self.issued_on, self.kind, self.vat_rate = number, on, kind, vat_rate
