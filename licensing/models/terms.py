"""The terms a license lives by. An offer publishes them; a license keeps its own copy from the day
it is applied for, and its lifecycle reads that copy, never the offer (a published offer's terms
change only by a new version of the offer: services.revise_offer)."""

import contextlib
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..domain import royalties
from ..domain.money import ZERO, add_months
from ..domain.text import single_line
from .base import FRACTION, MAX_PRICE, MONEY


class LicenseType(models.TextChoices):
    """独占 / 排他 / 普通, as Chinese license contracts name them."""

    EXCLUSIVE = "exclusive", _("Exclusive")  # no one else, not even the licensor, practises the patents
    SOLE = "sole", _("Sole")  # the licensor and the licensee only
    ORDINARY = "ordinary", _("Ordinary")  # any number of licensees


class RoyaltyBase(models.TextChoices):
    """What a running royalty (提成) is a rate of (Civil Code Art. 846)."""

    NONE = "", _("No running royalty")
    NET_SALES = "net_sales", _("Net sales")
    PROFIT = "profit", _("Profit")


class ReportingPeriod(models.TextChoices):
    QUARTER = "quarter", _("Quarter")
    HALF_YEAR = "half_year", _("Half-year")
    YEAR = "year", _("Year")


class FeeShape(models.TextChoices):
    """The shape of what a license costs once bought, as people name it (the plan a page, an email
    or an export shows; never "lump sum 0.00" for a royalty)."""

    FREE = "free", _("Free")
    FIXED = "fixed", _("Fixed price")
    ROYALTY = "royalty", _("Royalty")
    MIXED = "mixed", _("Fixed price and royalty")


class OfferShape(models.TextChoices):
    """What the officer composing an offer picks first (the composer shows that shape's terms only):
    the four fee shapes, and the open licence (ordinary licenses to any SME on declared fees)."""

    FREE = FeeShape.FREE.value, _("Free")
    FIXED = FeeShape.FIXED.value, _("Fixed price: lump sum or installments")
    ROYALTY = FeeShape.ROYALTY.value, _("Royalty, with or without an entry fee")
    MIXED = FeeShape.MIXED.value, _("Fixed price and royalty")
    OPEN = "open", _("Open licence")


def _rates_validator(value: str) -> None:
    royalties.parse_tiers(value)


def _optional_money(verbose_name: Any, help_text: Any = "") -> models.DecimalField:
    """An amount a term may leave blank (a minimum, a cap): blank means none."""
    return models.DecimalField(
        verbose_name,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO), MaxValueValidator(MAX_PRICE)],
        help_text=help_text,
        **MONEY,
    )


# Types that keep every other licensee out of the patents while the license is live.
BLOCKING_TYPES = (LicenseType.EXCLUSIVE, LicenseType.SOLE)


