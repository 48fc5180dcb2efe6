"""Milestone payments (use first, pay later: zero entry fee + milestones + revenue share): named
events (first commercial sale, start of production, product approval, ...) each with an amount
that falls due some days after the event is reached. An offer lists them; a license copies them
when applied for, and the SME declares, or the TTO records, each one reached."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain.numbers import money_text
from ..domain.text import single_line
from .base import MAX_PRICE, MONEY
from .catalogue import Offer
from .licenses import Installment, License

# What a license copies from each of its offer's milestones.
MILESTONE_TERMS = ("name", "amount", "due_days", "due_months")


class MilestoneTerms(models.Model):
    name = models.CharField(
        _("milestone"), max_length=100, validators=[single_line], help_text=_("For example: first commercial sale")
    )
    amount = models.DecimalField(
        _("amount (CNY)"), validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_PRICE)], **MONEY
    )
    # A milestone falls due either some days after an event is reached or on a date some months
    # after the purchase: exactly one of the two (a constraint on each table, which forms check too).
    due_days = models.PositiveSmallIntegerField(
        _("event: days to pay after it is reached"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(365)],
        help_text=_("For a milestone that falls due when an event is reached (first sale, production...)."),
    )

    due_months = models.PositiveSmallIntegerField(
        _("or dated: months after the purchase"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(240)],
        help_text=_("For a milestone that falls due on a date, whatever happens. Fill in one of the two."),
    )

    class Meta:
        abstract = True

    @staticmethod
    def one_way_to_fall_due(name: str) -> models.CheckConstraint:
        return models.CheckConstraint(
            condition=models.Q(due_days__isnull=True, due_months__isnull=False)
            | models.Q(due_days__isnull=False, due_months__isnull=True),
            name=name,
            violation_error_message=_(
                "A milestone falls due either some days after its event is reached or some months after the "
                "purchase: fill in exactly one of the two."
            ),
        )

    def __str__(self) -> str:
        return f"{self.name} · {money_text(self.amount)}"

    @property
    def is_dated(self) -> bool:
        return self.due_months is not None


class OfferMilestone(MilestoneTerms):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("offer"))

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["pk"]
        constraints = [MilestoneTerms.one_way_to_fall_due("offer_milestone_event_or_dated")]


class LicenseMilestone(FSMModelMixin, MilestoneTerms):
    class State(models.TextChoices):
        PENDING = "pending", _("Not reached yet")
        REACHED = "reached", _("Reached")
        SCHEDULED = "scheduled", _("Due on its date")

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("license"))
    state = FSMField(_("state"), default=State.PENDING, choices=State.choices, protected=True)
    reached_on = models.DateField(_("reached on"), null=True, blank=True)
    installment = models.OneToOneField(
        Installment, on_delete=models.PROTECT, null=True, blank=True, related_name="milestone"
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("milestone of a license")
        verbose_name_plural = _("milestones of a license")
        ordering = ["pk"]
        constraints = [MilestoneTerms.one_way_to_fall_due("license_milestone_event_or_dated")]

    @transition(field=state, source=State.PENDING, target=State.REACHED, custom={"label": _("Milestone reached")})
    def reach(self, on: date) -> None:
        self.reached_on = on

    @transition(field=state, source=State.PENDING, target=State.SCHEDULED, custom={"label": _("Falls due on its date")})
    def schedule(self) -> None:
        """A dated milestone: its amount falls due on its date once the license is bought."""
