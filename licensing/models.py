"""Domain models. Each lifecycle is an FSM field; @transition methods check conditions and set
fields only. Services (services.py) run them inside a transaction and save.

The full License lifecycle (one place, drawn in the README by `manage.py state_table`):

    applied -> trial | rejected
    trial -> purchased | returned | expired | terminated
    purchased -> paid_up | in_arrears | terminated
    in_arrears -> purchased (cured) | paid_up | defaulted | terminated
    defaulted -> claim_filed | written_off
    claim_filed -> compensated | written_off (claim rejected)
"""

import secrets
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from . import clock, identifiers, size_class, windows, workdays
from .money import ZERO, add_months, cny
from .text import multi_line, single_line

MONEY = {"max_digits": 14, "decimal_places": 2}
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]
FRACTION = {
    "max_digits": 5,
    "decimal_places": 4,
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
}


def today() -> date:
    """The business date (licensing/clock.py): the local date, or the day a sweep runs as of."""
    return clock.today()


def audited(func):
    """Let a transition take `by=` (who) and `description=` (why) for the transition log."""
    return fsm_log_by(fsm_log_description(func))


def transition_label(method) -> str:
    """The human label of a transition method (one label per method, whatever the source)."""
    meta = method._django_fsm
    return next(iter(meta.transitions.values())).custom.get("label", meta.field.name)


class Institution(models.Model):
    class Kind(models.TextChoices):
        UNIVERSITY = "university", _("University")
        INSTITUTE = "institute", _("Research institute")

    name = models.CharField(_("name"), max_length=200, unique=True, validators=[single_line])
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    contact_email = models.EmailField(_("TTO contact email"), blank=True)

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["name"]

    def __str__(self):
        return self.name


