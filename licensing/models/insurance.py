"""Patent-implementation insurance and financing guarantees, and claims on them."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain.money import ZERO, cny
from ..domain.text import single_line
from .base import FRACTION, MAX_PRICE, MONEY, NOT_NEGATIVE
from .licenses import License


class InsurancePolicy(models.Model):
    """Patent-implementation insurance, or a financing guarantee, covering one license."""

    class Kind(models.TextChoices):
        INSURANCE = "insurance", _("Patent-implementation insurance")
        GUARANTEE = "guarantee", _("Financing guarantee")

    license = models.OneToOneField(
        License, on_delete=models.CASCADE, related_name="insurance_policy", verbose_name=_("license")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.INSURANCE)
    insurer = models.CharField(_("insurer or guarantor"), max_length=200, validators=[single_line])
    insurer_email = models.EmailField(_("insurer contact email"), blank=True, validators=[single_line])
    insurer_language = models.CharField(
        _("language for the insurer's emails"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    policy_number = models.CharField(_("policy number"), max_length=100, validators=[single_line])
    coverage_ratio = models.DecimalField(_("coverage ratio"), **FRACTION)
    premium = models.DecimalField(
        _("premium (CNY)"), default=ZERO, validators=[*NOT_NEGATIVE, MaxValueValidator(MAX_PRICE)], **MONEY
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))

    class Meta:
        verbose_name = _("insurance policy")
        verbose_name_plural = _("insurance policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(premium__gte=0, coverage_ratio__gte=0, coverage_ratio__lte=1),
                name="policy_money_in_bounds",
                violation_error_message=_("The premium cannot be negative and the coverage ratio is between 0 and 1."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.insurer} {self.policy_number}"

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on <= self.starts_on:
            raise ValidationError({"ends_on": _("The policy must end after it starts.")})


class InsuranceClaim(FSMModelMixin, models.Model):
    class State(models.TextChoices):
        FILED = "filed", _("Filed")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected")

    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="claims", verbose_name=_("license"))
    policy = models.ForeignKey(
        InsurancePolicy, on_delete=models.PROTECT, related_name="claims", verbose_name=_("policy")
    )
    state = FSMField(_("state"), default=State.FILED, choices=State.choices, protected=True, db_index=True)
    outstanding_at_filing = models.DecimalField(_("outstanding at filing (CNY)"), **MONEY)
    claimed_amount = models.DecimalField(_("claimed amount (CNY)"), **MONEY)
    paid_amount = models.DecimalField(_("paid by insurer (CNY)"), null=True, blank=True, **MONEY)
    filed_on = models.DateField(_("filed on"))

    class Meta:
        verbose_name = _("insurance claim")
        verbose_name_plural = _("insurance claims")
        ordering = ["-filed_on"]
        indexes = [models.Index(fields=["-filed_on", "-id"], name="claim_newest_first")]  # as payment_newest_first
        constraints = [
            models.UniqueConstraint(
                fields=["license"],
                condition=~Q(state="rejected"),
                name="one_open_claim_per_license",
            )
        ]

    def __str__(self) -> str:
        return _("Claim #%(id)s") % {"id": self.pk}

    @staticmethod
    def amount_for(policy: InsurancePolicy, outstanding: Decimal) -> Decimal:
        return cny(policy.coverage_ratio * outstanding)

    @transition(field=state, source=State.FILED, target=State.APPROVED, custom={"label": _("Approve claim")})
    def approve(self) -> None:
        pass

    @transition(field=state, source=State.APPROVED, target=State.PAID, custom={"label": _("Record claim paid")})
    def record_paid(self, amount: Decimal) -> None:
        self.paid_amount = amount

    @transition(
        field=state,
        source=[State.FILED, State.APPROVED],
        target=State.REJECTED,
        custom={"label": _("Reject claim")},
    )
    def reject(self) -> None:
        pass