class DealTerms(models.Model):
    """Fields shared by Offer (the published terms) and License (its copy, fixed when applied for)."""

    open_licence = models.BooleanField(
        _("open licence"),
        default=False,
        help_text=_(
            "An open-licence declaration (Patent Law Art. 50): any SME that applies gets an ordinary license "
            "without a staff decision, and no exclusive or sole license is granted on the patent while it stands."
        ),
    )
    license_type = models.CharField(
        _("license type"),
        max_length=10,
        choices=LicenseType.choices,
        default=LicenseType.ORDINARY,
        help_text=_(
            "Exclusive: no one else, not even the institution, practises the patents. Sole: the institution and "
            "the licensee only. Ordinary: any number of licensees."
        ),
    )
    territory = models.CharField(
        _("territory"), max_length=200, blank=True, validators=[single_line], help_text=_("Blank: not limited.")
    )
    field_of_use = models.CharField(
        _("field of use"), max_length=300, blank=True, validators=[single_line], help_text=_("Blank: not limited.")
    )
    term_start = models.DateField(
        _("term starts"), null=True, blank=True, help_text=_("Blank: when the license is agreed.")
    )
    term_end = models.DateField(
        _("term ends"), null=True, blank=True, help_text=_("Blank: when the last of the patents expires.")
    )
    trial_months = models.PositiveSmallIntegerField(
        _("trial length (months)"), default=12, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    trial_fee = models.DecimalField(
        _("trial fee (CNY)"), default=ZERO, validators=[MinValueValidator(ZERO), MaxValueValidator(MAX_PRICE)], **MONEY
    )
    entry_fee = models.DecimalField(
        _("entry fee (CNY)"),
        default=ZERO,
        validators=[MinValueValidator(ZERO), MaxValueValidator(MAX_PRICE)],
        help_text=_("入门费: due on the day the license is bought, before any other payment."),
        **MONEY,
    )
    price = models.DecimalField(
        _("purchase price (CNY)"),
        validators=[MinValueValidator(ZERO), MaxValueValidator(MAX_PRICE)],
        help_text=_("The fixed price, paid in one sum or in installments (0 when the deal has none)."),
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
    deferred_months = models.PositiveSmallIntegerField(
        _("payments deferred (months)"),
        default=0,
        validators=[MaxValueValidator(60)],
        help_text=_(
            "Nothing but the trial fee falls due before this many months after the license takes effect "
            "(Beijing and Shaanxi rules: at least 12). 0: no deferral."
        ),
    )
    deferred_until_revenue = models.BooleanField(
        _("or until the first revenue report"),
        default=False,
        help_text=_("Payments start with the first royalty report with revenue, if that comes first."),
    )
    grace_days = models.PositiveSmallIntegerField(
        _("grace days before default"), default=90, validators=[MaxValueValidator(365)]
    )
    equity_allowed = models.BooleanField(_("equity conversion allowed"), default=False)
    equity_max_share = models.DecimalField(
        _("maximum share of the fee convertible to equity"), default=ZERO, **FRACTION
    )
    insurance_required = models.BooleanField(_("insurance or guarantee required"), default=False)
    coverage_ratio = models.DecimalField(_("insurance coverage ratio"), default=Decimal("0.8000"), **FRACTION)
    use_reports_required = models.BooleanField(
        _("periodic use reports required"),
        default=False,
        help_text=_("The licensee reports how it uses the patents (for the industrialization figures)."),
    )

    royalty_base = models.CharField(
        _("royalty base"),
        max_length=10,
        choices=RoyaltyBase.choices,
        default=RoyaltyBase.NONE,
        blank=True,
        help_text=_("提成: a running royalty on what the licensee reports each period."),
    )
    royalty_rates = models.CharField(
        _("royalty rates"),
        max_length=200,
        blank=True,
        validators=[_rates_validator],
        help_text=_(
            'One rate ("5%") or tiers on the license year\'s cumulative base, rising or falling: '
            '"3% up to 10,000,000; 2%" or "1000万元以内3%，以上2%". Stored as the first form.'
        ),
    )
    reporting_period = models.CharField(
        _("reporting period"), max_length=10, choices=ReportingPeriod.choices, default=ReportingPeriod.QUARTER
    )
    report_due_days = models.PositiveSmallIntegerField(
        _("days to report and pay"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text=_("after each reporting period ends"),
    )
    royalty_minimum = _optional_money(
        _("minimum annual royalty (CNY)"),
        _("The shortfall falls due after the license year (a calendar year; the first one pro rata)."),
    )
    royalty_cap_year = _optional_money(_("royalty cap per license year (CNY)"))
    royalty_cap_total = _optional_money(_("royalty cap in total (CNY)"))

    class Meta:
        abstract = True

    # The terms in the groups the offer composer shows them in, as a contract reads them (a test
    # checks that they are all the fields); each shape of offer uses some (SHAPE_TERMS), and the
    # others keep their neutral value (take_shape).
    GROUPS: dict[str, tuple[str, ...]] = {
        "license": ("open_licence", "license_type", "territory", "field_of_use", "term_start", "term_end"),
        "trial": ("trial_months", "trial_fee"),
        "fees": (
            "entry_fee",
            "price",
            "lump_sum_allowed",
            "installment_count",
            "installment_interval_months",
            "first_due_months",
        ),
        "reports": (
            "royalty_base",
            "royalty_rates",
            "reporting_period",
            "report_due_days",
            "royalty_minimum",
            "royalty_cap_year",
            "royalty_cap_total",
            "use_reports_required",
        ),
        "deferral": ("deferred_months", "deferred_until_revenue"),
        "security": ("grace_days", "equity_allowed", "equity_max_share", "insurance_required", "coverage_ratio"),
    }
    _ALWAYS = (*GROUPS["license"][1:], *GROUPS["trial"])
    _ROYALTY = GROUPS["reports"][:-1]
    _SECURITY = GROUPS["security"]
    SHAPE_TERMS: dict[str, tuple[str, ...]] = {
        OfferShape.FREE: (*_ALWAYS, "use_reports_required"),
        OfferShape.FIXED: (*_ALWAYS, *GROUPS["fees"], "use_reports_required", "deferred_months", *_SECURITY),
        OfferShape.ROYALTY: (*_ALWAYS, "entry_fee", *GROUPS["reports"], *GROUPS["deferral"], *_SECURITY),
        OfferShape.MIXED: (*_ALWAYS, *GROUPS["fees"], *GROUPS["reports"], *GROUPS["deferral"], *_SECURITY),
    }
    SHAPE_TERMS[OfferShape.OPEN] = tuple(name for name in SHAPE_TERMS[OfferShape.MIXED] if name != "license_type")

    @property
    def offer_shape(self) -> OfferShape:
        return OfferShape.OPEN if self.open_licence else OfferShape(self.fee_shape.value)

    def take_shape(self, shape: OfferShape) -> None:
        """Set every term the shape does not use to its neutral value (a royalty offer keeps no
        installments, a free one no price), so what is stored is what the composer showed."""
        used = self.SHAPE_TERMS[shape]
        for name in self.term_names():
            if name not in used:
                field: Any = self._meta.get_field(name)  # a term is a concrete field, never a relation
                neutral = field.get_default()  # "" for text, None for an optional amount
                setattr(self, name, ZERO if neutral is None and not field.null else neutral)  # the price: 0
        self.open_licence = shape == OfferShape.OPEN
        if shape == OfferShape.OPEN:
            self.license_type = LicenseType.ORDINARY

    def check_shape(self, shape: OfferShape) -> None:
        """What a shape needs that its fields alone do not say: a price for a fixed price, a royalty
        base for a royalty; a free offer keeps no milestone (one would make it paid)."""
        errors = {}
        if shape in (OfferShape.FIXED, OfferShape.MIXED) and not self.price:
            errors["price"] = _("A fixed-price offer needs its price (for none, choose the royalty or the free shape).")
        if shape in (OfferShape.ROYALTY, OfferShape.MIXED) and not self.royalty_base:
            errors["royalty_base"] = _("A royalty offer needs its base: net sales or profit.")
        if shape == OfferShape.FREE and self.has_milestones:
            errors["__all__"] = _("A free offer has no milestone payments: remove them in another shape first.")
        if errors:
            raise ValidationError(errors)

    @classmethod
    def term_names(cls) -> list[str]:
        """The terms a license copies from its offer."""
        return [name for group in DealTerms.GROUPS.values() for name in group]

    @property
    def is_free(self) -> bool:
        """Nothing to pay once the license is taken (a trial fee may still have been due)."""
        return self.price == ZERO and not self.entry_fee and not self.royalty_base and not self.has_milestones

    @property
    def has_milestones(self) -> bool:
        """Whether milestone payments are agreed: from the catalogue's annotation or a prefetch
        when the page has one, else one query (an unsaved offer has none)."""
        if "milestones_agreed" in self.__dict__:
            return bool(self.__dict__["milestones_agreed"])
        if self.pk is None:
            return False
        cache = getattr(self, "_prefetched_objects_cache", {})
        if "milestones" in cache:
            return bool(cache["milestones"])
        return self.milestones.exists()  # type: ignore[attr-defined]  # Offer's and License's own milestones

    @property
    def fee_shape(self) -> FeeShape:
        if self.is_free:
            return FeeShape.FREE
        if self.has_royalty:
            return FeeShape.MIXED if self.price else FeeShape.ROYALTY
        return FeeShape.FIXED

    @classmethod
    def fee_shape_expression(cls) -> models.Case:
        """fee_shape as SQL (its twin, tested against it): for the exports and lists of the book."""
        milestones: Any = cls._meta.get_field("milestones")  # the reverse key of Offer's or License's milestones
        agreed = models.Exists(
            milestones.related_model.objects.filter(**{milestones.field.name: models.OuterRef("pk")})
        )
        royalty = ~models.Q(royalty_base="")
        return models.Case(
            models.When(royalty & models.Q(price__gt=0), then=models.Value(FeeShape.MIXED)),
            models.When(royalty, then=models.Value(FeeShape.ROYALTY)),
            models.When(
                models.Q(price__gt=0) | models.Q(entry_fee__gt=0) | models.Q(agreed), then=models.Value(FeeShape.FIXED)
            ),
            default=models.Value(FeeShape.FREE),
            output_field=models.CharField(),
        )

    @property
    def has_royalty(self) -> bool:
        return bool(self.royalty_base)

    @property
    def files_reports(self) -> bool:
        """The licensee files a report each period: royalty reports, or use reports without amounts."""
        return self.has_royalty or self.use_reports_required

    def tiers(self) -> list[royalties.Tier]:
        return royalties.parse_tiers(self.royalty_rates)

    def rates_in_words(self) -> str:
        return royalties.describe_tiers(self.tiers()) if self.has_royalty else ""

    def check_royalty_terms(self) -> None:
        """A royalty needs its rates and rates need a base; a cap is not below the minimum; the
        first revenue ends a deferral only when there is a royalty to report revenue for."""
        errors = {}
        # Stored in the one form the parser reads (full-width digits converted); rates it cannot
        # read are left as typed, for the field's validator to word.
        with contextlib.suppress(ValidationError):
            self.royalty_rates = royalties.format_tiers(self.tiers()) if self.royalty_rates.strip() else ""
        if self.royalty_base and not self.royalty_rates.strip():
            errors["royalty_rates"] = _("A running royalty needs its rates.")
        if self.royalty_rates.strip() and not self.royalty_base:
            errors["royalty_base"] = _("Choose what the royalty rates apply to (net sales or profit).")
        if not self.royalty_base and any((self.royalty_minimum, self.royalty_cap_year, self.royalty_cap_total)):
            errors["royalty_base"] = _("A minimum or a cap applies to a running royalty: choose its base.")
        for cap in ("royalty_cap_year", "royalty_cap_total"):
            limit = getattr(self, cap)
            if limit is not None and self.royalty_minimum and limit < self.royalty_minimum:
                errors[cap] = _("A cap cannot be lower than the minimum annual royalty.")
        if self.deferred_until_revenue and not (self.deferred_months and self.royalty_base):
            errors["deferred_until_revenue"] = _(
                "The first revenue report ends a deferral only with a running royalty and a number of months."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def blocks_other_licensees(self) -> bool:
        return self.license_type in BLOCKING_TYPES

    @property
    def plans(self) -> list[str]:
        """The payment plans these terms allow (a free license needs none: it is taken as it is)."""
        from .licenses import License  # the plans are the license's: imported on use

        if not self.price:  # nothing but an entry fee, if any: due on the day, as it is
            return [License.Plan.LUMP_SUM]
        return [
            plan
            for plan, allowed in (
                (License.Plan.LUMP_SUM, self.lump_sum_allowed),
                (License.Plan.INSTALLMENTS, self.installment_count > 0),
            )
            if allowed
        ]

    def schedule_months(self) -> int:
        """Months from purchase to the last dated payment of the longest plan the terms allow: the
        price's last installment, a dated milestone, or the end of a deferral, which holds every
        payment back to it (License.payments_start). Royalty periods run with the term instead."""
        months = [self.deferred_months if (self.price or self.entry_fee or self.dated_milestone_months()) else 0]
        if self.price:
            last = (self.installment_count - 1) * self.installment_interval_months if self.installment_count else 0
            months.append(self.first_due_months + last)
        return max([*months, *self.dated_milestone_months()])

    def dated_milestone_months(self) -> list[int]:
        """Months after the purchase of each dated milestone (none before the terms are saved)."""
        if self.pk is None:
            return []
        return [m.due_months for m in self.milestones.all() if m.due_months is not None]  # type: ignore[attr-defined]

    def payments_start_after(self, purchased_on: date) -> date | None:
        """The day payments start under a deferral (nothing but the trial fee falls due before);
        None when nothing is deferred."""
        return add_months(purchased_on, self.deferred_months) if self.deferred_months else None

    def term_within(self, last_expiry: date) -> date:
        """The last day of the term: the agreed end, and never after the last patent expires."""
        return min(self.term_end, last_expiry) if self.term_end else last_expiry
