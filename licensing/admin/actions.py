"""The buttons TTO staff press on an object's admin page. Each is a small form whose clean
data goes to one service; the service decides whether the action is allowed.

(django-fsm-2's FSMAdminMixin would call transitions and save() directly, outside the services
and their transaction; these buttons replace it.)
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from .. import selectors, services
from ..domain.clock import today
from ..domain.numbers import money_text, percent
from ..domain.text import REASON_MAX_LENGTH
from ..formfields import NumberField
from ..models import Enterprise, InsurancePolicy, License, LicenseMilestone, Offer
from ..widgets import DateInput


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=REASON_MAX_LENGTH
    )


class RequiredReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=REASON_MAX_LENGTH)


class RefundCreditForm(RequiredReasonForm):
    amount = NumberField(label=_("Amount (CNY)"), max_digits=14, decimal_places=2, min_value=0.01)
    reference = forms.CharField(label=_("Bank reference"), max_length=100)


class ReversePaymentForm(RequiredReasonForm):
    """Why the payment is reversed; the page shows what reversing it does (`form.plan`)."""

    def __init__(self, *args, obj, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = services.plan_payment_reversal(obj)
        self.fields["reason"].help_text = _(
            "For example: the transfer bounced, or it was another license's money. The enterprise reads it."
        )


class MilestoneForm(forms.Form):
    milestone = forms.ModelChoiceField(label=_("Milestone"), queryset=LicenseMilestone.objects.none())
    on = forms.DateField(label=_("Reached on"), initial=today, widget=DateInput())
    evidence = forms.CharField(
        label=_("Evidence"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=REASON_MAX_LENGTH
    )

    def __init__(self, *args, obj: License, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["milestone"].queryset = obj.milestones.filter(state=LicenseMilestone.State.PENDING)


class RoyaltyAdjustmentForm(RequiredReasonForm):
    amount = NumberField(label=_("Royalty found due (CNY)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))


class PatentWeightsForm(RequiredReasonForm):
    """A weight for each patent of the license: its income is shared among them in proportion
    before the distribution policy splits it (1 each by default: equal)."""

    def __init__(self, *args, obj: License, **kwargs):
        super().__init__(*args, **kwargs)
        for link in obj.patent_links.select_related("patent").order_by("patent__number"):
            self.fields[f"weight_{link.patent_id}"] = NumberField(
                label=_("Weight of %(patent)s") % {"patent": link.patent.number},
                max_digits=7,
                decimal_places=2,
                min_value=Decimal("0.01"),
                initial=link.weight,
            )
        self.order_fields([*(name for name in self.fields if name.startswith("weight_")), "reason"])

    @staticmethod
    def weights(data: dict) -> dict:
        return {int(name.removeprefix("weight_")): value for name, value in data.items() if name.startswith("weight_")}


class ApproveForm(ReasonForm):
    start = forms.DateField(label=_("Trial start"), initial=today, widget=DateInput())


class PurchaseForm(forms.Form):
    plan = forms.ChoiceField(label=_("Payment plan"), choices=License.Plan.choices)
    on = forms.DateField(label=_("Purchase date"), initial=today, widget=DateInput())

    def __init__(self, *args, obj: License, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(p, License.Plan(p).label) for p in obj.plans]


class PaymentForm(forms.Form):
    amount = NumberField(label=_("Amount (CNY)"), max_digits=14, decimal_places=2, min_value=0.01)
    paid_on = forms.DateField(label=_("Paid on"), initial=today, widget=DateInput())
    reference = forms.CharField(label=_("Bank reference"), max_length=100)
    reference_reuse_confirmed = forms.BooleanField(
        label=_("This reference was used before: I checked, this is another transfer"), required=False
    )
    # Generated when the form is shown, so a double submit records the payment once.
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        error_messages={
            "required": _("This form has expired or was altered (its one-time key is missing). Open it again."),
            "max_length": _("This form has expired or was altered (its one-time key is invalid). Open it again."),
        },
    )

    def __init__(self, *args, obj: License, **kwargs):
        kwargs.setdefault("initial", {})["idempotency_key"] = uuid.uuid4().hex
        super().__init__(*args, **kwargs)


class PolicyForm(forms.ModelForm):
    class Meta:
        model = InsurancePolicy
        fields = list(services.POLICY_TERMS)  # what a policy is registered with, and audited
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
        }

    def __init__(self, *args, obj: License, **kwargs):
        kwargs.setdefault("initial", {}).update(coverage_ratio=obj.coverage_ratio)
        super().__init__(*args, **kwargs)


class EquityForm(forms.Form):
    share = NumberField(
        label=_("Share of the remaining fee"),
        max_digits=5,
        decimal_places=4,
        min_value=0,
        max_value=1,
        help_text=_("A fraction of what remains to be paid: 0.3 converts three tenths of it."),
    )
    valuation = NumberField(label=_("Agreed valuation of the enterprise (CNY)"), max_digits=14, decimal_places=2)


class ApplicationForm(forms.Form):
    """An application registered by TTO staff on behalf of an SME (e.g. from a paper form)."""

    enterprise = forms.ModelChoiceField(label=_("Enterprise"), queryset=Enterprise.objects.none())
    intended_use = forms.CharField(label=_("Intended use"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The enterprises this officer may see (selectors.enterprises_for); the service refuses others.
        self.fields["enterprise"].queryset = selectors.enterprises_for(user).order_by("name")


class PushForm(forms.Form):
    """Push an offer by email to the enterprises it fits best (those that asked for offers)."""

    name = forms.CharField(label=_("Campaign name"), max_length=200, help_text=_("For example: 2026 Q4 batteries"))
    chosen = forms.TypedMultipleChoiceField(
        label=_("These enterprises"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick the ones to push to; or tick none and give a number below."),
    )
    count = forms.IntegerField(
        label=_("Or the best fitting, how many"), min_value=1, max_value=10_000, initial=20, required=False
    )

    def __init__(self, *args, obj, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["count"].help_text = gettext(
            "The best fitting first; each enterprise gets at most %(n)s offers a month."
        ) % {"n": settings.PUSHES_PER_MONTH}
        self.fitting = selectors.fitting_enterprises(obj, limit=20)  # who would get it: the page lists them
        self.fields["chosen"].choices = [(m.item.pk, m.item.name) for m in self.fitting]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("chosen") and not cleaned.get("count"):
            raise forms.ValidationError(gettext("Tick the enterprises to push to, or give how many of the best."))
        return cleaned


class PublishForm(forms.Form):
    """Publishing shows the SME's page first (the action page's preview) and, when live licenses
    keep the offer closed, lists them and asks whether to publish it as opening when they end."""

    opens_when_free = forms.BooleanField(
        label=_("Publish it now anyway, as opening when these licenses end"),
        required=False,
        help_text=_("The catalogue shows it closed until then, with the reason; the history records your choice."),
    )

    def __init__(self, *args, obj, **kwargs):
        super().__init__(*args, **kwargs)
        self.holders = [services.holder_line(lic) for lic in services.licenses_keeping_closed(obj)]
        if not self.holders:
            del self.fields["opens_when_free"]


class ClaimPaidForm(forms.Form):
    amount = NumberField(label=_("Amount paid by the insurer (CNY)"), max_digits=14, decimal_places=2)


@dataclass(frozen=True)
class ServiceAction:
    name: str
    label: str
    form: type[forms.BaseForm]
    perform: Callable  # (obj, user, cleaned_data) -> None
    available: Callable  # (obj) -> bool
    takes_obj: bool = False  # the form's __init__ needs the object (choices, defaults)
    takes_user: bool = False  # the form's __init__ needs the user (choices scoped to what they may see)
    done: Callable | None = None  # (obj, result) -> the success message, with what changed
    shows: str = ""  # a template the action page shows above its form (what is being decided)

    def form_kwargs(self, obj, user) -> dict:
        return {**({"obj": obj} if self.takes_obj else {}), **({"user": user} if self.takes_user else {})}


def _outstanding_after(lic: License) -> str:
    summary = selectors.balance_summary(lic, today())
    return gettext("Outstanding now CNY %(outstanding)s, of which CNY %(overdue)s overdue.") % {
        "outstanding": money_text(summary["outstanding"]),
        "overdue": money_text(summary["overdue"]),
    }


def _paid(lic: License, payment) -> str:
    said = gettext("Recorded CNY %(amount)s (%(reference)s, paid on %(date)s).") % {
        "amount": money_text(payment.amount),
        "reference": payment.reference,
        "date": payment.paid_on,
    }
    return f"{said} {_outstanding_after(lic)}"


def _fell_due(lic: License, inst) -> str:
    said = gettext("CNY %(amount)s falls due on %(date)s.") % {"amount": money_text(inst.amount), "date": inst.due_date}
    return f"{said} {_outstanding_after(lic)}"


def state_now(obj) -> str:
    """'License #12 is now Defaulted.': what an action left behind, when it has no words of its own."""
    return gettext("%(object)s is now %(state)s.") % {"object": obj, "state": obj.get_state_display()}


def _trial_approved(lic: License, approved: License) -> str:
    return gettext("Trial approved: %(start)s to %(end)s.") % {
        "start": approved.trial_start,
        "end": approved.trial_end_effective,
    }


def _bought(lic: License, bought: License) -> str:
    summary = selectors.balance_summary(bought, today())
    said = gettext("Purchased (%(plan)s).") % {"plan": bought.plan_name}
    if summary["contracted"]:
        said += " " + gettext("CNY %(contracted)s fixed in the schedule.") % {
            "contracted": money_text(summary["contracted"])
        }
    if bought.has_royalty:
        said += " " + gettext("Royalty: %(rates)s, on %(base)s.") % {
            "rates": bought.rates_in_words(),
            "base": bought.get_royalty_base_display().lower(),
        }
    if summary["next_is_report"]:  # its amount is not known until the report is filed
        said += " " + gettext("Next: a period's royalty, its amount from the report, due on %(date)s.") % {
            "date": summary["next_due_date"]
        }
    elif summary["next_due_date"]:
        said += " " + gettext("Next due: CNY %(amount)s on %(date)s.") % {
            "amount": money_text(summary["next_due_amount"]),
            "date": summary["next_due_date"],
        }
    if bought.is_free:
        return said
    return f"{said} {_outstanding_after(bought)}"


def _in_default(lic: License, defaulted: License) -> str:
    return f"{state_now(defaulted)} {_outstanding_after(defaulted)}"


def _claim_filed(lic: License, claim) -> str:
    return gettext(
        "Claim filed: CNY %(claimed)s, %(coverage)s of CNY %(outstanding)s outstanding. "
        "The TTO and the insurer are notified."
    ) % {
        "claimed": money_text(claim.claimed_amount),
        "coverage": percent(claim.policy.coverage_ratio),
        "outstanding": money_text(claim.outstanding_at_filing),
    }


def _written_off(lic: License, written_off: License) -> str:
    return gettext("Written off with CNY %(outstanding)s unpaid.") % {
        "outstanding": money_text(written_off.outstanding)
    }


def _policy_registered(lic: License, policy) -> str:
    return gettext("Policy %(number)s registered: it covers %(coverage)s of what is unpaid, %(start)s to %(end)s.") % {
        "number": policy.policy_number,
        "coverage": percent(policy.coverage_ratio),
        "start": policy.starts_on,
        "end": policy.ends_on,
    }


def _conversion(conv, done: str) -> str:
    return gettext(
        "%(done)s CNY %(amount)s of the fee for a stake of %(stake)s at a valuation of CNY %(valuation)s."
    ) % {
        "done": done,
        "amount": money_text(conv.converted_amount),
        "stake": percent(conv.stake),
        "valuation": money_text(conv.valuation),
    }


def _executed(conv) -> str:
    said = _conversion(conv, gettext("Executed: converted"))
    return f"{said} {_outstanding_after(conv.license)}"


def _claim_paid(claim, paid) -> str:
    return gettext("The insurer paid CNY %(paid)s of the CNY %(claimed)s claimed. %(state)s") % {
        "paid": money_text(paid.paid_amount),
        "claimed": money_text(paid.claimed_amount),
        "state": state_now(paid.license),
    }


def _transition_possible(method_name: str, check_conditions: bool = False) -> Callable:
    """Offer the button when the state allows the transition; its conditions are left to the
    service, which explains a refusal (e.g. how many grace days remain)."""
    return lambda obj: can_proceed(getattr(obj, method_name), check_conditions=check_conditions)


def _contract_issued(lic: License, contract) -> str:
    return gettext("Contract %(number)s issued. The enterprise is told to download it from the portal and sign it.") % {
        "number": contract.number
    }


LICENSE_ACTIONS = [
    ServiceAction(
        "issue_contract",
        _("Issue the contract"),
        forms.Form,
        lambda lic, by, d: services.issue_contract(license_id=lic.pk, by=by),
        lambda lic: lic.awaits_contract,
        done=_contract_issued,
    ),
    ServiceAction(
        "approve",
        _("Approve trial"),
        ApproveForm,
        lambda lic, by, d: services.approve_trial(license_id=lic.pk, by=by, **d),
        _transition_possible("approve"),
        done=_trial_approved,
    ),
    ServiceAction(
        "reject",
        _("Reject"),
        RequiredReasonForm,
        lambda lic, by, d: services.reject_application(license_id=lic.pk, by=by, **d),
        _transition_possible("reject"),
    ),
    ServiceAction(
        "register_policy",
        _("Register insurance or guarantee"),
        PolicyForm,
        lambda lic, by, d: services.register_policy(license_id=lic.pk, by=by, **d),
        License.accepts_policy,
        takes_obj=True,
        done=_policy_registered,
    ),
    ServiceAction(
        "purchase",
        _("Purchase"),
        PurchaseForm,
        lambda lic, by, d: services.purchase(license_id=lic.pk, by=by, **d),
        _transition_possible("purchase"),
        takes_obj=True,
        done=_bought,
    ),
    ServiceAction(
        "return_patent",
        _("Return"),
        ReasonForm,
        lambda lic, by, d: services.return_patent(license_id=lic.pk, by=by, **d),
        _transition_possible("return_patent"),
    ),
    ServiceAction(
        "expire",
        _("Expire trial"),
        forms.Form,
        lambda lic, by, d: services.expire_trial(license_id=lic.pk, by=by),
        _transition_possible("expire", check_conditions=True),
    ),
    ServiceAction(
        "record_payment",
        _("Record payment"),
        PaymentForm,
        lambda lic, by, d: services.record_payment(license_id=lic.pk, by=by, **d),
        License.accepts_payments,
        takes_obj=True,
        done=_paid,
    ),
    ServiceAction(
        "record_milestone",
        _("Record a milestone reached"),
        MilestoneForm,
        lambda lic, by, d: services.reach_milestone(
            milestone_id=d["milestone"].pk, on=d["on"], by=by, evidence=d["evidence"]
        ),
        lambda lic: lic.accepts_milestones() and lic.milestones.filter(state="pending").exists(),
        takes_obj=True,
        done=lambda lic, milestone: _fell_due(lic, milestone.installment),
    ),
    ServiceAction(
        "record_royalty_adjustment",
        _("Record an audit finding (royalty adjustment)"),
        RoyaltyAdjustmentForm,
        lambda lic, by, d: services.record_royalty_adjustment(license_id=lic.pk, by=by, **d),
        lambda lic: lic.has_royalty and lic.accepts_reports(),
        done=_fell_due,
    ),
    ServiceAction(
        "refund_credit",
        _("Refund credit"),
        RefundCreditForm,
        lambda lic, by, d: services.refund_credit(license_id=lic.pk, by=by, **d),
        lambda lic: lic.credit > 0,
        done=lambda lic, movement: (
            gettext("Refunded CNY %(amount)s of the license's credit (%(reference)s).")
            % {"amount": money_text(movement.amount), "reference": movement.reference}
        ),
    ),
    ServiceAction(
        "mark_overdue",
        _("Check for overdue installments"),
        forms.Form,
        lambda lic, by, d: services.mark_overdue(license_id=lic.pk, by=by),
        _transition_possible("fall_into_arrears"),  # the check can only move a purchased license
    ),
    ServiceAction(
        "declare_default",
        _("Declare default"),
        ReasonForm,
        lambda lic, by, d: services.declare_default(license_id=lic.pk, by=by, **d),
        _transition_possible("declare_default"),
        done=_in_default,
    ),
    ServiceAction(
        "file_claim",
        _("File insurance claim"),
        ReasonForm,
        lambda lic, by, d: services.file_claim(license_id=lic.pk, by=by, **d),
        _transition_possible("file_claim"),
        done=_claim_filed,
    ),
    ServiceAction(
        "propose_equity",
        _("Propose equity conversion"),
        EquityForm,
        lambda lic, by, d: services.propose_equity_conversion(license_id=lic.pk, by=by, **d),
        License.accepts_equity_conversion,
        done=lambda lic, conv: _conversion(conv, gettext("Proposed: convert")),
    ),
    ServiceAction(
        "write_off",
        _("Write off"),
        RequiredReasonForm,
        lambda lic, by, d: services.write_off(license_id=lic.pk, by=by, **d),
        _transition_possible("write_off"),
        done=_written_off,
    ),
    ServiceAction(
        "terminate",
        _("Terminate"),
        RequiredReasonForm,
        lambda lic, by, d: services.terminate(license_id=lic.pk, by=by, **d),
        _transition_possible("terminate"),
    ),
    ServiceAction(
        "set_patent_weights",
        _("Share the income among the patents"),
        PatentWeightsForm,
        lambda lic, by, d: services.set_patent_weights(
            license_id=lic.pk, by=by, reason=d["reason"], weights=PatentWeightsForm.weights(d)
        ),
        lambda lic: len(lic.patents.all()) > 1,
        takes_obj=True,
    ),
]

OFFER_ACTIONS = [
    ServiceAction(
        "apply",
        _("Register an application"),
        ApplicationForm,
        lambda offer, by, d: services.apply_for_trial(offer_id=offer.pk, by=by, **d),
        Offer.accepts_applications,
        takes_user=True,
    ),
    ServiceAction(
        "publish",
        _("Publish"),
        PublishForm,
        lambda offer, by, d: services.publish_offer(offer_id=offer.pk, by=by, **d),
        _transition_possible("publish"),
        takes_obj=True,
        shows="admin/licensing/offer_preview.html",
    ),
    ServiceAction(
        "withdraw",
        _("Withdraw"),
        RequiredReasonForm,
        lambda offer, by, d: services.withdraw_offer(offer_id=offer.pk, by=by, **d),
        _transition_possible("withdraw"),
    ),
    ServiceAction(
        "push",
        _("Push to fitting enterprises"),
        PushForm,
        lambda offer, by, d: services.push_to_fitting(
            offer_id=offer.pk, by=by, name=d["name"], count=d["count"] or 0, enterprise_ids=d["chosen"] or None
        ),
        Offer.accepts_applications,
        takes_obj=True,
        done=lambda offer, campaign: (
            gettext("Campaign “%(name)s”: %(pushes)s emails queued; %(limit)s held back by the monthly limit.")
            % {
                "name": campaign.name,
                "pushes": campaign.counts["pushes"],
                "limit": campaign.counts["held_back_monthly_limit"],
            }
        ),
        shows="admin/licensing/push_preview.html",
    ),
    ServiceAction(
        "revise",
        _("Draft a new version of the terms"),
        forms.Form,
        lambda offer, by, d: services.revise_offer(offer_id=offer.pk, by=by),
        Offer.accepts_revision,
    ),
]

CLAIM_ACTIONS = [
    ServiceAction(
        "approve",
        _("Approve claim"),
        ReasonForm,
        lambda claim, by, d: services.approve_claim(claim_id=claim.pk, by=by, **d),
        _transition_possible("approve"),
    ),
    ServiceAction(
        "record_paid",
        _("Record claim paid"),
        ClaimPaidForm,
        lambda claim, by, d: services.record_claim_paid(claim_id=claim.pk, by=by, **d),
        _transition_possible("record_paid"),
        done=_claim_paid,
    ),
    ServiceAction(
        "reject",
        _("Reject claim"),
        RequiredReasonForm,
        lambda claim, by, d: services.reject_claim(claim_id=claim.pk, by=by, **d),
        _transition_possible("reject"),
    ),
]

EQUITY_ACTIONS = [
    ServiceAction(
        "approve",
        _("Approve"),
        ReasonForm,
        lambda conv, by, d: services.approve_equity_conversion(conversion_id=conv.pk, by=by, **d),
        _transition_possible("approve"),
    ),
    ServiceAction(
        "execute",
        _("Execute"),
        forms.Form,
        lambda conv, by, d: services.execute_equity_conversion(conversion_id=conv.pk, by=by),
        _transition_possible("execute"),
        done=lambda conv, executed: _executed(executed),
    ),
    ServiceAction(
        "reject",
        _("Reject"),
        RequiredReasonForm,
        lambda conv, by, d: services.reject_equity_conversion(conversion_id=conv.pk, by=by, **d),
        _transition_possible("reject"),
    ),
]

MEMBER_ACTIONS = [
    ServiceAction(
        "approve",
        _("Approve member"),
        ReasonForm,
        lambda member, by, d: services.approve_member(member_id=member.pk, by=by, **d),
        _transition_possible("approve"),
    ),
    ServiceAction(
        "revoke",
        _("Revoke access"),
        RequiredReasonForm,
        lambda member, by, d: services.revoke_member(member_id=member.pk, by=by, **d),
        _transition_possible("revoke"),
    ),
]

PAYMENT_REPORT_ACTIONS = [
    ServiceAction(
        "confirm",
        _("Confirm and record the payment"),
        forms.Form,
        lambda report, by, d: services.confirm_payment_report(report_id=report.pk, by=by),
        _transition_possible("confirm"),
        done=lambda report, confirmed: _paid(confirmed.license, confirmed.payment),
    ),
    ServiceAction(
        "reject",
        _("Reject"),
        RequiredReasonForm,
        lambda report, by, d: services.reject_payment_report(report_id=report.pk, by=by, **d),
        _transition_possible("reject"),
    ),
]


def _reversed(payment, reversed_payment) -> str:
    said = gettext("Payment %(reference)s of CNY %(amount)s reversed; the enterprise is told.") % {
        "reference": reversed_payment.reference,
        "amount": money_text(reversed_payment.amount),
    }
    return f"{said} {_outstanding_after(reversed_payment.license)}"


PAYMENT_ACTIONS = [
    ServiceAction(
        "reverse",
        _("Reverse this payment"),
        ReversePaymentForm,
        lambda payment, by, d: services.reverse_payment(payment_id=payment.pk, by=by, **d),
        _transition_possible("reverse"),
        takes_obj=True,
        done=_reversed,
        shows="admin/licensing/payment_reversal.html",
    ),
]

ROYALTY_REPORT_ACTIONS = [
    ServiceAction(
        "accept",
        _("Accept the report"),
        forms.Form,
        lambda report, by, d: services.accept_royalty_report(report_id=report.pk, by=by),
        _transition_possible("accept"),
        done=lambda report, accepted: (
            gettext("Accepted: royalty CNY %(amount)s for %(period)s.")
            % {
                "amount": money_text(accepted.royalty or 0),
                "period": f"{accepted.period_start} – {accepted.period_end}",
            }
        ),
    ),
    ServiceAction(
        "dispute",
        _("Dispute the report"),
        RequiredReasonForm,
        lambda report, by, d: services.dispute_royalty_report(report_id=report.pk, by=by, **d),
        _transition_possible("dispute"),
    ),
]
