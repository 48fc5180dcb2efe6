"""Every kind of notice, once: who reads it (and so the address, the language and the link), what
it is about (its subject, a real reference), when it no longer applies, and what it says.

Delivery (delivery.py) reads this registry and nothing else about a kind: adding a kind is adding
an entry here, its label in Reminder.Kind, and the service call that claims it.

Reminders (a deadline is near or past) have templates of their own in templates/emails/;
hand-offs (somebody's turn) share emails/handoff.*, and their words are here: a subject that
names the patent, a headline saying what happened and what to do, and the facts to check.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import F, Model
from django.urls import reverse
from django.utils.translation import gettext as _

from ..domain.numbers import money_text, percent
from ..models import (
    Contract,
    ContractVersion,
    EnterpriseMember,
    EquityConversion,
    Feedback,
    Installment,
    InsuranceClaim,
    InvoiceRequest,
    License,
    LicensePatent,
    Offer,
    Payment,
    PaymentReport,
    Push,
    Recordal,
    Reminder,
    RoyaltyReport,
)
from ..services.matching import unsubscribe_token

K = Reminder.Kind


class Reader(enum.Enum):
    TTO = "tto"  # the institution's contact address; links open the admin
    SME = "sme"  # the enterprise's contact address (or its active members'); links open the portal
    MEMBER = "member"  # one portal user, about their own access
    INSURER = "insurer"  # no account: everything is in the email
    PROSPECT = "prospect"  # an enterprise an offer is pushed to: its contact address; links open the offer


@dataclass(frozen=True)
class Address:
    to: list[str]
    language: str
    link: str
    reply_to: list[str] | None


@dataclass(frozen=True)
class NoticeKind:
    reader: Reader
    subject_model: type[Model]
    template: str = "handoff"
    # Why the notice would mislead if sent now (the news is stale); "" when it still applies.
    why_not: Callable[[Any, Reminder], str] = lambda subject, reminder: ""
    # What the template reads besides the common context, rendered in the reader's language.
    context: Callable[[Any, Reminder, dt.date], dict] = lambda subject, reminder, today: {}
    # For an SME: the portal page to open (default: the license's page).
    portal_link: Callable[[Any, Reminder], str] | None = None
    related: tuple[str, ...] = ()  # select_related when loading the subject
    # For the TTO: the admin page of the subject (where its decision is taken), or the license's.
    admin_opens_subject: bool = True
    # Extra email headers (a push's List-Unsubscribe).
    headers: Callable[[Any], dict] = lambda subject: {}


def site_url(path: str) -> str:
    """An absolute link: SITE_URL (`make run` sets it from HOST) and the path."""
    return settings.SITE_URL.rstrip("/") + path


def portal_license_link(lic: License) -> str:
    return site_url(reverse("portal:license", args=[lic.pk]))


def admin_link(obj: Model) -> str:
    """Where TTO staff open the object: the admin (the portal would answer its staff 403)."""
    meta = obj._meta
    return site_url(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))


def load_subject(reminder: Reminder) -> Any:
    """The object the notice is about, as the ledger refers to it; None if it was deleted."""
    spec = KINDS[reminder.kind]
    rows = spec.subject_model._default_manager.select_related(*spec.related)
    return rows.filter(pk=reminder.subject_id).first()


def enterprise_of(subject: Any, lic: License | None):
    if isinstance(subject, EnterpriseMember):
        return subject.enterprise
    return lic.enterprise if lic is not None else None


def address(spec: NoticeKind, reminder: Reminder, subject: Any) -> Address:
    """Who reads it decides the address, the language and the link."""
    lic, institution = reminder.license, reminder.institution
    tto_email = [institution.contact_email] if institution and institution.contact_email else []
    if spec.reader is Reader.TTO:
        if institution is None:  # a sign-up that came to no institution's offer
            to, language = [e for e in [settings.PLATFORM_CONTACT_EMAIL] if e], settings.LANGUAGE_CODE
        else:
            to, language = tto_email, institution.language
        enterprise = enterprise_of(subject, lic)
        reply_to = [enterprise.contact_email] if enterprise and enterprise.contact_email else None
        opens_subject = spec.admin_opens_subject and admin.site.is_registered(type(subject))
        target = subject if opens_subject else lic
        return Address(to, language, admin_link(target), reply_to)
    if spec.reader is Reader.INSURER:
        policy = lic.insurance_policy
        return Address(
            [policy.insurer_email] if policy.insurer_email else [], policy.insurer_language, "", tto_email or None
        )
    if spec.reader is Reader.PROSPECT:
        push: Push = subject
        enterprise = push.enterprise
        to = [enterprise.contact_email] if enterprise.contact_email else active_member_emails(enterprise)
        return Address(to, enterprise.language, site_url(reverse("portal:push", args=[push.token])), tto_email or None)
    if spec.reader is Reader.MEMBER:
        member: EnterpriseMember = subject
        link = site_url(reverse("portal:catalogue")) if member.state == EnterpriseMember.State.ACTIVE else ""
        return Address(
            [member.user.email] if member.user.email else [], member.enterprise.language, link, tto_email or None
        )
    enterprise = lic.enterprise
    to = [enterprise.contact_email] if enterprise.contact_email else active_member_emails(enterprise)
    link = spec.portal_link(subject, reminder) if spec.portal_link else portal_license_link(lic)
    return Address(to, enterprise.language, link, tto_email or None)


def active_member_emails(enterprise) -> list[str]:
    """An enterprise with no contact address is told at its active members' addresses."""
    members = enterprise.members.filter(state=EnterpriseMember.State.ACTIVE).exclude(user__email="")
    return list(members.order_by("pk").values_list("user__email", flat=True))