class StaffProfile(models.Model):
    """Ties a TTO staff user to the one institution whose data they work on."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="staff", verbose_name=_("institution")
    )

    class Meta:
        verbose_name = _("TTO staff member")
        verbose_name_plural = _("TTO staff members")

    def __str__(self):
        return f"{self.user} @ {self.institution}"


class Enterprise(models.Model):
    class Industry(models.TextChoices):
        INDUSTRY = "industry", _("Industry")
        SOFTWARE_IT = "software_it", _("Software and IT services")
        WHOLESALE = "wholesale", _("Wholesale")
        RETAIL = "retail", _("Retail")

    class SizeClass(models.TextChoices):
        MICRO = "micro", _("Micro")
        SMALL = "small", _("Small")
        MEDIUM = "medium", _("Medium")
        LARGE = "large", _("Large")

    name = models.CharField(_("name"), max_length=200, validators=[single_line])
    uscc = models.CharField(
        _("Unified Social Credit Code"),
        max_length=18,
        unique=True,
        validators=[identifiers.normalize_uscc],
    )
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices)
    employees = models.PositiveIntegerField(_("employees"), validators=[MaxValueValidator(10_000_000)])
    annual_revenue = models.DecimalField(
        _("annual revenue (CNY 10,000)"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000000000"))],
    )
    size_class = models.CharField(
        _("size class"), max_length=10, choices=SizeClass.choices, editable=False, db_index=True
    )
    high_tech = models.BooleanField(_("national high-tech enterprise"), default=False)
    contact_email = models.EmailField(_("contact email"), blank=True)
    language = models.CharField(_("language for emails"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.uscc:
            self.uscc = identifiers.normalize_uscc(self.uscc)  # upper case, no spaces

    def save(self, *args, **kwargs):
        # Stored, not computed per query, so reports can group by it in SQL.
        self.size_class = size_class.classify(self.industry, self.employees, self.annual_revenue)
        super().save(*args, **kwargs)


# The largest price or fee an offer may ask (CNY); an offer above it is a typing mistake.
MAX_PRICE = Decimal("10000000000.00")

# The eight sections of the International Patent Classification (the first letter of a class).
IPC_SECTIONS = [
    ("A", _("A: Human necessities")),
    ("B", _("B: Operations, transport")),
    ("C", _("C: Chemistry, metallurgy")),
    ("D", _("D: Textiles, paper")),
    ("E", _("E: Fixed constructions")),
    ("F", _("F: Mechanical engineering")),
    ("G", _("G: Physics")),
    ("H", _("H: Electricity")),
]


class Patent(models.Model):
    class Type(models.TextChoices):
        INVENTION = "invention", _("Invention")
        UTILITY_MODEL = "utility_model", _("Utility model")
        DESIGN = "design", _("Design")

    class LegalStatus(models.TextChoices):
        PENDING = "pending", _("Pending")
        VALID = "valid", _("Valid")
        LAPSED = "lapsed", _("Lapsed (fees unpaid)")
        INVALIDATED = "invalidated", _("Invalidated")
        EXPIRED = "expired", _("Expired")

    # Protection terms in years from filing (Patent Law art. 42, as amended 2020).
    TERM_YEARS = {"invention": 20, "utility_model": 10, "design": 15}

    # Wide enough for written forms such as "ZL 2017 1 0601862.3"; stored normalised.
    number = models.CharField(_("application number"), max_length=30, unique=True)
    patent_type = models.CharField(_("patent type"), max_length=20, choices=Type.choices, editable=False)
    title = models.CharField(_("title"), max_length=300, validators=[single_line])
    ipc_class = models.CharField(
        _("IPC class"), max_length=20, help_text=_("For example G06F 16/33"), validators=[single_line]
    )
    keywords = models.CharField(
        _("keywords"), max_length=300, blank=True, help_text=_("Separated by commas"), validators=[single_line]
    )
    owner = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="patents", verbose_name=_("owner"))
    filing_date = models.DateField(_("filing date"))
    expiry_date = models.DateField(
        _("expiry date"), blank=True, help_text=_("Left empty, it is computed from the filing date.")
    )
    legal_status = models.CharField(
        _("legal status"), max_length=20, choices=LegalStatus.choices, default=LegalStatus.VALID
    )

    class Meta:
        verbose_name = _("patent")
        verbose_name_plural = _("patents")
        ordering = ["number"]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def ipc_section(self) -> str:
        return self.ipc_class[:1].upper()

    def clean(self):
        if self.number:
            try:
                self.number = identifiers.normalize_patent_number(self.number)
            except ValidationError as exc:
                raise ValidationError({"number": exc}) from exc
        if self.filing_date and self.expiry_date and self.expiry_date <= self.filing_date:
            raise ValidationError({"expiry_date": _("The expiry date must be after the filing date.")})
        if self.filing_date:
            windows.patent_dates(self.filing_date, self.expiry_date, today())

    def save(self, *args, **kwargs):
        self.patent_type = identifiers.patent_type_of(self.number)
        if not self.expiry_date:
            self.expiry_date = add_months(self.filing_date, 12 * self.TERM_YEARS[self.patent_type])
        super().save(*args, **kwargs)

    def is_in_force(self, on: date) -> bool:
        return self.legal_status == self.LegalStatus.VALID and self.expiry_date >= on


class Offer(FSMModelMixin, models.Model):
    """The published try-before-you-pay terms of one patent (like an open-licence declaration)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    patent = models.ForeignKey(Patent, on_delete=models.PROTECT, related_name="offers", verbose_name=_("patent"))
    state = FSMField(_("state"), default=State.DRAFT, choices=State.choices, protected=True, db_index=True)
    trial_months = models.PositiveSmallIntegerField(
        _("trial length (months)"), validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    trial_fee = models.DecimalField(
        _("trial fee (CNY)"), default=ZERO, validators=[MinValueValidator(ZERO), MaxValueValidator(MAX_PRICE)], **MONEY
    )
    price = models.DecimalField(
        _("purchase price (CNY)"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_PRICE)],
        **MONEY,
    )
    lump_sum_allowed = models.BooleanField(_("lump sum allowed"), default=True)
    installment_count = models.PositiveSmallIntegerField(
        _("number of installments"),
        default=0,
        help_text=_("0 when the price cannot be paid in installments."),
        validators=[MaxValueValidator(120)],
    )
    installment_interval_months = models.PositiveSmallIntegerField(
        _("months between installments"), default=3, validators=[MinValueValidator(1), MaxValueValidator(24)]
    )
    first_due_months = models.PositiveSmallIntegerField(
        _("months from purchase to first payment"), default=0, validators=[MaxValueValidator(60)]
    )
    grace_days = models.PositiveSmallIntegerField(
        _("grace days before default"), default=90, validators=[MaxValueValidator(365)]
    )
    exclusive = models.BooleanField(_("exclusive"), default=False)
    equity_allowed = models.BooleanField(_("equity conversion allowed"), default=False)
    equity_max_share = models.DecimalField(
        _("maximum share of the fee convertible to equity"), default=ZERO, **FRACTION
    )
    insurance_required = models.BooleanField(_("insurance or guarantee required"), default=False)
    coverage_ratio = models.DecimalField(_("insurance coverage ratio"), default=Decimal("0.8000"), **FRACTION)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["-created_at"]
        # The same bounds as the validators, for rows written by anything but a form.
        constraints = [
            models.CheckConstraint(
                condition=Q(trial_months__gte=1, trial_months__lte=60)
                & Q(installment_count__lte=120)
                & Q(installment_interval_months__gte=1, installment_interval_months__lte=24)
                & Q(first_due_months__lte=60)
                & Q(grace_days__lte=365)
                & Q(price__gt=0, price__lte=MAX_PRICE)
                & Q(trial_fee__gte=0, trial_fee__lte=MAX_PRICE),
                name="offer_terms_within_bounds",
                violation_error_message=_("The offer's terms are outside their bounds."),
            )
        ]

    def __str__(self):
        return f"{self.patent.number} · {self.get_state_display()}"

    def clean(self):
        errors = {}
        if not self.lump_sum_allowed and not self.installment_count:
            errors["installment_count"] = _(
                "Allow a lump sum or set a number of installments: an offer needs a payment plan."
            )
        if self.equity_allowed and not self.equity_max_share:
            errors["equity_max_share"] = _("Set the maximum share when equity conversion is allowed.")
        if errors:
            raise ValidationError(errors)
        within_bounds = (
            self.trial_months is not None
            and 1 <= self.trial_months <= 60
            and self.first_due_months is not None
            and self.first_due_months <= 60
            and self.installment_interval_months is not None
            and 1 <= self.installment_interval_months <= 24
            and self.installment_count is not None
            and self.installment_count <= 120
        )
        if self.patent_id and within_bounds:  # out-of-bounds terms are refused by their fields
            self.check_schedule_fits(self.patent, today())

    def schedule_months(self) -> int:
        """Months from purchase to the last payment of the longest plan the offer allows."""
        if self.installment_count:
            return self.first_due_months + (self.installment_count - 1) * self.installment_interval_months
        return self.first_due_months

    def check_schedule_fits(self, patent, on: date) -> None:
        """A trial started `on` and bought on its last day must be paid off before the patent
        expires: nobody pays for a patent that no longer exists."""
        last_due = add_months(on, self.trial_months + self.schedule_months())
        if last_due > patent.expiry_date:
            raise ValidationError(
                _(
                    "A trial starting today and its payment schedule would run to %(last)s, after the patent "
                    "expires on %(expiry)s: shorten the trial or the schedule."
                )
                % {"last": last_due, "expiry": patent.expiry_date}
            )

    @property
    def plans(self) -> list[str]:
        return [
            plan
            for plan, allowed in (
                (License.Plan.LUMP_SUM, self.lump_sum_allowed),
                (License.Plan.INSTALLMENTS, self.installment_count > 0),
            )
            if allowed
        ]

    @audited
    @transition(field=state, source=State.DRAFT, target=State.PUBLISHED, custom={"label": _("Publish")})
    def publish(self, by=None, description=None):
        pass

    @audited
    @transition(field=state, source=State.PUBLISHED, target=State.WITHDRAWN, custom={"label": _("Withdraw")})
    def withdraw(self, by=None, description=None):
        pass


