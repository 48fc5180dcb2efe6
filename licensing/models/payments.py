"""Money in: payments recorded by the TTO, and transfers reported by SMEs with their receipts."""

from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain import clock
from ..domain.numbers import money_text
from ..domain.text import single_line
from .base import MONEY, new_token, private_storage
from .licenses import License


class Payment(models.Model):
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

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_on", "-recorded_at"]
        # The admin lists payments newest first (its ordering plus -pk): with this index it reads a
        # page of them instead of sorting every payment of the book.
        indexes = [models.Index(fields=["-paid_on", "-recorded_at", "-id"], name="payment_newest_first")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
            models.UniqueConstraint(fields=["license", "idempotency_key"], name="payment_key_unique_per_license"),
        ]

    def __str__(self) -> str:
        return f"{money_text(self.amount)} · {self.paid_on} · {self.reference}"


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
        return self.amount if self.kind == self.Kind.OVERPAYMENT else -self.amount
