"""Matching: what an SME needs, whether it wants offers pushed to it, and the precomputed terms
that rank offers for enterprises and enterprises for offers (services.matching keeps them)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..domain import clock
from ..domain.industries import DIVISION_CODES
from ..domain.text import multi_line, single_line
from .base import new_token
from .catalogue import Offer
from .parties import Enterprise

MAX_DIVISIONS = 8  # an SME works in a few industries; more says nothing about any


def valid_divisions(value: str) -> None:
    codes = [code for code in value.split(",") if code]
    unknown = [code for code in codes if code not in DIVISION_CODES]
    if unknown:
        raise ValidationError(_("Unknown industry division: %(codes)s") % {"codes": ", ".join(unknown)})
    if len(codes) > MAX_DIVISIONS:
        raise ValidationError(_("Choose at most %(count)s industries.") % {"count": MAX_DIVISIONS})


class EnterpriseNeeds(models.Model):
    """What an SME makes and which technical problems it wants solved, in its own words: the text
    the matching engine reads (kept by its members in the portal, each change audited)."""

    enterprise = models.OneToOneField(
        Enterprise, on_delete=models.CASCADE, related_name="needs", verbose_name=_("enterprise")
    )
    products = models.TextField(
        _("products and services"),
        blank=True,
        max_length=2000,
        validators=[multi_line],
        help_text=_("What the enterprise makes or offers today."),
    )
    problems = models.TextField(
        _("technical problems to solve"),
        blank=True,
        max_length=2000,
        validators=[multi_line],
        help_text=_("What a patent should help with: a process, a material, a product you want to make."),
    )
    divisions = models.CharField(
        _("industries (GB/T 4754 divisions)"),
        max_length=3 * MAX_DIVISIONS,
        blank=True,
        validators=[valid_divisions],
        help_text=_("The divisions of the national industry classification the enterprise works in."),
    )
    keywords = models.CharField(
        _("keywords"), max_length=300, blank=True, validators=[single_line], help_text=_("Separated by commas")
    )
    updated_at = models.DateTimeField(_("updated at"), default=clock.now)
    # Offers are pushed only while this is set (services.matching.set_push_consent keeps the record).
    push_consented_at = models.DateTimeField(_("offers pushed since"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("enterprise's needs")
        verbose_name_plural = _("enterprises' needs")

    def __str__(self) -> str:
        return str(_("Needs of %(enterprise)s") % {"enterprise": self.enterprise.name})

    @property
    def division_list(self) -> list[str]:
        return sorted({code for code in self.divisions.split(",") if code in DIVISION_CODES})

    @property
    def is_empty(self) -> bool:
        return not (self.products.strip() or self.problems.strip() or self.divisions or self.keywords.strip())


class PushConsent(models.Model):
    """Each time an SME's member opts in to, or out of, offers pushed by email: which notice they
    agreed to, when, and how (the portal, or an unsubscribe link). Separate from the sign-up's
    privacy consent; the newest row is the standing answer (EnterpriseNeeds.push_consented_at)."""

    class Channel(models.TextChoices):
        PORTAL = "portal", _("In the portal")
        UNSUBSCRIBE_LINK = "unsubscribe", _("By an email's unsubscribe link")

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="push_consents", verbose_name=_("enterprise")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    given = models.BooleanField(_("offers pushed"))
    notice_version = models.CharField(_("notice agreed to"), max_length=20, blank=True)
    channel = models.CharField(_("how"), max_length=20, choices=Channel.choices, default=Channel.PORTAL)
    at = models.DateTimeField(_("at"), default=clock.now)

    class Meta:
        verbose_name = _("push consent")
        verbose_name_plural = _("push consents")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return str(_("Offers pushed: yes") if self.given else _("Offers pushed: no"))


class OfferTerm(models.Model):
    """One term of a published offer's text (its patents' titles, keywords, abstracts, claims) and
    its BM25 weight in that offer; IPC classes are terms too ('#G06'). Only published offers are
    indexed: the ranking reads this table, never the text."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    term = models.CharField(max_length=40)
    weight = models.FloatField()  # a relevance weight, not money

    class Meta:
        # The weight rides in the index (PostgreSQL): a ranking reads its terms' rows without the table.
        constraints = [models.UniqueConstraint(fields=["term", "offer"], include=["weight"], name="offer_term_once")]

    def __str__(self) -> str:
        return f"{self.term} {self.weight:.3f}"