class LicenseQuerySet(models.QuerySet):
    def live(self):
        return self.filter(state__in=License.LIVE_STATES)

    def for_institution(self, institution):
        return self.filter(offer__patent__owner=institution)


class License(ConcurrentTransitionMixin, models.Model):
    """One SME's agreement on one offer, from application to the last payment (or default)."""

    class State(models.TextChoices):
        APPLIED = "applied", _("Applied")
        REJECTED = "rejected", _("Rejected")
        TRIAL = "trial", _("In trial")
        RETURNED = "returned", _("Returned")
        EXPIRED = "expired", _("Expired")
        PURCHASED = "purchased", _("Purchased")
        IN_ARREARS = "in_arrears", _("In arrears")
        PAID_UP = "paid_up", _("Paid up")
        DEFAULTED = "defaulted", _("Defaulted")
        CLAIM_FILED = "claim_filed", _("Claim filed")
        COMPENSATED = "compensated", _("Compensated")
        WRITTEN_OFF = "written_off", _("Written off")
        TERMINATED = "terminated", _("Terminated")

    class Plan(models.TextChoices):
        LUMP_SUM = "lump_sum", _("Lump sum")
        INSTALLMENTS = "installments", _("Installments")

    # States in which the licensee holds (or is about to hold) the patent: exclusivity counts these.
    LIVE_STATES = (
        State.APPLIED,
        State.TRIAL,
        State.PURCHASED,
        State.IN_ARREARS,
        State.PAID_UP,
        State.DEFAULTED,
        State.CLAIM_FILED,
    )
    # States in which money is owed and payments are accepted.
    PAYABLE_STATES = (State.TRIAL, State.PURCHASED, State.IN_ARREARS)

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="licenses", verbose_name=_("offer"))
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="licenses", verbose_name=_("enterprise")
    )
    state = FSMField(_("state"), default=State.APPLIED, choices=State.choices, protected=True, db_index=True)
    applied_at = models.DateTimeField(_("applied at"), default=timezone.now, db_index=True)
    intended_use = models.TextField(_("intended use"), blank=True, max_length=2000, validators=[multi_line])
    contact = models.CharField(_("contact person and phone"), max_length=200, blank=True, validators=[single_line])
    # Terms copied from the offer when applying, so later offer edits never change a contract.
    price = models.DecimalField(_("purchase price (CNY)"), **MONEY)
    trial_fee = models.DecimalField(_("trial fee (CNY)"), **MONEY)
    trial_start = models.DateField(_("trial start"), null=True, blank=True)
    trial_end = models.DateField(_("trial end"), null=True, blank=True)
    # The contractual end moved to the next working day (weekends, statutory holidays).
    trial_end_effective = models.DateField(_("trial end (effective)"), null=True, blank=True, db_index=True)
    plan = models.CharField(_("payment plan"), max_length=20, choices=Plan.choices, blank=True)
    purchased_on = models.DateField(_("purchased on"), null=True, blank=True)
    # The day the trial ended, whatever ended it (purchase, return, expiry, termination): the
    # conversion figures count and date trials by it; purchased_on says whether it converted.
    trial_ended_on = models.DateField(_("trial ended on"), null=True, blank=True, db_index=True)
    defaulted_on = models.DateField(_("defaulted on"), null=True, blank=True)

    objects = LicenseQuerySet.as_manager()

    class Meta:
        verbose_name = _("license")
        verbose_name_plural = _("licenses")
        ordering = ["-applied_at"]
        indexes = [models.Index(fields=["offer", "state"])]

    def __str__(self):
        return _("License #%(id)s") % {"id": self.pk}

    # -- facts the conditions read (from the installments already loaded by the service) --

    def _installments(self):
        return list(self.installments.all())

    @property
    def outstanding(self) -> Decimal:
        return sum((i.outstanding for i in self._installments()), ZERO)

    def oldest_overdue_due_date(self, on: date | None = None) -> date | None:
        """The effective due date of the oldest unpaid installment past it (grace counts from it)."""
        on = on or today()
        overdue = [i.effective_due_date for i in self._installments() if i.outstanding and i.effective_due_date < on]
        return min(overdue, default=None)

    def is_overdue(self) -> bool:
        return self.oldest_overdue_due_date() is not None

    def nothing_overdue(self) -> bool:
        return not self.is_overdue()

    def is_settled(self) -> bool:
        return self.outstanding == ZERO

    def grace_exceeded(self) -> bool:
        oldest = self.oldest_overdue_due_date()
        return oldest is not None and (today() - oldest).days > self.offer.grace_days

    def trial_has_ended(self) -> bool:
        return self.trial_end_effective is not None and today() > self.trial_end_effective

    def is_insured(self) -> bool:
        return hasattr(self, "insurance_policy")

    def has_rejected_claim_only(self) -> bool:
        return not self.claims.exclude(state=InsuranceClaim.State.REJECTED).exists()

    def accepts_policy(self) -> bool:
        """A policy or guarantee can be registered until the license is bought or closed."""
        return self.state in (self.State.APPLIED, *self.PAYABLE_STATES) and not self.is_insured()

    def accepts_equity_conversion(self) -> bool:
        return self.offer.equity_allowed and self.state in (self.State.PURCHASED, self.State.IN_ARREARS)

    def insurance_in_place_if_required(self) -> bool:
        return not self.offer.insurance_required or self.is_insured()

    # -- transitions --

    @audited
    @transition(field=state, source=State.APPLIED, target=State.TRIAL, custom={"label": _("Approve trial")})
    def approve(self, start: date, by=None, description=None):
        self.trial_start = start
        self.trial_end = add_months(start, self.offer.trial_months)
        self.trial_end_effective = workdays.effective_date(self.trial_end)

    @audited
    @transition(field=state, source=State.APPLIED, target=State.REJECTED, custom={"label": _("Reject")})
    def reject(self, by=None, description=None):
        pass

    @audited
    @transition(
        field=state,
        source=State.TRIAL,
        target=State.PURCHASED,
        conditions=[insurance_in_place_if_required],
        custom={"label": _("Purchase")},
    )
    def purchase(self, plan: str, on: date, by=None, description=None):
        self.plan = plan
        self.purchased_on = on
        self.trial_ended_on = on

    @audited
    @transition(field=state, source=State.TRIAL, target=State.RETURNED, custom={"label": _("Return")})
    def return_patent(self, by=None, description=None):
        self.trial_ended_on = today()

    @audited
    @transition(
        field=state,
        source=State.TRIAL,
        target=State.EXPIRED,
        conditions=[trial_has_ended],
        custom={"label": _("Expire trial")},
    )
    def expire(self, by=None, description=None):
        self.trial_ended_on = self.trial_end_effective  # its last day, whenever the sweep noticed

    @audited
    @transition(
        field=state,
        source=[State.PURCHASED, State.IN_ARREARS],
        target=State.PAID_UP,
        conditions=[is_settled],
        custom={"label": _("Mark paid up")},
    )
    def settle(self, by=None, description=None):
        pass

    @audited
    @transition(
        field=state,
        source=State.PURCHASED,
        target=State.IN_ARREARS,
        conditions=[is_overdue],
        custom={"label": _("Mark in arrears")},
    )
    def fall_into_arrears(self, by=None, description=None):
        pass

    @audited
    @transition(
        field=state,
        source=State.IN_ARREARS,
        target=State.PURCHASED,
        conditions=[nothing_overdue],
        custom={"label": _("Cure arrears")},
    )
    def cure(self, by=None, description=None):
        pass

    @audited
    @transition(
        field=state,
        source=State.IN_ARREARS,
        target=State.DEFAULTED,
        conditions=[grace_exceeded],
        custom={"label": _("Declare default")},
    )
    def declare_default(self, on: date, by=None, description=None):
        self.defaulted_on = on

    @audited
    @transition(
        field=state,
        source=State.DEFAULTED,
        target=State.CLAIM_FILED,
        conditions=[is_insured],
        custom={"label": _("File insurance claim")},
    )
    def file_claim(self, by=None, description=None):
        pass

    @audited
    @transition(field=state, source=State.CLAIM_FILED, target=State.COMPENSATED, custom={"label": _("Compensate")})
    def compensate(self, by=None, description=None):
        pass

    @audited
    @transition(
        field=state,
        source=[State.DEFAULTED, State.CLAIM_FILED],
        target=State.WRITTEN_OFF,
        conditions=[has_rejected_claim_only],
        custom={"label": _("Write off")},
    )
    def write_off(self, by=None, description=None):
        pass

    @audited
    @transition(
        field=state,
        source=[State.TRIAL, State.PURCHASED, State.IN_ARREARS],
        target=State.TERMINATED,
        custom={"label": _("Terminate")},
    )
    def terminate(self, by=None, description=None):
        if self.state == self.State.TRIAL:
            self.trial_ended_on = today()


