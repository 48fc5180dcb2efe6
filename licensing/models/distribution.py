"""Where the money goes after it is collected (收益分配): the inventors of each patent and their
shares, the institution's distribution policy, the costs it recovers first, and the distribution
ledger, one allocation per amount of income, never edited (a reversal is a new allocation).

The split itself is domain.distribution's; services.distribution writes it in the transaction
that applies the money."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain import clock
from ..domain import distribution as rules
from ..domain.numbers import money_text
from ..domain.text import multi_line, single_line
from .base import FRACTION, MONEY
from .catalogue import Patent
from .equity import EquityConversion
from .insurance import InsuranceClaim
from .licenses import Installment, License
from .parties import Institution
from .payments import CreditMovement, Payment


class Inventor(models.Model):
    """A person who made an institution's patents (发明人): paid their share of what they earn."""

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="inventors", verbose_name=_("institution")
    )
    name = models.CharField(_("name"), max_length=100, validators=[single_line])
    college = models.CharField(
        _("unit or college"),
        max_length=100,
        validators=[single_line],
        help_text=_("The school or unit the inventor belongs to, e.g. School of Mechanical Engineering."),
    )
    staff_number = models.CharField(_("staff number"), max_length=40, blank=True, validators=[single_line])
    email = models.EmailField(_("email"), blank=True, validators=[single_line])
    # An inventor with an account sees, read-only, their patents, licenses, money and statements.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inventor",
        verbose_name=_("account"),
    )

    class Meta:
        verbose_name = _("inventor")
        verbose_name_plural = _("inventors")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "staff_number"],
                condition=~Q(staff_number=""),
                name="inventor_staff_number_once",
                violation_error_message=_("Another inventor of this institution has this staff number."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.college})"


class InventorShareSet(models.Model):
    """The shares of a patent's inventors from a day on. A change is a new set: money received
    before it keeps the shares it was allocated by."""

    patent = models.ForeignKey(Patent, on_delete=models.PROTECT, related_name="share_sets", verbose_name=_("patent"))
    effective_from = models.DateField(_("applies to money received from"))
    reason = models.TextField(_("reason"), blank=True, validators=[multi_line])
    # The shares as words ("Li Wei 60.00%, Wang Fang 40.00%"): what its audit event and lists show.
    summary = models.CharField(_("shares"), max_length=1000, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=clock.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("inventors' shares")
        verbose_name_plural = _("inventors' shares")
        ordering = ["patent", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["patent", "effective_from"], name="one_share_set_a_day"),
        ]

    def __str__(self) -> str:
        return _("%(patent)s from %(date)s") % {"patent": self.patent.number, "date": self.effective_from}


class InventorShare(models.Model):
    share_set = models.ForeignKey(InventorShareSet, on_delete=models.CASCADE, related_name="shares")
    inventor = models.ForeignKey(Inventor, on_delete=models.PROTECT, related_name="shares", verbose_name=_("inventor"))
    share = models.DecimalField(_("share"), **FRACTION)

    class Meta:
        verbose_name = _("inventor's share")
        verbose_name_plural = _("inventors' shares")
        ordering = ["-share", "inventor_id"]
        constraints = [
            models.UniqueConstraint(fields=["share_set", "inventor"], name="inventor_once_per_share_set"),
            models.CheckConstraint(condition=Q(share__gt=0, share__lte=1), name="inventor_share_in_bounds"),
        ]

    def __str__(self) -> str:
        return f"{self.inventor} {self.share * 100:.2f}%"