class NeedsTerm(models.Model):
    """One term of an enterprise's needs (its products, problems, keywords) and its BM25 weight;
    the IPC classes its industries lead to are terms too ('#G06')."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    term = models.CharField(max_length=40)
    weight = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["term", "enterprise"], include=["weight"], name="needs_term_once")
        ]

    def __str__(self) -> str:
        return f"{self.term} {self.weight:.3f}"


class MatchCorpus(models.Model):
    """The average length of the documents on one side (offers, needs), which BM25 weighs each
    document's length against: set by a full rebuild (`manage.py rebuild_matching`) and read when
    one document is indexed; until then a document is weighed against its own length."""

    class Side(models.TextChoices):
        OFFERS = "offers", _("Offers")
        NEEDS = "needs", _("Needs")

    side = models.CharField(max_length=10, choices=Side.choices, primary_key=True)
    average_length = models.FloatField()
    documents = models.PositiveIntegerField()
    rebuilt_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.side}: {self.documents} × {self.average_length:.1f}"


class PushCampaign(models.Model):
    """Offers a TTO pushes by email to enterprises that asked for fitting offers: who chose them,
    when, and each push's way from the email to a purchase (Push)."""

    institution = models.ForeignKey(
        "licensing.Institution", on_delete=models.PROTECT, related_name="push_campaigns", verbose_name=_("institution")
    )
    name = models.CharField(_("name"), max_length=200, validators=[single_line])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("push campaign")
        verbose_name_plural = _("push campaigns")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class Push(models.Model):
    """One offer pushed to one enterprise: told once through the ledger (Reminder kind
    OFFER_PUSHED), tracked by its link's token from the email to the offer page (clicked_at) and
    to the license applied for from it (license), whose trial and purchase follow."""

    campaign = models.ForeignKey(PushCampaign, on_delete=models.CASCADE, related_name="pushes")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="pushes")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="pushes")
    token = models.CharField(max_length=64, unique=True, default=new_token)
    # The words the offer shares with the enterprise's needs when it was pushed: the email says them.
    shared_words = models.CharField(_("shared words"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("pushed at"), default=clock.now)
    clicked_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    license = models.OneToOneField(
        "licensing.License",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="push",
        verbose_name=_("license applied for"),
    )

    class Meta:
        verbose_name = _("push")
        verbose_name_plural = _("pushes")
        constraints = [models.UniqueConstraint(fields=["campaign", "enterprise", "offer"], name="push_once")]
        indexes = [models.Index(fields=["enterprise", "created_at"], name="push_by_enterprise_month")]

    def __str__(self) -> str:
        return f"{self.offer} → {self.enterprise}"


class MatchTermStat(models.Model):
    """How many documents of one side hold a term (its document frequency, which makes a rare word
    count more than a common one): kept exact as documents are indexed and removed, so a ranking
    reads a term's rarity in one row instead of counting its postings."""

    side = models.CharField(max_length=10, choices=MatchCorpus.Side.choices)
    term = models.CharField(max_length=40)
    documents = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["side", "term"], name="match_term_stat_once")]

    def __str__(self) -> str:
        return f"{self.side} {self.term}: {self.documents}"


class Feedback(models.Model):
    """Why an enterprise did not take an offer: asked when its trial ended without a purchase (on
    its license page) and when it declined a pushed offer (from the email, no login needed). The
    offer's admin page and the dashboard sum the answers, so the TTO can re-price or re-target."""

    class Reason(models.TextChoices):
        PRICE = "price", _("The price or the payment terms")
        MATURITY = "maturity", _("The technology is not mature enough for us")
        FIT = "fit", _("It does not fit our products or needs")
        TIMING = "timing", _("Not now: the timing is wrong")
        OTHER = "other", _("Another reason")

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="feedback", verbose_name=_("enterprise")
    )
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="feedback", verbose_name=_("offer"))
    license = models.OneToOneField(
        "licensing.License",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="feedback",
        verbose_name=_("license"),
    )
    push = models.OneToOneField(
        Push, on_delete=models.CASCADE, null=True, blank=True, related_name="feedback", verbose_name=_("push")
    )
    reason = models.CharField(_("main reason"), max_length=20, choices=Reason.choices)
    note = models.TextField(_("note"), blank=True, max_length=1000, validators=[multi_line])
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(_("answered at"), default=clock.now)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(license__isnull=False) | models.Q(push__isnull=False),
                name="feedback_on_a_trial_or_a_push",
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} · {self.get_reason_display()}"