class Installment(FSMModelMixin, models.Model):
    class Kind(models.TextChoices):
        TRIAL_FEE = "trial_fee", _("Trial fee")
        PURCHASE = "purchase", _("Purchase installment")

    class State(models.TextChoices):
        DUE = "due", _("Due")
        OVERDUE = "overdue", _("Overdue")
        PAID = "paid", _("Paid")

    license = models.ForeignKey(
        License, on_delete=models.CASCADE, related_name="installments", verbose_name=_("license")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    sequence = models.PositiveSmallIntegerField(_("number"))
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    due_date = models.DateField(_("due date"))
    # The contractual due date moved to the next working day; deadlines and reminders use this.
    effective_due_date = models.DateField(_("due date (effective)"), db_index=True)
    paid_amount = models.DecimalField(_("paid (CNY)"), default=ZERO, **MONEY)
    state = FSMField(_("state"), default=State.DUE, choices=State.choices, protected=True, db_index=True)

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["due_date", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["license", "kind", "sequence"], name="installment_unique_number"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=models.F("amount")),
                name="installment_paid_within_amount",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.sequence} · {self.amount} · {self.due_date}"

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount

    def save(self, *args, **kwargs):
        if self.effective_due_date is None:
            self.effective_due_date = workdays.effective_date(self.due_date)
        super().save(*args, **kwargs)

    @audited
    @transition(field=state, source=State.DUE, target=State.OVERDUE)
    def mark_overdue(self, by=None, description=None):
        pass

    @audited
    @transition(
        field=state,
        source=[State.DUE, State.OVERDUE],
        target=State.PAID,
        conditions=[lambda self: self.outstanding == ZERO],
    )
    def mark_paid(self, by=None, description=None):
        pass


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
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

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

    def __str__(self):
        return f"{self.amount} · {self.paid_on} · {self.reference}"


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
    insurer_email = models.EmailField(_("insurer contact email"), blank=True)
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

    def __str__(self):
        return f"{self.insurer} {self.policy_number}"

    def clean(self):
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

    def __str__(self):
        return _("Claim #%(id)s") % {"id": self.pk}

    @staticmethod
    def amount_for(policy: InsurancePolicy, outstanding: Decimal) -> Decimal:
        return cny(policy.coverage_ratio * outstanding)

    @audited
    @transition(field=state, source=State.FILED, target=State.APPROVED, custom={"label": _("Approve claim")})
    def approve(self, by=None, description=None):
        pass

    @audited
    @transition(field=state, source=State.APPROVED, target=State.PAID, custom={"label": _("Record claim paid")})
    def record_paid(self, amount: Decimal, by=None, description=None):
        self.paid_amount = amount

    @audited
    @transition(
        field=state,
        source=[State.FILED, State.APPROVED],
        target=State.REJECTED,
        custom={"label": _("Reject claim")},
    )
    def reject(self, by=None, description=None):
        pass


