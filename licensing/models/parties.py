"""The parties: institutions (TTOs) and their staff, enterprises (SMEs) and their portal members."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain import clock, identifiers, size_class
from ..domain.text import single_line
from .base import new_token


class Institution(models.Model):
    class Kind(models.TextChoices):
        UNIVERSITY = "university", _("University")
        INSTITUTE = "institute", _("Research institute")

    name = models.CharField(_("name"), max_length=200, unique=True, validators=[single_line])
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    contact_email = models.EmailField(_("TTO contact email"), blank=True, validators=[single_line])
    contact_name = models.CharField(_("TTO contact person"), max_length=100, blank=True, validators=[single_line])
    contact_phone = models.CharField(_("TTO contact phone"), max_length=40, blank=True, validators=[single_line])
    # The licensor as its contracts name it (专利实施许可合同, the recordal application).
    uscc = models.CharField(
        _("Unified Social Credit Code"),
        max_length=18,
        blank=True,
        validators=[identifiers.normalize_uscc],  # type: ignore[list-item]  # returns the code, ignored here
    )
    address = models.CharField(_("address"), max_length=300, blank=True, validators=[single_line])
    legal_representative = models.CharField(
        _("legal representative"), max_length=100, blank=True, validators=[single_line], help_text=_("法定代表人")
    )
    # Contract numbers read PREFIX-YEAR-SERIAL (JH-2026-0007): gapless per year (services.contracts).
    contract_prefix = models.CharField(
        _("contract number prefix"),
        max_length=8,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{1,8}$", _("Enter 1 to 8 capital letters, for example JH."))],
        help_text=_("Capital letters in front of the institution's contract numbers, for example JH: JH-2026-0007."),
    )
    # The language of the notices sent to the TTO's contact address (claims, open-licence grants).
    language = models.CharField(
        _("language for staff emails"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    # Where licensees pay (收款账户): shown on the license page, the payment form and the reminders.
    payee_name = models.CharField(
        _("payee account name"), max_length=200, blank=True, validators=[single_line], help_text=_("收款单位")
    )
    payee_bank = models.CharField(
        _("payee bank and branch"), max_length=200, blank=True, validators=[single_line], help_text=_("开户行")
    )
    payee_account = models.CharField(
        _("payee account number"),
        max_length=40,
        blank=True,
        validators=[
            RegexValidator(
                r"^[0-9][0-9 ]{5,38}[0-9]$", _("Enter the account number: digits, spaces between groups allowed.")
            )
        ],
        help_text=_("账号"),
    )

    # Matching (issue 26): on the 1st of each month, the last month's new offers go to the
    # enterprises they fit best that asked for offers (services.push_monthly_digest).
    monthly_digest = models.BooleanField(
        _("monthly digest of new offers"),
        default=False,
        help_text=_(
            "Each month, push the offers published the month before to the enterprises they fit best "
            "(only those that asked for offers, at most the monthly limit each)."
        ),
    )

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["name"]
        constraints = [
            # Contract numbers are unique across institutions: so is the prefix they start with.
            models.UniqueConstraint(
                fields=["contract_prefix"], condition=~models.Q(contract_prefix=""), name="institution_prefix_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.uscc:
            self.uscc = identifiers.normalize_uscc(self.uscc)  # upper case, no spaces

    @property
    def has_payee(self) -> bool:
        return bool(self.payee_name and self.payee_account)


class StaffProfile(models.Model):
    """Ties a TTO staff user to the one institution whose data they work on."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="staff", verbose_name=_("institution")
    )

    class Meta:
        verbose_name = _("TTO staff member")
        verbose_name_plural = _("TTO staff members")

    def __str__(self) -> str:
        return f"{self.user} @ {self.institution}"


class IndustrySection(models.TextChoices):
    """The sections (门类) of the national industry classification, GB/T 4754-2017: what an SME
    does, as statistics offices and the industrialization figures name it."""

    A = "A", _("A Agriculture, forestry, animal husbandry and fishery")
    B = "B", _("B Mining")
    C = "C", _("C Manufacturing")
    D = "D", _("D Electricity, heat, gas and water production and supply")
    E = "E", _("E Construction")
    F = "F", _("F Wholesale and retail trade")
    G = "G", _("G Transport, storage and postal services")
    H = "H", _("H Accommodation and catering")
    I = "I", _("I Information transmission, software and information technology services")  # noqa: E741
    J = "J", _("J Finance")
    K = "K", _("K Real estate")
    L = "L", _("L Leasing and business services")
    M = "M", _("M Scientific research and technical services")
    N = "N", _("N Water conservancy, environment and public facilities management")
    O = "O", _("O Resident services, repair and other services")  # noqa: E741
    P = "P", _("P Education")
    Q = "Q", _("Q Health and social work")
    R = "R", _("R Culture, sports and entertainment")
    S = "S", _("S Public administration, social security and social organisations")
    T = "T", _("T International organisations")


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
        validators=[identifiers.normalize_uscc],  # type: ignore[list-item]  # returns the code, ignored here
    )
    industry_section = models.CharField(
        _("industry (GB/T 4754 section)"),
        max_length=1,
        choices=IndustrySection.choices,
        blank=True,  # enterprises registered before it was asked; the portal's forms require it
        db_index=True,
        help_text=_("What the enterprise does, in the national industry classification."),
    )
    industry = models.CharField(
        _("industry for the size class"),
        max_length=20,
        choices=Industry.choices,
        help_text=_("The SME classification rules' industry (2011), which sets the size thresholds."),
    )
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
    # What a license contract and its recordal name the licensee by (asked before a contract is issued).
    address = models.CharField(_("registered address"), max_length=300, blank=True, validators=[single_line])
    legal_representative = models.CharField(
        _("legal representative"), max_length=100, blank=True, validators=[single_line], help_text=_("法定代表人")
    )
    contact_email = models.EmailField(_("contact email"), blank=True, validators=[single_line])
    language = models.CharField(_("language for emails"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ["name"]
        indexes = [models.Index(fields=["name", "id"], name="enterprise_by_name")]  # the admin's list

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.uscc:
            self.uscc = identifiers.normalize_uscc(self.uscc)  # upper case, no spaces

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Stored, not computed per query, so reports can group by it in SQL.
        self.size_class = size_class.classify(self.industry, self.employees, self.annual_revenue)
        super().save(*args, **kwargs)


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
    created_at = models.DateTimeField(_("signed up at"), default=clock.now)
    # Consent to the privacy notice at sign-up (PIPL): which text, and when.
    privacy_notice_version = models.CharField(_("privacy notice consented to"), max_length=20, blank=True)
    privacy_consented_at = models.DateTimeField(_("consented at"), null=True, blank=True)

    class Meta:
        verbose_name = _("enterprise member")
        verbose_name_plural = _("enterprise members")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.full_name} · {self.enterprise.name}"

    @transition(field=state, source=State.PENDING, target=State.ACTIVE, custom={"label": _("Approve")})
    def approve(self) -> None:
        pass

    @transition(field=state, source=[State.PENDING, State.ACTIVE], target=State.REVOKED, custom={"label": _("Revoke")})
    def revoke(self) -> None:
        pass
