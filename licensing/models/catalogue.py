"""What a TTO offers: patents and their try-before-you-pay offers."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Exists, ExpressionWrapper, OuterRef, Q, Value, When
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain import identifiers, windows
from ..domain.clock import today
from ..domain.money import add_months
from ..domain.numbers import money_text
from ..domain.text import multi_line, single_line
from .base import MAX_PRICE
from .parties import Institution
from .terms import BLOCKING_TYPES, DealTerms, LicenseType

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
    abstract = models.TextField(
        _("abstract"), blank=True, max_length=4000, validators=[multi_line], help_text=_("摘要, as published.")
    )
    claims_gist = models.TextField(
        _("what the claims protect"),
        blank=True,
        max_length=2000,
        validators=[multi_line],
        help_text=_("In plain words, for an enterprise deciding whether to try it."),
    )
    owner = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="patents", verbose_name=_("owner"))
    filing_date = models.DateField(_("filing date"))
    grant_date = models.DateField(
        _("grant date"), null=True, blank=True, help_text=_("授权公告日: blank while the application is pending.")
    )
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

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def ipc_section(self) -> str:
        return self.ipc_class[:1].upper()

    def clean(self) -> None:
        if self.number:
            try:
                self.number = identifiers.normalize_patent_number(self.number)
            except ValidationError as exc:
                raise ValidationError({"number": exc}) from exc
        if self.filing_date and self.expiry_date and self.expiry_date <= self.filing_date:
            raise ValidationError({"expiry_date": _("The expiry date must be after the filing date.")})
        if self.filing_date and self.grant_date and not self.filing_date <= self.grant_date <= today():
            raise ValidationError(
                {"grant_date": _("The grant date is on or after the filing date, and not in the future.")}
            )
        if self.filing_date:
            windows.patent_dates(self.filing_date, self.expiry_date, today())

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.patent_type = identifiers.patent_type_of(self.number)
        if not self.expiry_date:
            self.expiry_date = add_months(self.filing_date, 12 * self.TERM_YEARS[self.patent_type])
        super().save(*args, **kwargs)

    def is_in_force(self, on: date) -> bool:
        return self.legal_status == self.LegalStatus.VALID and self.expiry_date >= on

    @property
    def in_force_today(self) -> bool:
        """For templates: in force on the business date."""
        return self.is_in_force(today())

    @classmethod
    def in_force_q(cls, on: date, to_patent: str = "") -> Q:
        """is_in_force as SQL (its twin, tested to agree), for rows reaching a patent by `to_patent`."""
        return Q(**{f"{to_patent}legal_status": cls.LegalStatus.VALID, f"{to_patent}expiry_date__gte": on})


def package_life(patents: Iterable[Patent]) -> date:
    """A package lives as long as its longest-lived patent: terms, trials, schedules and every
    dated amount end by then."""
    return max(patent.expiry_date for patent in patents)


class Closed(models.TextChoices):
    """Why an offer cannot be applied for now (Offer.closed_because); none: it can."""

    YOURS = "yours", _("Your enterprise already has a live license for a patent of this offer")
    EXCLUSIVE = "exclusive", _("Licensed exclusively to another enterprise at the moment")
    SOLE = "sole", _("Licensed under a sole license to another enterprise at the moment")
    LICENSED = (
        "licensed",
        _("Licensed to another enterprise now: an exclusive or sole license is possible only when that license ends"),
    )
    OPEN_LICENCE = (
        "open_licence",
        _("An open licence stands on this patent: anyone may license it on the open terms, but not exclusively"),
    )
    LAPSED = "lapsed", _("A patent of this offer is no longer in force")


class OfferQuerySet(models.QuerySet):
    def with_availability(self, enterprise: Any = None, on: date | None = None) -> "OfferQuerySet":
        """`closed_because` (a Closed reason, None when open) and `available`: every patent of the
        offer's package can be licensed under it now, to `enterprise` if one is given. Not while
        the enterprise itself holds a live license on one of them; not while an exclusive or sole
        license is live on one; for an exclusive or sole offer, not while any license is live on
        one or an open licence stands on one; never once a patent is no longer in force. Live
        licenses are judged by their own type and patents (both fixed when applied for).
        The one place this rule is written: the catalogue and the offer page say the reason,
        apply_for_trial refuses with it, publishing checks it (services.offers)."""
        from .licenses import License, LicensePatent  # a license is made from an offer: imported on use

        # License-patent rows on a patent of the outer offer's package, live ones only.
        live = LicensePatent.objects.filter(
            license__state__in=License.LIVE_STATES, patent__offer_links__offer=OuterRef("pk")
        )
        others = live.exclude(license__enterprise=enterprise) if enterprise is not None else live
        standing_open = OfferPatent.objects.filter(
            offer__open_licence=True,
            offer__state=Offer.State.PUBLISHED,
            patent__offer_links__offer=OuterRef("pk"),
        )
        lapsed = OfferPatent.objects.filter(offer=OuterRef("pk")).exclude(Patent.in_force_q(on or today(), "patent__"))
        exclusive_offer = Q(license_type__in=BLOCKING_TYPES)
        reasons = [
            (Exists(lapsed), Closed.LAPSED),
            *([(Exists(live.filter(license__enterprise=enterprise)), Closed.YOURS)] if enterprise is not None else []),
            (Exists(others.filter(license__license_type=LicenseType.EXCLUSIVE)), Closed.EXCLUSIVE),
            (Exists(others.filter(license__license_type=LicenseType.SOLE)), Closed.SOLE),
            (exclusive_offer & Exists(others), Closed.LICENSED),
            (exclusive_offer & Exists(standing_open), Closed.OPEN_LICENCE),
        ]
        closed = Case(
            *(When(condition, then=Value(reason.value)) for condition, reason in reasons),
            default=Value(None),
            output_field=models.CharField(),
        )
        return self.annotate(closed_because=closed).annotate(
            available=ExpressionWrapper(Q(closed_because__isnull=True), output_field=models.BooleanField())
        )


class Offer(FSMModelMixin, DealTerms):
    """The published try-before-you-pay terms of one patent (like an open-licence declaration).
    Published terms do not change: a revision is a new version, which replaces this one when it
    is published (services.revise_offer); licenses keep the version, and the terms, they applied on."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # The lead patent (主专利) names the offer in the catalogue; the package is every patent the
    # license covers, the lead among them (one institution's patents: services.set_package).
    patent = models.ForeignKey(Patent, on_delete=models.PROTECT, related_name="offers", verbose_name=_("lead patent"))
    patents = models.ManyToManyField(
        Patent, through="OfferPatent", related_name="package_offers", verbose_name=_("patents in the package")
    )
    name = models.CharField(
        _("title"),
        max_length=200,
        blank=True,
        validators=[single_line],
        help_text=_("What the catalogue, the pages and the emails call the offer. Blank: the lead patent's title."),
    )
    state = FSMField(_("state"), default=State.DRAFT, choices=State.choices, protected=True, db_index=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1, editable=False)
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="replaced_by",
        verbose_name=_("replaces"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = OfferQuerySet.as_manager()

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
                & Q(price__gte=0, price__lte=MAX_PRICE)
                & Q(trial_fee__gte=0, trial_fee__lte=MAX_PRICE)
                & Q(entry_fee__gte=0, entry_fee__lte=MAX_PRICE),
                name="offer_terms_within_bounds",
                violation_error_message=_("The offer's terms are outside their bounds."),
            )
        ]

    def __str__(self) -> str:
        if self.version > 1:
            return _("%(title)s (version %(version)s)") % {"title": self.title, "version": self.version}
        return self.title

    @property
    def title(self) -> str:
        """The package's name, or the lead patent's title: how people name the offer."""
        return self.name or self.patent.title

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.is_free:
            if self.equity_allowed:
                errors["equity_allowed"] = _("A free license has no fee to convert into equity.")
            if self.insurance_required:
                errors["insurance_required"] = _("A free license leaves nothing unpaid for insurance to cover.")
        elif self.price and not self.lump_sum_allowed and not self.installment_count:
            errors["installment_count"] = _(
                "Allow a lump sum or set a number of installments: an offer needs a payment plan."
            )
        if self.equity_allowed and not self.equity_max_share:
            errors["equity_max_share"] = _("Set the maximum share when equity conversion is allowed.")
        if self.open_licence:
            if self.license_type != LicenseType.ORDINARY:
                errors["license_type"] = _("An open licence grants ordinary licenses only (Patent Law Art. 51).")
            cap = settings.OPEN_LICENCE_MAX_FIXED_FEE
            if self.price is not None and self.price > cap:
                errors["price"] = str(_("An open licence's fixed fee is at most CNY %(cap)s (CNIPA guidance)."))
                errors["price"] %= {"cap": money_text(cap)}
        if self.term_start and self.term_end and self.term_end <= self.term_start:
            errors["term_end"] = _("The term must end after it starts.")
        try:
            self.check_royalty_terms()
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if self.open_licence and self.has_royalty and "royalty_rates" not in errors:
            self._check_open_licence_royalty(errors)
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
            self.check_schedule_fits(self.package_life(), today())

    def _check_open_licence_royalty(self, errors: dict[str, Any]) -> None:
        """An open licence's royalty rates stay within CNIPA's guidance (settings)."""
        cap = (
            settings.OPEN_LICENCE_MAX_ROYALTY_ON_SALES
            if self.royalty_base == "net_sales"
            else settings.OPEN_LICENCE_MAX_ROYALTY_ON_PROFIT
        )
        try:
            highest = max(tier.rate for tier in self.tiers())
        except ValidationError:
            return  # the field's own validator words it
        if highest > cap:
            errors["royalty_rates"] = _("An open licence's royalty rate is at most %(cap)s (CNIPA guidance).") % {
                "cap": f"{(cap * 100).normalize():f}%"
            }

    def package_life(self) -> date:
        """The last day of its package's life (the lead patent alone before it is saved)."""
        return package_life(self.patents.all() if self.pk is not None else [self.patent])

    def check_schedule_fits(self, last_expiry: date, on: date) -> None:
        """A trial started `on` and bought on its last day must be paid off, every dated amount
        included (milestones, a deferral's end), before the package's last patent expires: nobody
        pays for a patent that no longer exists. The one bound: saving and publishing an offer
        check it, and the purchase checks the real dates against the same life."""
        last_due = add_months(on, self.trial_months + self.schedule_months())
        if last_due > last_expiry:
            raise ValidationError(
                _(
                    "A trial starting today and its payment schedule would run to %(last)s, after the patent "
                    "expires on %(expiry)s: shorten the trial or the schedule."
                )
                % {"last": last_due, "expiry": last_expiry}
            )

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        # The lead patent is always in the package, however the offer was made.
        OfferPatent.objects.get_or_create(offer=self, patent_id=self.patent_id)

    def accepts_revision(self) -> bool:
        """A published offer, not yet being revised, can get a new version of its terms."""
        return self.state == self.State.PUBLISHED and not Offer.objects.filter(replaces=self).exists()

    def accepts_applications(self) -> bool:
        return self.state == self.State.PUBLISHED

    @property
    def closed_text(self) -> str:
        """Why it cannot be applied for now, in the reader's language (with_availability's reason)."""
        reason = getattr(self, "closed_because", None)
        return str(Closed(reason).label) if reason else ""

    @property
    def closed_sentence(self) -> str:
        """The refusal an application meets: 'This offer is closed now: <reason>.'"""
        reason = self.closed_text
        return (
            _("This offer is closed now: %(reason)s.") % {"reason": reason[:1].lower() + reason[1:]} if reason else ""
        )

    @transition(field=state, source=State.DRAFT, target=State.PUBLISHED, custom={"label": _("Publish")})
    def publish(self) -> None:
        pass

    @transition(field=state, source=State.PUBLISHED, target=State.WITHDRAWN, custom={"label": _("Withdraw")})
    def withdraw(self) -> None:
        pass


class OfferPatent(models.Model):
    """One patent of an offer's package."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="patent_links")
    patent = models.ForeignKey(Patent, on_delete=models.PROTECT, related_name="offer_links")

    class Meta:
        verbose_name = _("patent in a package")
        verbose_name_plural = _("patents in a package")
        constraints = [models.UniqueConstraint(fields=["offer", "patent"], name="offer_patent_once")]

    def __str__(self) -> str:
        return str(self.patent)