class EquityConversion(FSMModelMixin, models.Model):
    """'Transfer then equity': part of the remaining fee becomes a stake in the SME."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        EXECUTED = "executed", _("Executed")
        REJECTED = "rejected", _("Rejected")

    license = models.ForeignKey(
        License, on_delete=models.PROTECT, related_name="equity_conversions", verbose_name=_("license")
    )
    state = FSMField(_("state"), default=State.PROPOSED, choices=State.choices, protected=True)
    share = models.DecimalField(_("share of the remaining fee converted"), **FRACTION)
    converted_amount = models.DecimalField(_("converted amount (CNY)"), **MONEY)
    valuation = models.DecimalField(
        _("agreed valuation of the enterprise (CNY)"),
        validators=[MinValueValidator(Decimal("0.01"))],
        **MONEY,
    )
    stake = models.DecimalField(_("resulting stake"), max_digits=7, decimal_places=6)
    proposed_on = models.DateField(_("proposed on"))
    executed_on = models.DateField(_("executed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("equity conversion")
        verbose_name_plural = _("equity conversions")
        ordering = ["-proposed_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["license"],
                condition=Q(state__in=["proposed", "approved"]),
                name="one_pending_conversion_per_license",
            )
        ]

    def __str__(self):
        return _("Equity conversion #%(id)s") % {"id": self.pk}

    @audited
    @transition(field=state, source=State.PROPOSED, target=State.APPROVED, custom={"label": _("Approve")})
    def approve(self, by=None, description=None):
        pass

    @audited
    @transition(field=state, source=State.APPROVED, target=State.EXECUTED, custom={"label": _("Execute")})
    def execute(self, on: date, by=None, description=None):
        self.executed_on = on

    @audited
    @transition(
        field=state, source=[State.PROPOSED, State.APPROVED], target=State.REJECTED, custom={"label": _("Reject")}
    )
    def reject(self, by=None, description=None):
        pass


def _offsets_validator(value: str) -> None:
    try:
        days = [int(part) for part in value.split(",")]
    except ValueError as exc:
        raise ValidationError(_("Enter whole numbers of days separated by commas, e.g. 30,7,1.")) from exc
    if any(d < 0 or d > 365 for d in days):
        raise ValidationError(_("Each offset must be between 0 and 365 days."))


class ReminderSchedule(models.Model):
    """When an institution's reminders go out, in days relative to each deadline."""

    DEFAULTS = {"trial_ending_days": "30,7,1", "installment_due_days": "14,3,0", "overdue_days": "1,7,30"}

    institution = models.OneToOneField(
        Institution, on_delete=models.CASCADE, related_name="reminder_schedule", verbose_name=_("institution")
    )
    trial_ending_days = models.CharField(
        _("days before the trial ends"),
        max_length=60,
        default=DEFAULTS["trial_ending_days"],
        validators=[_offsets_validator],
    )
    installment_due_days = models.CharField(
        _("days before an installment is due"),
        max_length=60,
        default=DEFAULTS["installment_due_days"],
        validators=[_offsets_validator],
    )
    overdue_days = models.CharField(
        _("days after an installment is overdue"),
        max_length=60,
        default=DEFAULTS["overdue_days"],
        validators=[_offsets_validator],
    )

    class Meta:
        verbose_name = _("reminder schedule")
        verbose_name_plural = _("reminder schedules")

    def __str__(self):
        return str(self.institution)

    @staticmethod
    def parse(value: str) -> list[int]:
        return sorted({int(part) for part in value.split(",")})