def sender_name(reminder: Reminder) -> str:
    """The institution's name, which the reader knows; the platform's for a notice of none."""
    return reminder.institution.name if reminder.institution else _("Patent licensing platform")


# -- what each kind says -------------------------------------------------------------------------


def _patent(lic: License) -> str:
    """How a notice names what it is about: the lead patent's title (and how many more)."""
    patent = lic.offer.patent
    others = lic.offer.patents.count() - 1 if lic.offer_id else 0
    if others > 0:
        return _("%(title)s and %(count)s more patents") % {"title": patent.title, "count": others}
    return patent.title


def _period(report: RoyaltyReport) -> str:
    return f"{report.period_start.isoformat()} – {report.period_end.isoformat()}"


def _by_institution(reminder: Reminder) -> str:
    return reminder.institution.name if reminder.institution else _("The technology transfer office")


def _reason(reminder: Reminder) -> str:
    return reminder.event.why if reminder.event else ""


def _handoff(subject_line: str, headline: str, facts=(), *, reason: str = "", schedule=()) -> dict:
    return {
        "subject_line": subject_line,
        "headline": headline,
        "facts": [(label, value) for label, value in facts if value not in (None, "")],
        "reason": reason,
        "schedule": list(schedule),
    }


def _member_to_approve(member: EnterpriseMember, reminder: Reminder, today: dt.date) -> dict:
    e = member.enterprise
    names = {"name": member.full_name, "enterprise": e.name}
    return _handoff(
        _("%(enterprise)s: %(name)s asks for portal access") % names,
        _(
            "%(name)s signed up for %(enterprise)s and waits for approval before they can apply or see the "
            "enterprise's licenses. Check the details against the business licence before approving."
        )
        % names,
        [
            (_("Enterprise"), e.name),
            (_("Unified Social Credit Code"), e.uscc),
            (_("Size class"), e.get_size_class_display()),
            (_("Industry"), e.get_industry_display()),
            (_("Employees"), str(e.employees)),
            (_("Annual revenue (CNY 10,000)"), money_text(e.annual_revenue)),
            (_("Enterprise email"), e.contact_email),
            (_("Name"), member.full_name),
            (_("Email"), member.user.email),
            (_("Phone"), member.phone),
        ],
    )


def _member_approved(member: EnterpriseMember, reminder: Reminder, today: dt.date) -> dict:
    names = {"enterprise": member.enterprise.name, "institution": _by_institution(reminder)}
    return _handoff(
        _("Your portal access for %(enterprise)s is approved") % names,
        _(
            "%(institution)s approved your access for %(enterprise)s. You can now apply for trials and follow "
            "your enterprise's licenses in the portal."
        )
        % names,
        reason=_reason(reminder),
    )


def _member_revoked(member: EnterpriseMember, reminder: Reminder, today: dt.date) -> dict:
    names = {"enterprise": member.enterprise.name}
    return _handoff(
        _("Your portal access for %(enterprise)s is revoked") % names,
        _("You can no longer see the licenses of %(enterprise)s or act for it in the portal.") % names,
        reason=_reason(reminder),
    )


def _application_received(lic: License, reminder: Reminder, today: dt.date) -> dict:
    names = {"enterprise": lic.enterprise.name, "patent": _patent(lic)}
    return _handoff(
        _("New application: %(enterprise)s for %(patent)s") % names,
        _(
            "%(enterprise)s applied for a trial of %(patent)s. Approve it to start the trial, or reject it "
            "with a reason."
        )
        % names,
        [
            (_("Enterprise"), lic.enterprise.name),
            (_("Size class"), lic.enterprise.get_size_class_display()),
            (_("Intended use"), lic.intended_use),
            (_("Contact"), lic.contact),
            (_("Trial"), _("%(months)s months") % {"months": lic.trial_months}),
        ],
    )