class PatentCost(models.Model):
    """What the institution paid for a patent (filing, annual and agency fees): recovered from its
    income before the net is split, when the policy says so."""

    class Kind(models.TextChoices):
        FILING = "filing", _("Filing and examination fees")
        ANNUAL = "annual", _("Annual fees")
        AGENCY = "agency", _("Patent agency fees")
        OTHER = "other", _("Other costs")

    patent = models.ForeignKey(Patent, on_delete=models.PROTECT, related_name="costs", verbose_name=_("patent"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount (CNY)"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    incurred_on = models.DateField(_("paid on"))
    description = models.CharField(_("description"), max_length=200, blank=True, validators=[single_line])
    recorded_at = models.DateTimeField(_("recorded at"), default=clock.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("patent cost")
        verbose_name_plural = _("patent costs")
        ordering = ["-incurred_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="patent_cost_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {money_text(self.amount)} · {self.incurred_on}"


class DistributionPolicy(models.Model):
    """An institution's rule for splitting licence income, from a day on (a change is a new
    version). Without one, the law's default applies: half of the net income and half of the
    shares to the inventors, the rest to the institution (`statutory`)."""

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="distribution_policies", verbose_name=_("institution")
    )
    effective_from = models.DateField(_("applies to money received from"))
    vat_rate = models.DecimalField(
        _("VAT rate when the contract is not registered"),
        default=Decimal("0.06"),
        max_digits=5,
        decimal_places=4,
        validators=FRACTION["validators"],
        help_text=_("Deducted from the amount received (which includes it); 0.06 means 6%."),
    )
    tax_rate = models.DecimalField(
        _("other taxes"),
        default=Decimal("0"),
        max_digits=5,
        decimal_places=4,
        validators=FRACTION["validators"],
        help_text=_("Of the amount net of VAT."),
    )
    service_rate = models.DecimalField(
        _("TTO service rate"),
        default=Decimal("0"),
        max_digits=5,
        decimal_places=4,
        validators=FRACTION["validators"],
        help_text=_("Of the amount net of VAT."),
    )
    deduct_costs = models.BooleanField(
        _("recover the patent's costs first"),
        default=False,
        help_text=_("Filing, annual and agency fees the institution paid, recovered before the net is split."),
    )
    inventors_share = models.DecimalField(_("inventor team's share of the net"), default=Decimal("0.5"), **FRACTION)
    college_share = models.DecimalField(_("college's share of the net"), default=Decimal("0"), **FRACTION)
    tto_share = models.DecimalField(_("TTO's share of the net"), default=Decimal("0"), **FRACTION)
    institution_share = models.DecimalField(_("institution's share of the net"), default=Decimal("0.5"), **FRACTION)
    equity_inventors_share = models.DecimalField(
        _("inventor team's share of equity"), default=Decimal("0.5"), **FRACTION
    )
    own_rule_approved = models.BooleanField(
        _("the institution's own approved rule"),
        default=False,
        help_text=_("Below the legal default (half of the net income and of the shares) only with an approved rule."),
    )
    rule_document = models.CharField(
        _("rule document reference"),
        max_length=200,
        blank=True,
        validators=[single_line],
        help_text=_("For example 校发〔2024〕12号."),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=clock.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("recorded by")
    )

    # What a version states (its form's fields, its creation event's values).
    TERMS = (
        "effective_from",
        "vat_rate",
        "tax_rate",
        "service_rate",
        "deduct_costs",
        "inventors_share",
        "college_share",
        "tto_share",
        "institution_share",
        "equity_inventors_share",
        "own_rule_approved",
        "rule_document",
    )

    class Meta:
        verbose_name = _("distribution policy")
        verbose_name_plural = _("distribution policies")
        ordering = ["institution", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "effective_from"], name="one_policy_a_day"),
            models.CheckConstraint(
                condition=Q(inventors_share__gte=0, college_share__gte=0, tto_share__gte=0, institution_share__gte=0),
                name="policy_shares_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return _("Distribution policy from %(date)s") % {"date": self.effective_from}

    @classmethod
    def statutory(cls, institution: Institution) -> "DistributionPolicy":
        """The law's default (unsaved): half to the inventors, half to the institution."""
        return cls(institution=institution, effective_from=date.min, vat_rate=Decimal("0.06"))

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        parts = [self.inventors_share, self.college_share, self.tto_share, self.institution_share]
        if None not in parts and sum(parts) != 1:
            errors["institution_share"] = _(
                "The shares of the net add up to %(sum)s%%: they must add up to exactly 100%%."
            ) % {"sum": f"{sum(parts) * 100:.2f}"}
        if self.tax_rate is not None and self.service_rate is not None and self.tax_rate + self.service_rate >= 1:
            errors["service_rate"] = _("Taxes and the service rate together must be less than 100%.")
        if (
            self.inventors_share is not None
            and self.equity_inventors_share is not None
            and rules.below_legal_floor(self.inventors_share, self.equity_inventors_share)
            and not (self.own_rule_approved and self.rule_document.strip())
        ):
            errors["inventors_share"] = _(
                "The law gives the inventors at least half of the net income and half of the shares. "
                "Below that only with the institution's own approved rule: tick it and give its document."
            )
        if errors:
            raise ValidationError(errors)

    def split(self, vat_exempt: bool) -> rules.Split:
        return rules.Split(
            vat_rate=None if vat_exempt else self.vat_rate,
            tax_rate=self.tax_rate,
            service_rate=self.service_rate,
            deduct_costs=self.deduct_costs,
            inventors=self.inventors_share,
            college=self.college_share,
            tto=self.tto_share,
            institution=self.institution_share,
        )


class Allocation(models.Model):
    """One amount of licence income, allocated when it is applied to what is owed (or taken back:
    a negative amount that `reverses` an earlier one). Its lines add up to its amount exactly."""

    class Source(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        CREDIT = "credit", _("Credit applied")
        CORRECTION = "correction", _("Corrected to credit")
        INSURANCE = "insurance", _("Insurance compensation")
        EQUITY = "equity", _("Equity executed")
        REVERSAL = "reversal", _("Payment reversed")

    # What the income was for: an installment's kind, or these two.
    FEE_KINDS = [
        *Installment.Kind.choices,
        ("insurance", _("Insurance compensation")),
        ("equity", _("Equity")),
    ]

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    license = models.ForeignKey(
        License, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("license")
    )
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    fee_kind = models.CharField(_("for"), max_length=20, choices=FEE_KINDS)
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    received_on = models.DateField(_("received on"), db_index=True)
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, null=True, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, related_name="allocations")
    credit_movement = models.ForeignKey(CreditMovement, on_delete=models.PROTECT, null=True, related_name="+")
    claim = models.ForeignKey(InsuranceClaim, on_delete=models.PROTECT, null=True, related_name="+")
    conversion = models.ForeignKey(EquityConversion, on_delete=models.PROTECT, null=True, related_name="+")
    # None: the law's default applied (the institution had no policy in force that day).
    policy = models.ForeignKey(DistributionPolicy, on_delete=models.PROTECT, null=True, related_name="+")
    vat_exempt = models.BooleanField(_("VAT-exempt"), default=False)
    at = models.DateTimeField(_("at"), default=clock.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("distribution ledger")
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="allocation_not_zero"),
            # None twice: one allocation per payment and installment, per credit movement, claim, conversion.
            models.UniqueConstraint(
                fields=["payment", "installment"], condition=Q(source="payment"), name="allocated_once_per_payment"
            ),
            models.UniqueConstraint(
                fields=["payment", "installment"], condition=Q(source="reversal"), name="reversed_once_per_payment"
            ),
            models.UniqueConstraint(fields=["credit_movement"], name="allocated_once_per_credit_movement"),
            models.UniqueConstraint(fields=["claim"], name="allocated_once_per_claim"),
            models.UniqueConstraint(fields=["conversion"], name="allocated_once_per_conversion"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} · {money_text(self.amount)} · {self.received_on}"


class AllocationLine(models.Model):
    class Party(models.TextChoices):
        VAT = rules.VAT, _("VAT")
        TAX = rules.TAX, _("Other taxes")
        SERVICE = rules.SERVICE, _("TTO service fee")
        COSTS = rules.COSTS, _("Patent costs recovered")
        INVENTOR = rules.INVENTOR, _("Inventor")
        COLLEGE = rules.COLLEGE, _("College")
        TTO = rules.TTO, _("TTO")
        INSTITUTION = rules.INSTITUTION, _("Institution")

    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="lines")
    # Copied from the allocation, so a year's totals per party read one table by an index.
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField(_("received on"))
    patent = models.ForeignKey(Patent, on_delete=models.PROTECT, related_name="+", verbose_name=_("patent"))
    party = models.CharField(_("party"), max_length=12, choices=Party.choices)
    # For an inventor's line; None on an inventor line: the patent's inventors were not recorded yet.
    inventor = models.ForeignKey(
        Inventor, on_delete=models.PROTECT, null=True, related_name="lines", verbose_name=_("inventor")
    )
    college = models.CharField(_("college"), max_length=100, blank=True)
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)

    class Meta:
        verbose_name = _("allocation line")
        verbose_name_plural = _("allocation lines")
        ordering = ["allocation_id", "id"]
        indexes = [
            models.Index(fields=["institution", "received_on", "party"], name="line_year_party"),
            models.Index(fields=["inventor", "received_on"], name="line_inventor_year"),
        ]

    def __str__(self) -> str:
        return f"{self.get_party_display()} · {money_text(self.amount)}"

    def key(self) -> rules.Line:
        return rules.Line(self.patent_id, self.party, self.amount, self.inventor_id, self.college)


class PayoutBatch(FSMModelMixin, models.Model):
    """What the finance office pays in one run to one kind of payee (the inventors, or the
    colleges): everything allocated to each up to the batch's last day and not in an earlier
    batch. Exported for payroll or the bank, then marked paid with the bank's reference; a batch
    not yet paid can be cancelled, which returns its amounts to what is owed."""

    class State(models.TextChoices):
        PREPARED = "prepared", _("Prepared, to be paid")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    class Payee(models.TextChoices):
        INVENTORS = "inventors", _("Inventors")
        COLLEGES = "colleges", _("Colleges")

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="payout_batches", verbose_name=_("institution")
    )
    payee = models.CharField(_("paid to"), max_length=10, choices=Payee.choices)
    up_to = models.DateField(_("money received up to"))
    state = FSMField(_("state"), default=State.PREPARED, choices=State.choices, protected=True, db_index=True)
    total = models.DecimalField(_("total (CNY)"), **MONEY)
    prepared_at = models.DateTimeField(_("prepared at"), default=clock.now)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("prepared by")
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    reference = models.CharField(_("bank or payroll reference"), max_length=100, blank=True, validators=[single_line])

    class Meta:
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")
        ordering = ["-prepared_at", "-id"]

    def __str__(self) -> str:
        return _("Payout #%(id)s to %(payee)s up to %(date)s") % {
            "id": self.pk,
            "payee": self.get_payee_display(),
            "date": self.up_to,
        }

    @transition(field=state, source=State.PREPARED, target=State.PAID, custom={"label": _("Mark paid")})
    def mark_paid(self, on: date, reference: str) -> None:
        self.paid_on, self.reference = on, reference

    @transition(field=state, source=State.PREPARED, target=State.CANCELLED, custom={"label": _("Cancel")})
    def cancel(self) -> None:
        pass


class PayoutItem(models.Model):
    batch = models.ForeignKey(PayoutBatch, on_delete=models.CASCADE, related_name="items")
    inventor = models.ForeignKey(
        Inventor, on_delete=models.PROTECT, null=True, related_name="payouts", verbose_name=_("inventor")
    )
    college = models.CharField(_("college"), max_length=100, blank=True)
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)

    class Meta:
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        ordering = ["batch_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payout_positive")]

    def __str__(self) -> str:
        return f"{self.inventor or self.college} · {money_text(self.amount)}"