class Reminder(FSMModelMixin, models.Model):
    """The ledger of notices: one row per (what, which object, which offset), claimed before
    sending, so each notice goes out once however often the sweep runs."""

    class Kind(models.TextChoices):
        TRIAL_ENDING = "trial_ending", _("Trial ending")
        INSTALLMENT_DUE = "installment_due", _("Installment due")
        OVERDUE = "overdue", _("Installment overdue")
        CLAIM_FILED = "claim_filed", _("Default and insurance claim")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    key = models.CharField(_("key"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("license"))
    installment = models.ForeignKey(
        Installment, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("installment")
    )
    offset_days = models.SmallIntegerField(_("offset (days)"))
    deadline = models.DateField(_("deadline"))
    state = FSMField(_("state"), default=State.PENDING, choices=State.choices, protected=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    recipients = models.TextField(_("recipients"), blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="reminder_pending_due"),
            models.Index(fields=["-created_at", "-id"], name="reminder_newest_first"),  # as payment_newest_first
        ]
        # A constraint rather than unique=True: on PostgreSQL that adds a second (LIKE) index on the
        # key, which nothing searches and every claimed notice would pay for.
        constraints = [models.UniqueConstraint(fields=["key"], name="reminder_key_unique")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.deadline} · {self.offset_days}"  # no query: inlines list many

    @staticmethod
    def key_for(kind: str, model_name: str, pk: int, offset: int) -> str:
        """The ledger key: what, for which object, at which offset."""
        return f"{kind}:{model_name}:{pk}:{offset}"

    @staticmethod
    def key_expression(kind: str, model_name: str, pk, offset):
        """key_for as an SQL expression over columns, for claiming notices in one INSERT … SELECT."""
        text = models.CharField()
        return Concat(Value(f"{kind}:{model_name}:"), Cast(pk, text), Value(":"), Cast(offset, text))

    @transition(field=state, source=State.PENDING, target=State.SENT)
    def mark_sent(self, recipients: list[str], at):
        self.sent_at = at
        self.recipients = ", ".join(recipients)

    @transition(field=state, source=State.PENDING, target=State.CANCELLED)
    def cancel(self, why: str):
        self.last_error = why

    def record_failure(self, error: str, retry_at) -> None:
        self.attempts += 1
        self.last_error = error[:2000]
        self.next_attempt_at = retry_at


# -- the SME portal --------------------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(32)


class EnterpriseMember(FSMModelMixin, models.Model):
    """A portal user of an SME. The portal opens to them once TTO staff approve the membership."""

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enterprise_member", verbose_name=_("user")
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="members", verbose_name=_("enterprise")
    )
    state = FSMField(_("state"), default=State.PENDING, choices=State.choices, protected=True)
    full_name = models.CharField(_("full name"), max_length=100, validators=[single_line])
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[single_line])
    # The private calendar feed's address; a new token revokes the old address.
    calendar_token = models.CharField(_("calendar token"), max_length=64, unique=True, default=new_token)
    created_at = models.DateTimeField(_("signed up at"), default=timezone.now)

    class Meta:
        verbose_name = _("enterprise member")
        verbose_name_plural = _("enterprise members")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.full_name} · {self.enterprise.name}"

    @audited
    @transition(field=state, source=State.PENDING, target=State.ACTIVE, custom={"label": _("Approve")})
    def approve(self, by=None, description=None):
        pass

    @audited
    @transition(field=state, source=[State.PENDING, State.ACTIVE], target=State.REVOKED, custom={"label": _("Revoke")})
    def revoke(self, by=None, description=None):
        pass