def _trial_started(lic: License, reminder: Reminder, today: dt.date) -> dict:
    names = {
        "patent": _patent(lic),
        "start": lic.trial_start.isoformat() if lic.trial_start else "",
        "end": lic.trial_end_effective.isoformat() if lic.trial_end_effective else "",
    }
    facts = []
    if lic.trial_fee:
        facts.append((_("Trial fee (CNY), due when the trial starts"), money_text(lic.trial_fee)))
    return _handoff(
        _("Your trial of %(patent)s has started") % names,
        _(
            "Your trial of %(patent)s runs from %(start)s to %(end)s. Before it ends, buy the license, "
            "propose an equity conversion or return the patent in the portal; with no decision the trial "
            "ends on its own."
        )
        % names,
        facts,
        reason=_reason(reminder),
    )


def _application_rejected(lic: License, reminder: Reminder, today: dt.date) -> dict:
    names = {"patent": _patent(lic), "institution": _by_institution(reminder)}
    return _handoff(
        _("Your application for %(patent)s was not accepted") % names,
        _("%(institution)s did not accept your application for a trial of %(patent)s.") % names,
        reason=_reason(reminder),
    )


def _trial_expired(lic: License, reminder: Reminder, today: dt.date) -> dict:
    names = {"patent": _patent(lic), "institution": _by_institution(reminder)}
    return _handoff(
        _("Your trial of %(patent)s has ended") % names,
        _(
            "Your trial of %(patent)s ended with no decision, so the license was not bought and nothing is owed. "
            "Would you tell %(institution)s why? It takes a minute (the link below), and helps them offer what "
            "enterprises can use."
        )
        % names,
    )


def _not_answered(lic: License, reminder: Reminder) -> str:
    if lic.state != License.State.EXPIRED:
        return f"license is {lic.state}"
    return "answered already" if Feedback.objects.filter(license=lic).exists() else ""


def _feedback_page(lic: License, reminder: Reminder) -> str:
    return site_url(reverse("portal:license_feedback", args=[lic.pk]))


def _purchase_confirmed(lic: License, reminder: Reminder, today: dt.date) -> dict:
    names = {"patent": _patent(lic)}
    schedule = [
        (inst.get_kind_display(), money_text(inst.amount), inst.effective_due_date.isoformat())
        for inst in lic.installments.order_by("effective_due_date", "kind", "sequence")
    ]
    facts = [(_("Plan"), lic.plan_name)]
    first_report = lic.royalty_reports.order_by("due_date").first()
    if first_report is not None:
        facts.append((_("First report due"), f"{first_report.due_date.isoformat()} ({_period(first_report)})"))
    return _handoff(
        _("%(patent)s: your purchase is confirmed") % names,
        _("Your license for %(patent)s is bought. What falls due, and when, is below; reminders come before each date.")
        % names,
        facts,
        schedule=schedule,
    )


def _contract_issued(contract: Contract, reminder: Reminder, today: dt.date) -> dict:
    lic = contract.license
    names = {"patent": _patent(lic), "number": contract.number, "institution": contract.institution.name}
    return _handoff(
        _("%(patent)s: contract %(number)s is ready to sign") % names,
        _(
            "%(institution)s has issued license contract %(number)s for %(patent)s. Download it from the "
            "license's page in the portal, check the parties, the patents and every payment, then sign and "
            "seal it with %(institution)s. The contract takes effect when both sides have signed."
        )
        % names,
        [(_("Contract number"), contract.number), (_("Plan"), lic.plan_name)],
    )


def _contract_to_sign(contract: Contract, reminder: Reminder, today: dt.date) -> dict:
    lic = contract.license
    names = {
        "patent": _patent(lic),
        "number": contract.number,
        "days": (today - reminder.deadline).days,
        "institution": contract.institution.name,
    }
    return _handoff(
        _("%(patent)s: contract %(number)s is still to sign") % names,
        _(
            "Contract %(number)s for %(patent)s was issued %(days)s days ago and is not signed yet. Download it "
            "from the license's page in the portal, sign and seal it, and upload the signed copy there; "
            "%(institution)s then signs too. Until the contract takes effect, your dates count from the purchase."
        )
        % names,
        [(_("Contract number"), contract.number), (_("Issued on"), reminder.deadline.isoformat())],
    )


