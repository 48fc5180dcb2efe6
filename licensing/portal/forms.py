"""Portal forms. They check what the user typed; the services decide what is allowed."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ..domain import industries
from ..domain.clock import today
from ..domain.text import REASON_MAX_LENGTH, single_line
from ..formfields import NumberField, number_formfield
from ..models import (
    MAX_DIVISIONS,
    Enterprise,
    EnterpriseNeeds,
    Feedback,
    IndustrySection,
    InvoiceRequest,
    License,
    PaymentReport,
    RoyaltyReport,
)
from ..widgets import DateInput


class SignUpForm(UserCreationForm):
    email = forms.EmailField(label=_("Email"), help_text=_("For password resets."), validators=[single_line])
    full_name = forms.CharField(label=_("Your name"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    privacy_consent = forms.BooleanField(
        label=_("I have read the privacy notice and agree to it"),
        error_messages={"required": _("Agree to the privacy notice to sign up.")},
    )

    class Meta(UserCreationForm.Meta):
        fields = ["username", "email"]


class EnterpriseForm(forms.ModelForm):
    """The enterprise a new user signs up for. If its USCC is registered already, the user joins
    that enterprise (after staff approval) and the other fields are not used."""

    class Meta:
        formfield_callback = number_formfield
        model = Enterprise
        fields = [
            "name",
            "uscc",
            "industry_section",
            "industry",
            "employees",
            "annual_revenue",
            "high_tech",
            "contact_email",
            "language",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["industry_section"].required = True
        # Chosen here (the page's language preselected); a sign-up that leaves it out gets that too.
        self.fields["language"].required = False

    def clean_language(self):
        return self.cleaned_data.get("language") or self.initial.get("language") or settings.LANGUAGE_CODE

    def validate_unique(self):
        pass  # a registered USCC means joining that enterprise: see services.sign_up_member


class EnterpriseDetailsForm(forms.ModelForm):
    """An enterprise's own master data, kept by its members (USCC is its identity: fixed)."""

    reason = forms.CharField(
        label=_("What changed? (optional)"), required=False, max_length=REASON_MAX_LENGTH, widget=forms.TextInput
    )

    class Meta:
        formfield_callback = number_formfield
        model = Enterprise
        fields = [
            "name",
            "industry_section",
            "industry",
            "employees",
            "annual_revenue",
            "high_tech",
            "contact_email",
            "language",
            "address",
            "legal_representative",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["industry_section"].required = True  # asked of enterprises registered before too
        for name in ("address", "legal_representative"):
            self.fields[name].help_text = _("License contracts name the enterprise by it.")


class StateGuardForm(forms.Form):
    """Carries the state the page showed, so a stale page or a second click does nothing."""

    seen_state = forms.CharField(widget=forms.HiddenInput)


class ApplyForm(forms.Form):
    intended_use = forms.CharField(
        label=_("Intended use"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=_("What product or process will use the patent?"),
    )
    contact = forms.CharField(label=_("Contact person and phone"), max_length=200)


class PurchaseForm(StateGuardForm):
    plan = forms.ChoiceField(label=_("Payment plan"), widget=forms.RadioSelect)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, license: License, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(p, License.Plan(p).label) for p in license.plans]


class MilestoneForm(forms.Form):
    on = forms.DateField(label=_("Reached on"), widget=DateInput())
    evidence = forms.CharField(
        label=_("What happened"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: the first invoice number, or the approval document."),
    )


class RoyaltyReportForm(forms.ModelForm):
    """A period's report: the base (a royalty's) or only units and a note (a use report)."""

    class Meta:
        formfield_callback = number_formfield
        model = RoyaltyReport
        fields = ["base_amount", "units", "note", "attachment"]
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"attachment": _("Optional: a PDF, PNG or JPEG of the sales ledger or invoices.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.is_use_report:
            del self.fields["base_amount"]
        else:
            self.fields["base_amount"].required = True
            self.fields["base_amount"].label = self.instance.license.get_royalty_base_display() + _(" (CNY)")

    def _post_clean(self):
        pass  # the service checks and writes the report (services.file_royalty_report)


class EquityForm(StateGuardForm):
    share = NumberField(
        label=_("Share of the remaining fee to convert"),
        max_digits=5,
        decimal_places=4,
        min_value=0,
        max_value=1,
        help_text=_("A fraction: 0.3 converts three tenths of what remains to be paid."),
    )
    valuation = NumberField(label=_("Valuation of your enterprise (CNY)"), max_digits=14, decimal_places=2, min_value=0)


class PurchaseWithEquityForm(PurchaseForm, EquityForm):
    pass


class ReturnForm(StateGuardForm):
    reason = forms.CharField(
        label=_("Why are you returning it? (optional)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class PaymentReportForm(forms.ModelForm):
    class Meta:
        formfield_callback = number_formfield
        model = PaymentReport
        fields = ["amount", "paid_on", "reference", "receipt"]
        widgets = {"paid_on": DateInput()}
        help_texts = {"receipt": _("Optional: PDF, PNG or JPEG.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = today


class SignedCopyForm(forms.Form):
    copy = forms.FileField(
        label=_("Your signed and sealed copy (PDF)"),
        help_text=_("A scan of every page, signed by your legal representative and sealed."),
    )


class InvoiceRequestForm(forms.ModelForm):
    """The buyer's details a fapiao is made out to, prefilled from the enterprise's last request."""

    class Meta:
        model = InvoiceRequest
        fields = list(InvoiceRequest.FIELDS)


def division_choices() -> list:
    """GB/T 4754 divisions grouped by section, named in the reader's language."""
    language = translation.get_language() or "zh-hans"
    sections = dict(IndustrySection.choices)
    grouped: dict[str, list] = {}
    for code, section, _zh, _en in industries.DIVISIONS:
        grouped.setdefault(section, []).append((code, industries.division_name(code, language)))
    return [(sections[section], choices) for section, choices in grouped.items()]


class NeedsForm(forms.ModelForm):
    """What the enterprise makes and needs, in its own words: the matching engine reads it."""

    divisions = forms.MultipleChoiceField(
        label=_("Industries (GB/T 4754 divisions)"),
        required=False,
        help_text=_("Up to 8. Hold Ctrl (or ⌘) to choose several."),
        widget=forms.SelectMultiple(attrs={"size": 10}),
    )

    class Meta:
        model = EnterpriseNeeds
        fields = ["products", "problems", "divisions", "keywords"]
        widgets = {"products": forms.Textarea(attrs={"rows": 3}), "problems": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["divisions"].choices = division_choices()
        if self.instance.pk:
            self.initial["divisions"] = self.instance.division_list
        self.fields["keywords"].help_text = _("Separated by commas, for example: 锂电池, 储能, 热管理")

    def clean_divisions(self):
        chosen = self.cleaned_data["divisions"]
        if len(chosen) > MAX_DIVISIONS:
            raise forms.ValidationError(_("Choose at most %(count)s industries.") % {"count": MAX_DIVISIONS})
        return ",".join(sorted(chosen))


class FeedbackForm(forms.Form):
    """Why the enterprise did not take the offer (the service checks who may answer)."""

    reason = forms.ChoiceField(label=_("The main reason"), choices=Feedback.Reason.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("Anything the technology transfer office should know (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