class PrivateStorage(FileSystemStorage):
    """Files under PRIVATE_MEDIA_ROOT, outside the web root, served only through views that check
    who asks. The setting is read on use, not frozen when the model is defined."""

    @property
    def base_location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return str(Path(self.base_location).resolve())


def private_storage():
    return PrivateStorage()


def receipt_path(report, filename: str) -> str:
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
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
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

    def __str__(self):
        return f"{self.amount} · {self.paid_on} · {self.reference}"

    @audited
    @transition(field=state, source=State.REPORTED, target=State.CONFIRMED, custom={"label": _("Confirm")})
    def confirm(self, payment: Payment, by=None, description=None):
        self.payment = payment

    @audited
    @transition(field=state, source=State.REPORTED, target=State.REJECTED, custom={"label": _("Reject")})
    def reject(self, by=None, description=None):
        pass


# -- TTO reports -------------------------------------------------------------------------------------


def export_path(export, filename: str) -> str:
    return f"exports/{export.pk}-{new_token()}{Path(filename).suffix.lower()}"


class Export(FSMModelMixin, models.Model):
    """A spreadsheet of the book built in the background (a large XLSX takes a while), with its
    progress. Its scope is fixed when it is requested: one institution, or all for a superuser."""

    class Kind(models.TextChoices):
        LICENSES = "licenses", _("Licenses")
        INSTALLMENTS = "installments", _("Payment schedules")
        PAYMENTS = "payments", _("Payments")
        CLAIMS = "claims", _("Insurance claims")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    state = FSMField(_("state"), default=State.QUEUED, choices=State.choices, protected=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("institution")
    )
    ipc_section = models.CharField(_("IPC section"), max_length=1, blank=True)
    date_from = models.DateField(_("from"), null=True, blank=True)
    date_to = models.DateField(_("to"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to=export_path, storage=private_storage, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # Moves with every batch written: a running export whose heartbeat stopped lost its worker.
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.state == self.State.DONE else 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @transition(field=state, source=[State.QUEUED, State.RUNNING], target=State.RUNNING)
    def start(self, rows_total: int, at):
        self.rows_total = rows_total
        self.rows_done = 0
        self.heartbeat_at = at

    @transition(field=state, source=State.RUNNING, target=State.DONE)
    def finish(self, at):
        self.rows_done = self.rows_total
        self.finished_at = at

    @transition(field=state, source=[State.QUEUED, State.RUNNING], target=State.FAILED)
    def fail(self, error: str, at):
        self.error = error[:2000]
        self.finished_at = at


# -- operations ---------------------------------------------------------------------------------


class HealthRecord(models.Model):
    """What a worker or request last met at a part outside the app; the admin index reads these
    instead of connecting to anything itself (licensing/health.py)."""

    class Part(models.TextChoices):
        BROKER = "broker", _("Task broker")
        SMTP = "smtp", _("Email")
        SWEEP = "sweep", _("Hourly sweep")

    part = models.CharField(_("part"), max_length=20, choices=Part.choices, unique=True)
    ok = models.BooleanField(_("working"))
    detail = models.TextField(_("detail"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("health record")
        verbose_name_plural = _("health records")

    def __str__(self):
        return f"{self.get_part_display()}: {'ok' if self.ok else 'failing'}"


class RateLimit(models.Model):
    """A counter per (action, who) and fixed time window, for throttling what costs someone else
    an email or an account (licensing/throttle.py)."""

    key = models.CharField(_("key"), max_length=200)
    window_start = models.DateTimeField(_("window start"))
    count = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("rate limit")
        verbose_name_plural = _("rate limits")
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="rate_limit_window_unique")]
        indexes = [models.Index(fields=["window_start"], name="rate_limit_window")]

    def __str__(self):
        return f"{self.key} @ {self.window_start}: {self.count}"


class AuditEvent(models.Model):
    """A change that is not a state transition (those are in the transition log): who changed
    what on which object, from what to what, and why."""

    class Action(models.TextChoices):
        ENTERPRISE_CHANGED = "enterprise_changed", _("Enterprise details changed")
        ENTERPRISE_CREATED = "enterprise_created", _("Enterprise registered")
        MEMBER_SIGNED_UP = "member_signed_up", _("Member signed up")

    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_events"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    changes = models.JSONField(_("changes"), default=dict, help_text=_("field: [from, to]"))
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} · {self.at:%Y-%m-%d %H:%M}"

    def readable_changes(self) -> list[tuple[str, str, str]]:
        """(field label, from, to) in the reader's language: labels and choices of the enterprise's
        own fields; fields that are not the enterprise's (e.g. a member's id) are not shown."""
        rows = []
        for name, (old, new) in self.changes.items():
            try:
                field = Enterprise._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            rows.append((str(field.verbose_name), self._readable(field, old), self._readable(field, new)))
        return rows

    @staticmethod
    def _readable(field, value) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        return str(value)