def _recordal_due(recordal: Recordal, reminder: Reminder, today: dt.date) -> dict:
    contract = recordal.contract
    names = {
        "kind": recordal.get_kind_display(),
        "number": contract.number,
        "date": recordal.due_by.isoformat(),
        "days": (recordal.due_by - today).days,
    }
    return _handoff(
        _("%(kind)s of contract %(number)s due by %(date)s") % names,
        _(
            "The %(kind)s of contract %(number)s with CNIPA is due by %(date)s, in %(days)s days. File it "
            "(the recordals export has the data the application asks for), then record its number and day "
            "on the recordal's page."
        )
        % names,
        [
            (_("Contract number"), contract.number),
            (_("Enterprise"), contract.license.enterprise.name),
            (_("Owed since"), recordal.arose_on.isoformat()),
        ],
    )


def _contract_amended(version: ContractVersion, reminder: Reminder, today: dt.date) -> dict:
    contract = version.contract
    names = {"patent": _patent(contract.license), "number": contract.number, "version": version.version}
    return _handoff(
        _("%(patent)s: contract %(number)s, version %(version)s") % names,
        _(
            "Contract %(number)s for %(patent)s is amended: version %(version)s is on the license's page in the "
            "portal, with every earlier version. Check what changed, then sign and seal it."
        )
        % names,
        [(_("Contract number"), contract.number), (_("Version"), str(version.version))],
        reason=version.reason,
    )


def _invoice_requested(request: InvoiceRequest, reminder: Reminder, today: dt.date) -> dict:
    lic, payment = request.license, request.payment
    names = {"enterprise": lic.enterprise.name, "amount": money_text(payment.amount), "patent": _patent(lic)}
    exempt = Contract.exempts(payment.license_id)
    return _handoff(
        _("%(enterprise)s asks for the invoice of CNY %(amount)s") % names,
        _(
            "%(enterprise)s asks for the invoice of its payment of CNY %(amount)s for %(patent)s. Issue it in the "
            "tax system, then record its number and upload its PDF on the request's page."
        )
        % names,
        [
            (_("Buyer name"), request.buyer_name),
            (_("Taxpayer number"), request.taxpayer_number),
            (_("Paid on"), payment.paid_on.isoformat()),
            (_("Bank reference"), payment.reference),
            (_("VAT"), _("Exempt (registered technology contract)") if exempt else _("VAT applies")),
        ],
    )


def _invoice_issued(request: InvoiceRequest, reminder: Reminder, today: dt.date) -> dict:
    names = {"number": request.invoice_number, "amount": money_text(request.payment.amount)}
    return _handoff(
        _("Invoice %(number)s for CNY %(amount)s is issued") % names,
        _("The invoice for your payment of CNY %(amount)s is issued: download it from the license's page.") % names,
        [
            (_("Invoice number"), request.invoice_number),
            (_("Issued on"), request.issued_on.isoformat() if request.issued_on else ""),
            (_("VAT"), _("Exempt") if request.vat_rate is None else percent(request.vat_rate)),
        ],
    )


def _contract_signed_by_licensee(contract: Contract, reminder: Reminder, today: dt.date) -> dict:
    lic = contract.license
    names = {"patent": _patent(lic), "number": contract.number, "enterprise": lic.enterprise.name}
    return _handoff(
        _("%(enterprise)s signed contract %(number)s") % names,
        _(
            "%(enterprise)s uploaded its signed and sealed copy of contract %(number)s for %(patent)s. Check it, "
            "sign and seal the contract for the institution, then record the signing and the day it takes effect "
            "on the contract's page."
        )
        % names,
        [(_("Contract number"), contract.number), (_("Enterprise"), lic.enterprise.name)],
    )


def _contract_signed(contract: Contract, reminder: Reminder, today: dt.date) -> dict:
    lic = contract.license
    names = {"patent": _patent(lic), "number": contract.number, "date": contract.effective_on.isoformat()}
    schedule = [
        (inst.get_kind_display(), money_text(inst.amount), inst.effective_due_date.isoformat())
        for inst in lic.installments.exclude(kind=Installment.Kind.ROYALTY).order_by(
            "effective_due_date", "kind", "sequence"
        )
    ]
    facts = [(_("Contract number"), contract.number), (_("Takes effect on"), names["date"])]
    first_report = lic.royalty_reports.order_by("due_date").first()
    if first_report is not None:
        facts.append((_("First report due"), f"{first_report.due_date.isoformat()} ({_period(first_report)})"))
    return _handoff(
        _("%(patent)s: contract %(number)s is signed") % names,
        _(
            "Contract %(number)s for %(patent)s is signed by both parties and takes effect on %(date)s. The "
            "payments and reports below count from that day; the signed copy is on the license's page."
        )
        % names,
        facts,
        schedule=schedule,
    )


