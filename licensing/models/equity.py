"""'Transfer then equity': part of the remaining fee converted into a stake in the SME."""

from datetime import date
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from .base import FRACTION, MONEY
from .licenses import License


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

    def __str__(self) -> str:
        return _("Equity conversion #%(id)s") % {"id": self.pk}

    @transition(field=state, source=State.PROPOSED, target=State.APPROVED, custom={"label": _("Approve")})
    def approve(self) -> None:
        pass

    @transition(field=state, source=State.APPROVED, target=State.EXECUTED, custom={"label": _("Execute")})
    def execute(self, on: date) -> None:
        self.executed_on = on

    @transition(
        field=state, source=[State.PROPOSED, State.APPROVED], target=State.REJECTED, custom={"label": _("Reject")}
    )
    def reject(self) -> None:
        pass
