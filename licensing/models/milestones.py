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
    due_days = models.PositiveSmallIntegerField(
        _("days to pay"), default=30, validators=[MaxValueValidator(365)], help_text=_("after the milestone is reached")
    )

    due_months = models.PositiveSmallIntegerField(
        _("or due on a date: months after the purchase"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(240)],
        help_text=_(
            "Blank: due when the event is reached. A number: due that many months after the license is bought."
        ),
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} · {self.amount}"

    @property
    def is_dated(self) -> bool:
        return self.due_months is not None


class OfferMilestone(MilestoneTerms):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("offer"))

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["pk"]


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

    @transition(field=state, source=State.PENDING, target=State.REACHED, custom={"label": _("Milestone reached")})
    def reach(self, on: date) -> None:
        self.reached_on = on

    @transition(field=state, source=State.PENDING, target=State.SCHEDULED, custom={"label": _("Falls due on its date")})
    def schedule(self) -> None:
        """A dated milestone: its amount falls due on its date once the license is bought."""