def _payment_facts(transfer: PaymentReport | Payment) -> list:
    return [
        (_("Amount (CNY)"), money_text(transfer.amount)),
        (_("Transfer date"), transfer.paid_on.isoformat()),
        (_("Bank transaction number"), transfer.reference),
    ]


def _transfer_names(transfer: PaymentReport | Payment, reminder: Reminder) -> dict:
    """What an SME's notice about one of its transfers names: the patent, the amount, who decided, the day."""
    return {
        "patent": _patent(transfer.license),
        "amount": money_text(transfer.amount),
        "institution": _by_institution(reminder),
        "date": transfer.paid_on.isoformat(),
    }


def _payment_reported(report: PaymentReport, reminder: Reminder, today: dt.date) -> dict:
    lic = report.license
    names = {"enterprise": lic.enterprise.name, "patent": _patent(lic), "amount": money_text(report.amount)}
    return _handoff(
        _("%(enterprise)s reports a payment of CNY %(amount)s for %(patent)s") % names,
        _(
            "Check it against the account statement, then confirm it (it is recorded as paid) or reject it "
            "with a reason."
        ),
        [*_payment_facts(report), (_("Receipt attached"), _("yes") if report.receipt else _("no"))],
    )


def _payment_confirmed(report: PaymentReport, reminder: Reminder, today: dt.date) -> dict:
    names = _transfer_names(report, reminder)
    return _handoff(
        _("%(patent)s: payment of CNY %(amount)s confirmed") % names,
        _("%(institution)s confirmed your transfer of CNY %(amount)s of %(date)s.") % names,
        _payment_facts(report),
    )


def _payment_rejected(report: PaymentReport, reminder: Reminder, today: dt.date) -> dict:
    names = _transfer_names(report, reminder)
    return _handoff(
        _("%(patent)s: payment of CNY %(amount)s not confirmed") % names,
        _(
            "%(institution)s could not confirm your transfer of CNY %(amount)s of %(date)s. Read the reason, "
            "then report the payment again if needed."
        )
        % names,
        _payment_facts(report),
        reason=_reason(reminder),
    )


def _payment_reversed(payment: Payment, reminder: Reminder, today: dt.date) -> dict:
    names = _transfer_names(payment, reminder)
    owed = [
        (inst.get_kind_display(), money_text(inst.outstanding), inst.effective_due_date.isoformat())
        for inst in payment.license.installments.filter(paid_amount__lt=F("amount")).order_by(
            "effective_due_date", "kind", "sequence"
        )
    ]
    return _handoff(
        _("%(patent)s: the payment of CNY %(amount)s of %(date)s was reversed") % names,
        _(
            "%(institution)s reversed the payment of CNY %(amount)s of %(date)s: the money did not reach its account "
            "for this license. What it had paid is owed again; what is owed now, and when, is below."
        )
        % names,
        _payment_facts(payment),
        reason=_reason(reminder),
        schedule=owed,
    )


def _report_facts(report: RoyaltyReport) -> list:
    return [
        (_("Period"), _period(report)),
        (_("Net sales (CNY)"), money_text(report.base_amount) if report.base_amount is not None else ""),
        (_("Units"), str(report.units) if report.units is not None else ""),
        (_("Royalty (CNY)"), money_text(report.royalty) if report.royalty is not None else ""),
    ]


def _report_filed(report: RoyaltyReport, reminder: Reminder, today: dt.date) -> dict:
    lic = report.license
    names = {"enterprise": lic.enterprise.name, "patent": _patent(lic), "period": _period(report)}
    return _handoff(
        _("%(enterprise)s filed the report for %(period)s: %(patent)s") % names,
        _("Check the report, then accept it (its royalty falls due) or dispute it with a reason."),
        [
            *_report_facts(report),
            (_("Note"), report.note),
            (_("Attachment"), _("yes") if report.attachment else _("no")),
        ],
    )


def _report_accepted(report: RoyaltyReport, reminder: Reminder, today: dt.date) -> dict:
    lic = report.license
    inst = report.installment
    names = {"patent": _patent(lic), "period": _period(report)}
    if inst is not None and inst.amount:
        names.update(royalty=money_text(inst.amount), due=inst.effective_due_date.isoformat())
        headline = _("The royalty of CNY %(royalty)s for %(period)s is due on %(due)s.") % names
    elif report.is_use_report:
        headline = _("Your use report for %(period)s is accepted.") % names
    else:
        headline = _("Your nil report for %(period)s is accepted: nothing is due for the period.") % names
    return _handoff(_("%(patent)s: report for %(period)s accepted") % names, headline, _report_facts(report))


def _report_disputed(report: RoyaltyReport, reminder: Reminder, today: dt.date) -> dict:
    names = {"patent": _patent(report.license), "period": _period(report), "institution": _by_institution(reminder)}
    return _handoff(
        _("%(patent)s: report for %(period)s disputed") % names,
        _("%(institution)s disputes your report for %(period)s. Correct it and file it again in the portal.") % names,
        _report_facts(report),
        reason=report.dispute_reason,
    )


def _audit_adjustment(inst: Installment, reminder: Reminder, today: dt.date) -> dict:
    names = {
        "patent": _patent(inst.license),
        "amount": money_text(inst.amount),
        "due": inst.effective_due_date.isoformat(),
    }
    return _handoff(
        _("%(patent)s: audit adjustment of CNY %(amount)s") % names,
        _("An audit of the royalties found CNY %(amount)s more due. It falls due on %(due)s.") % names,
        reason=_reason(reminder),
    )


def _equity_proposed(conversion: EquityConversion, reminder: Reminder, today: dt.date) -> dict:
    lic = conversion.license
    names = {
        "enterprise": lic.enterprise.name,
        "patent": _patent(lic),
        "share": percent(conversion.share),
        "amount": money_text(conversion.converted_amount),
        "stake": percent(conversion.stake),
        "valuation": money_text(conversion.valuation),
    }
    return _handoff(
        _("%(enterprise)s proposes an equity conversion for %(patent)s") % names,
        _(
            "%(enterprise)s proposes to convert %(share)s of the remaining fee (CNY %(amount)s) into a stake "
            "of %(stake)s, at a valuation of CNY %(valuation)s. Approve or reject it in the admin."
        )
        % names,
    )


# -- when a notice no longer applies --------------------------------------------------------------


def _state_is(*states: str, of: Callable[[Any], Any] = lambda subject: subject) -> Callable[[Any, Reminder], str]:
    """The news holds while the object is still in one of `states` (else: it moved on)."""

    def why_not(subject: Any, reminder: Reminder) -> str:
        state = of(subject).state
        return "" if state in states else f"{of(subject)._meta.model_name} is {state}"

    return why_not


def _license_state_is(*states: str) -> Callable[[Any, Reminder], str]:
    return _state_is(*states, of=lambda subject: reminder_license(subject))


def reminder_license(subject: Any) -> License:
    return subject if isinstance(subject, License) else subject.license


def _installment_open(inst: Installment, reminder: Reminder) -> str:
    if not reminder.license.accepts_payments():
        return f"license is {reminder.license.state}"
    return "" if inst.is_open else "installment paid"


def _use_report_to_file(report: RoyaltyReport, reminder: Reminder) -> str:
    if not reminder.license.accepts_reports():
        return f"license is {reminder.license.state}"
    return "" if report.state in RoyaltyReport.TO_FILE else "report filed"


def _claim_still_filed(claim: InsuranceClaim, reminder: Reminder) -> str:
    # "A claim was filed" is news only while it is: once approved, paid or rejected (say, a
    # worker that was down for days) the parties have moved on, and the notice would mislead.
    if claim.state != InsuranceClaim.State.FILED:
        return f"claim {claim.state} before the notice went out"
    return ""


def _lapsed_on_live(link: LicensePatent, reminder: Reminder) -> str:
    lic = reminder.license
    return "" if lic.state in License.LIVE_STATES else f"license is {lic.state}"


# -- the reminders' own contexts -------------------------------------------------------------------


def _trial_ending(lic: License, reminder: Reminder, today: dt.date) -> dict:
    return {"contractual": lic.trial_end, "days_left": (reminder.deadline - today).days}


def _installment(inst: Installment, reminder: Reminder, today: dt.date) -> dict:
    return {
        "report": getattr(inst, "report", None) if inst.report_pending else None,  # a royalty period's
        "contractual": inst.due_date,
        "amount": money_text(inst.outstanding),
        "days_overdue": (today - reminder.deadline).days,
        "grace_end": reminder.deadline + dt.timedelta(days=reminder.license.grace_days),
    }


def _use_report(report: RoyaltyReport, reminder: Reminder, today: dt.date) -> dict:
    return {"report": report, "days_overdue": (today - reminder.deadline).days}


def _report_page(report: RoyaltyReport, reminder: Reminder) -> str:
    return site_url(reverse("portal:royalty_report", args=[report.license_id, report.pk]))


def _report_page_of_installment(inst: Installment, reminder: Reminder) -> str:
    report = getattr(inst, "report", None) if inst.report_pending else None
    return _report_page(report, reminder) if report else portal_license_link(reminder.license)


def _push_stale(push: Push, reminder: Reminder) -> str:
    """A push waits in the ledger only while it still applies."""
    needs = getattr(push.enterprise, "needs", None)
    if needs is None or needs.push_consented_at is None:
        return "the enterprise no longer wants offers pushed"
    if push.offer.state != Offer.State.PUBLISHED:
        return f"offer is {push.offer.state}"
    return ""


def _offer_pushed(push: Push, reminder: Reminder, today: dt.date) -> dict:
    offer = push.offer
    return {
        "offer": offer,
        "push": push,
        "patents": offer.patents.count(),
        "unsubscribe": unsubscribe_link(push),
        "decline": site_url(reverse("portal:decline_push", args=[push.token])),
        "subject_line": _("A patent that fits %(enterprise)s: %(title)s")
        % {"enterprise": push.enterprise.name, "title": offer.title},
    }


def unsubscribe_link(push: Push) -> str:
    return site_url(reverse("portal:unsubscribe", args=[unsubscribe_token(push.enterprise_id)]))


def _unsubscribe_headers(push: Push) -> dict:
    """RFC 8058: mail clients show an unsubscribe button that POSTs to the link, no login."""
    return {"List-Unsubscribe": f"<{unsubscribe_link(push)}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


TRIAL_STATES = (License.State.TRIAL,)

KINDS: dict[str, NoticeKind] = {
    # Reminders, claimed by the sweep.
    K.TRIAL_ENDING: NoticeKind(Reader.SME, License, "trial_ending", _license_state_is(*TRIAL_STATES), _trial_ending),
    K.INSTALLMENT_DUE: NoticeKind(
        Reader.SME, Installment, "installment_due", _installment_open, _installment, _report_page_of_installment
    ),
    K.OVERDUE: NoticeKind(
        Reader.SME, Installment, "overdue", _installment_open, _installment, _report_page_of_installment
    ),
    K.USE_REPORT_DUE: NoticeKind(Reader.SME, RoyaltyReport, "use_report_due", _use_report_to_file, _use_report),
    K.USE_REPORT_LATE: NoticeKind(Reader.SME, RoyaltyReport, "use_report_late", _use_report_to_file, _use_report),
    K.PATENT_LAPSED: NoticeKind(
        Reader.SME, LicensePatent, "patent_lapsed", _lapsed_on_live, lambda s, r, t: {"lapsed": s.patent}
    ),
    K.PATENT_LAPSED_TTO: NoticeKind(
        Reader.TTO, LicensePatent, "patent_lapsed", _lapsed_on_live, lambda s, r, t: {"lapsed": s.patent}
    ),
    # Events told by the service that made them.
    K.CLAIM_FILED: NoticeKind(
        Reader.TTO,
        InsuranceClaim,
        "claim_filed",
        _claim_still_filed,
        lambda s, r, t: {"claim": s},
        related=("policy",),
        admin_opens_subject=False,  # its text: "open the license"
    ),
    K.CLAIM_FILED_INSURER: NoticeKind(
        Reader.INSURER,
        InsuranceClaim,
        "claim_filed_insurer",
        _claim_still_filed,
        lambda s, r, t: {"claim": s},
        related=("policy",),
    ),
    K.OPEN_LICENCE_GRANTED: NoticeKind(Reader.TTO, License, "open_licence_granted"),
    # Hand-offs.
    K.MEMBER_TO_APPROVE: NoticeKind(
        Reader.TTO,
        EnterpriseMember,
        why_not=_state_is(EnterpriseMember.State.PENDING),
        context=_member_to_approve,
        related=("enterprise", "user"),
    ),
    K.MEMBER_APPROVED: NoticeKind(
        Reader.MEMBER,
        EnterpriseMember,
        why_not=_state_is(EnterpriseMember.State.ACTIVE),
        context=_member_approved,
        related=("enterprise", "user"),
    ),
    K.MEMBER_REVOKED: NoticeKind(
        Reader.MEMBER,
        EnterpriseMember,
        why_not=_state_is(EnterpriseMember.State.REVOKED),
        context=_member_revoked,
        related=("enterprise", "user"),
    ),
    K.APPLICATION_RECEIVED: NoticeKind(
        Reader.TTO, License, why_not=_state_is(License.State.APPLIED), context=_application_received
    ),
    K.TRIAL_STARTED: NoticeKind(Reader.SME, License, why_not=_state_is(*TRIAL_STATES), context=_trial_started),
    K.APPLICATION_REJECTED: NoticeKind(
        Reader.SME, License, why_not=_state_is(License.State.REJECTED), context=_application_rejected
    ),
    K.TRIAL_EXPIRED: NoticeKind(
        Reader.SME, License, why_not=_not_answered, context=_trial_expired, portal_link=_feedback_page
    ),
    K.PURCHASE_CONFIRMED: NoticeKind(
        Reader.SME, License, why_not=_state_is(*License.BOUGHT_STATES), context=_purchase_confirmed
    ),
    K.PAYMENT_REPORTED: NoticeKind(
        Reader.TTO,
        PaymentReport,
        why_not=_state_is(PaymentReport.State.REPORTED),
        context=_payment_reported,
        related=("license",),
    ),
    K.PAYMENT_CONFIRMED: NoticeKind(
        Reader.SME,
        PaymentReport,
        why_not=_state_is(PaymentReport.State.CONFIRMED),
        context=_payment_confirmed,
        related=("license",),
    ),
    K.PAYMENT_REJECTED: NoticeKind(
        Reader.SME,
        PaymentReport,
        why_not=_state_is(PaymentReport.State.REJECTED),
        context=_payment_rejected,
        related=("license",),
    ),
    K.PAYMENT_REVERSED: NoticeKind(
        Reader.SME,
        Payment,
        why_not=_state_is(Payment.State.REVERSED),
        context=_payment_reversed,
        related=("license",),
    ),
    K.REPORT_FILED: NoticeKind(
        Reader.TTO,
        RoyaltyReport,
        why_not=_state_is(RoyaltyReport.State.FILED),
        context=_report_filed,
        related=("license",),
    ),
    K.REPORT_ACCEPTED: NoticeKind(
        Reader.SME,
        RoyaltyReport,
        why_not=_state_is(RoyaltyReport.State.ACCEPTED),
        context=_report_accepted,
        related=("license", "installment"),
    ),
    K.REPORT_DISPUTED: NoticeKind(
        Reader.SME,
        RoyaltyReport,
        why_not=_state_is(RoyaltyReport.State.DISPUTED),
        context=_report_disputed,
        portal_link=_report_page,
        related=("license",),
    ),
    K.CONTRACT_ISSUED: NoticeKind(
        Reader.SME,
        Contract,
        why_not=_state_is(Contract.State.ISSUED),
        context=_contract_issued,
        related=("license", "institution"),
    ),
    K.CONTRACT_TO_SIGN: NoticeKind(
        Reader.SME,
        Contract,
        why_not=lambda contract, reminder: "" if contract.awaits_licensee else "the licensee has uploaded its copy",
        context=_contract_to_sign,
        related=("license", "institution"),
    ),
    K.RECORDAL_DUE: NoticeKind(
        Reader.TTO,
        Recordal,
        why_not=_state_is(Recordal.State.DUE),
        context=_recordal_due,
        related=("contract__license__enterprise", "contract__institution"),
    ),
    K.CONTRACT_AMENDED: NoticeKind(
        Reader.SME,
        ContractVersion,
        context=_contract_amended,
        related=("contract__license", "contract__institution"),
    ),
    K.INVOICE_REQUESTED: NoticeKind(
        Reader.TTO,
        InvoiceRequest,
        why_not=_state_is(InvoiceRequest.State.REQUESTED),
        context=_invoice_requested,
        related=("license__enterprise", "payment"),
    ),
    K.OFFER_PUSHED: NoticeKind(
        Reader.PROSPECT,
        Push,
        "offer_pushed",
        why_not=_push_stale,
        context=_offer_pushed,
        related=("enterprise__needs", "offer__patent__owner"),
        headers=_unsubscribe_headers,
    ),
    K.INVOICE_ISSUED: NoticeKind(
        Reader.SME,
        InvoiceRequest,
        why_not=_state_is(InvoiceRequest.State.ISSUED),
        context=_invoice_issued,
        related=("license", "payment"),
    ),
    K.CONTRACT_SIGNED_BY_LICENSEE: NoticeKind(
        Reader.TTO,
        Contract,
        why_not=_state_is(Contract.State.ISSUED),
        context=_contract_signed_by_licensee,
        related=("license__enterprise", "institution"),
    ),
    K.CONTRACT_SIGNED: NoticeKind(
        Reader.SME,
        Contract,
        why_not=_state_is(Contract.State.SIGNED),
        context=_contract_signed,
        related=("license", "institution"),
    ),
    K.AUDIT_ADJUSTMENT: NoticeKind(
        Reader.SME, Installment, why_not=_installment_open, context=_audit_adjustment, related=("license",)
    ),
    K.EQUITY_PROPOSED: NoticeKind(
        Reader.TTO,
        EquityConversion,
        why_not=_state_is(EquityConversion.State.PROPOSED),
        context=_equity_proposed,
        related=("license",),
    ),
}
