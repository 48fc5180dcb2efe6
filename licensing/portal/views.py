"""The SME portal. Every page that shows an enterprise's objects reads them through the member's
own enterprise, so another enterprise's ids are simply not found (404). Every change goes
through a service."""

from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import calendar_feed, selectors, services, throttle
from ..domain.clock import today
from ..domain.numbers import money_text
from ..http import client_ip, parse_id
from ..models import (
    IPC_SECTIONS,
    Contract,
    ContractVersion,
    EnterpriseMember,
    EnterpriseNeeds,
    Institution,
    Inventor,
    InvoiceProfile,
    InvoiceRequest,
    License,
    LicenseMilestone,
    Offer,
    Payment,
    PaymentReport,
    Push,
    allows,
)
from ..receipts import contract_document_response, receipt_response, signed_copy_response
from ..reporting import statements
from . import forms


def member_required(view):
    """Logged in, and an approved member of an enterprise: `request.member` is set."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        member = EnterpriseMember.objects.select_related("enterprise").filter(user=request.user).first()
        if member is None and Inventor.objects.filter(user=request.user).exists():
            return redirect("portal:inventor")  # an inventor's account: their own inventions
        if member is None or member.state != EnterpriseMember.State.ACTIVE:
            return render(request, "portal/not_a_member.html", {"member": member}, status=403)
        request.member = member
        return view(request, *args, **kwargs)

    return wrapper


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _posted(request):
    """The submitted data of a POST, even an empty one (which then fails validation and says
    why), and None otherwise: `request.POST or None` would treat an empty POST as a GET."""
    return request.POST if request.method == "POST" else None


def _posted_files(request):
    return request.FILES if request.method == "POST" else None


# -- accounts ------------------------------------------------------------------------------------


def _offer_in(path: str):
    """The offer a portal path is about (its page, or applying for it), if it names one: a sign-up
    that starts there is told to that offer's institution."""
    if not url_has_allowed_host_and_scheme(path, allowed_hosts=None) or not path.startswith("/"):
        return None
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    if match.view_name not in ("portal:offer", "portal:apply"):
        return None
    return Offer.objects.select_related("patent__owner").filter(pk=match.kwargs["offer_id"]).first()


def sign_up(request):
    next_path = (request.POST if request.method == "POST" else request.GET).get("next", "")
    came_to = _offer_in(next_path)
    user_form = forms.SignUpForm(_posted(request), prefix="user")
    enterprise_form = forms.EnterpriseForm(
        _posted(request), prefix="enterprise", initial={"language": request.LANGUAGE_CODE}
    )
    context = {
        "user_form": user_form,
        "enterprise_form": enterprise_form,
        "next": next_path if came_to else "",
        "privacy_version": settings.PRIVACY_NOTICE_VERSION,
    }
    if request.method == "POST" and user_form.is_valid() and enterprise_form.is_valid():
        enterprise = enterprise_form.save(commit=False)
        if not throttle.allow("sign_up", email=user_form.cleaned_data["email"], client=client_ip(request)):
            user_form.add_error(None, _("Too many sign-ups from here or for this email address. Try again in an hour."))
            return render(request, "portal/sign_up.html", context, status=429)
        try:
            services.sign_up_member(
                user_fields={
                    "username": user_form.cleaned_data["username"],
                    "email": user_form.cleaned_data["email"],
                    "password": user_form.cleaned_data["password1"],
                },
                enterprise=enterprise,
                full_name=user_form.cleaned_data["full_name"],
                phone=user_form.cleaned_data["phone"],
                institution=came_to.patent.owner if came_to else None,
                privacy_notice_version=settings.PRIVACY_NOTICE_VERSION
                if user_form.cleaned_data["privacy_consent"]
                else "",
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form = user_form if field in user_form.fields else enterprise_form
                form.add_error(field if field in form.fields else None, errors)
        else:
            return render(request, "portal/signed_up.html")
    return render(request, "portal/sign_up.html", context)


def privacy_notice(request):
    """The privacy notice a sign-up consents to, in its current version (PIPL Art. 17)."""
    return render(request, "portal/privacy.html", {"version": settings.PRIVACY_NOTICE_VERSION})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, throttled per address typed and per client, with the email sent by
    the worker: the page answers the same, in the same time, whether or not an account exists."""

    template_name = "portal/form_page.html"
    success_url = reverse_lazy("portal:password_reset_done")

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        if not throttle.allow("password_reset", email=email, client=client_ip(self.request)):
            form.add_error(None, _("Too many password reset requests. Try again in an hour."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        services.request_password_reset(email=email, language=self.request.LANGUAGE_CODE)
        return HttpResponseRedirect(self.get_success_url())


# -- catalogue -----------------------------------------------------------------------------------


def catalogue(request):
    search = request.GET.get("q", "").strip()[:100]
    ipc = request.GET.get("ipc", "")[:1].upper()
    institution = request.GET.get("institution", "")
    available = request.GET.get("available") == "1"
    enterprise = _member_enterprise(request)
    offers = selectors.catalogue(
        search=search,
        ipc_section=ipc if ipc in dict(IPC_SECTIONS) else "",
        institution_id=parse_id(institution),
        available_only=available,
        enterprise=enterprise,
    )
    page = Paginator(offers, 20).get_page(request.GET.get("page"))
    filtered = search or ipc or institution or available or page.number > 1
    # The catalogue opens with what fits the member's enterprise (its needs; nothing without them).
    show_recommended = enterprise is not None and not filtered
    recommended = selectors.recommended_offers(enterprise) if show_recommended else None
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/catalogue.html",
        {
            "page": page,
            "search": search,
            "ipc": ipc,
            "ipc_sections": IPC_SECTIONS,
            "institution": institution,
            "institutions": Institution.objects.order_by("name").values_list("pk", "name"),
            "available": available,
            "query": query.urlencode(),
            "show_recommended": show_recommended,
            "recommended": recommended,
        },
    )


def _member_enterprise(request):
    """The enterprise of a logged-in, approved member (None for a visitor): its own licenses are
    a reason an offer is closed to it."""
    member = getattr(request, "member", None)
    if member is None and request.user.is_authenticated:
        active = EnterpriseMember.objects.select_related("enterprise").filter(state=EnterpriseMember.State.ACTIVE)
        member = active.filter(user=request.user).first()
    return member.enterprise if member is not None else None


def offer_detail(request, offer_id):
    enterprise = _member_enterprise(request)
    offers = selectors.catalogue(enterprise=enterprise)
    offer = get_object_or_404(offers.prefetch_related(selectors.PACKAGE, "milestones"), pk=offer_id)
    # Signed in but not approved (yet): no button that leads to a refusal, and why.
    waiting = enterprise is None and request.user.is_authenticated and not request.user.is_staff
    return render(request, "portal/offer.html", {"offer": offer, "patent": offer.patent, "waiting": waiting})


@member_required
def apply(request, offer_id):
    offer = get_object_or_404(selectors.catalogue(), pk=offer_id)
    form = forms.ApplyForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            lic = services.apply_for_trial(
                offer_id=offer.pk, enterprise=request.member.enterprise, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if PUSH_SESSION_KEY in request.session:  # it came from a pushed offer's email: its funnel
                services.attribute_push(token=request.session[PUSH_SESSION_KEY], license=lic)
            if lic.state == License.State.TRIAL:  # granted under an open licence
                messages.success(request, _("Granted under the open licence: your trial starts today."))
            else:
                messages.success(request, _("Your application was sent. The TTO will review it."))
            return redirect("portal:license", pk=lic.pk)
    buy_on = services.purchase_date_after_trial(offer, today())
    owed = services.obligations(offer, offer.plans[0], buy_on)
    return render(
        request,
        "portal/apply.html",
        {"offer": offer, "patent": offer.patent, "form": form, "owed": owed, "assumed": True},
    )


# -- my licenses ---------------------------------------------------------------------------------


@member_required
def licenses(request):
    page = Paginator(selectors.enterprise_licenses(request.member.enterprise), 20).get_page(request.GET.get("page"))
    return render(request, "portal/licenses.html", {"page": page})


def _own_license(request, pk) -> License:
    return selectors.enterprise_license(request.member.enterprise, pk)


@member_required
def license_detail(request, pk):
    lic = _own_license(request, pk)
    timeline = selectors.license_timeline(lic)
    days_left = (lic.trial_end_effective - today()).days if lic.state == License.State.TRIAL else None
    return render(
        request,
        "portal/license.html",
        {
            "license": lic,
            "timeline": timeline,
            "days_left": days_left,
            "policy": selectors.policy_of(lic),
            # A bought license has its contract, or is waiting for the TTO to issue it.
            "contract_section": lic.state in License.AFTER_PURCHASE_STATES,
            "contract": selectors.contract_of(lic) if lic.state in License.AFTER_PURCHASE_STATES else None,
            "decision": {"seen_state": lic.state},
            "position": selectors.money_position(lic, today()) if lic.state in License.OWED_STATES else None,
            "can_report": lic.accepts_payments() and lic.outstanding_amount > 0,
            "can_propose_equity": lic.accepts_equity_conversion(),
            "can_declare_milestones": lic.accepts_milestones(),
            "can_file_reports": lic.accepts_reports(),
            "today": today(),
        },
    )


def _stale(request, lic: License, form) -> bool:
    if form.cleaned_data["seen_state"] != lic.state:
        messages.warning(request, _("This license changed since you opened the page; nothing was done."))
        return True
    return False


@member_required
def buy(request, pk):
    """Choose a plan, see the schedule it gives, confirm. Only the confirmation buys."""
    lic = _own_license(request, pk)
    if not allows(lic, "purchase"):  # a second click, or a page opened before the decision
        messages.warning(
            request,
            _("This license is %(state)s now: there is nothing to buy; nothing was done.")
            % {"state": lic.get_state_display()},
        )
        return redirect("portal:license", pk=lic.pk)
    with_equity = request.GET.get("equity") == "1" or request.POST.get("with_equity") == "1"
    form_class = forms.PurchaseWithEquityForm if with_equity and lic.equity_allowed else forms.PurchaseForm
    form = form_class(_posted(request), license=lic, initial={"seen_state": lic.state, "plan": lic.plans[0]})
    owed = None
    if request.method == "POST" and form.is_valid():
        if _stale(request, lic, form):
            return redirect("portal:license", pk=lic.pk)
        data = form.cleaned_data
        if data["confirmed"]:
            try:
                if "share" in data:
                    services.purchase_with_equity(
                        license_id=lic.pk,
                        plan=data["plan"],
                        share=data["share"],
                        valuation=data["valuation"],
                        by=request.user,
                    )
                else:
                    services.purchase(license_id=lic.pk, plan=data["plan"], by=request.user)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                done = (
                    _("You took the free license.")
                    if lic.is_free
                    else _("You bought the license. Your payment schedule is below.")
                )
                messages.success(request, done)
                return redirect("portal:license", pk=lic.pk)
        else:
            owed = services.obligations(lic, data["plan"], today())  # what the purchase will write
    elif request.method == "GET" and len(lic.plans) == 1 and form_class is forms.PurchaseForm:
        owed = services.obligations(lic, lic.plans[0], today())  # nothing to choose: the terms at once
    return render(
        request,
        "portal/buy.html",
        {"license": lic, "form": form, "owed": owed, "with_equity": form_class is forms.PurchaseWithEquityForm},
    )


@member_required
def return_patent(request, pk):
    lic = _own_license(request, pk)
    form = forms.ReturnForm(_posted(request), initial={"seen_state": lic.state})
    if request.method == "POST" and form.is_valid():
        if _stale(request, lic, form):
            return redirect("portal:license", pk=lic.pk)
        try:
            services.return_patent(license_id=lic.pk, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("You returned the patent. Thank you for trying it."))
            return redirect("portal:license", pk=lic.pk)
    owed = services.obligations(lic, lic.plans[0], today()) if allows(lic, "purchase") else None
    return render(request, "portal/return.html", {"license": lic, "form": form, "owed": owed})


@member_required
def propose_equity(request, pk):
    lic = _own_license(request, pk)
    if not lic.accepts_equity_conversion():
        raise Http404
    form = forms.EquityForm(_posted(request), initial={"seen_state": lic.state})
    if request.method == "POST" and form.is_valid():
        if _stale(request, lic, form):
            return redirect("portal:license", pk=lic.pk)
        data = form.cleaned_data
        try:
            services.propose_equity_conversion(
                license_id=lic.pk, share=data["share"], valuation=data["valuation"], by=request.user
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Your equity proposal was sent to the TTO."))
            return redirect("portal:license", pk=lic.pk)
    assert lic.purchased_on  # equity is proposed on a bought license (accepts_equity_conversion)
    owed = services.obligations(lic, lic.plan, lic.purchased_on)
    return render(request, "portal/equity.html", {"license": lic, "form": form, "owed": owed, "bought": True})


@member_required
def reach_milestone(request, pk, milestone_id):
    """The SME declares a milestone of its bought license reached; its amount then falls due."""
    lic = _own_license(request, pk)
    milestone = get_object_or_404(lic.milestones.filter(state=LicenseMilestone.State.PENDING), pk=milestone_id)
    if not lic.accepts_milestones():
        raise Http404
    form = forms.MilestoneForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.reach_milestone(milestone_id=milestone.pk, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Thank you: the milestone is recorded and its payment scheduled."))
            return redirect("portal:license", pk=lic.pk)
    return render(request, "portal/milestone.html", {"license": lic, "milestone": milestone, "form": form})


@member_required
def file_report(request, pk, royalty_report_id):
    """File, or correct until accepted, a period's royalty or use report. "Compute" shows the
    royalty the base gives and writes nothing; "File" files it."""
    report = selectors.enterprise_report(request.member.enterprise, pk, royalty_report_id)
    lic = report.license
    if not (lic.accepts_reports() and report.accepts_filing()):
        raise Http404
    form = forms.RoyaltyReportForm(_posted(request), _posted_files(request), instance=report)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("action") == "compute" and not report.is_use_report:
                preview = services.preview_royalty(report=report, base=data["base_amount"])
            else:
                services.file_royalty_report(
                    report_id=report.pk,
                    base=data.get("base_amount"),
                    units=data["units"],
                    note=data["note"],
                    attachment=request.FILES.get("attachment"),  # a new upload only, never the stored file
                    by=request.user,
                )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if preview is None:
                messages.success(request, _("Thank you: your report is filed. The TTO will check and accept it."))
                return redirect("portal:license", pk=lic.pk)
    return render(
        request, "portal/royalty_report.html", {"license": lic, "report": report, "form": form, "preview": preview}
    )


@member_required
def report_attachment(request, pk, royalty_report_id):
    report = selectors.enterprise_report(request.member.enterprise, pk, royalty_report_id)
    if not report.attachment:
        raise Http404
    return receipt_response(report, "attachment")


# -- payments ------------------------------------------------------------------------------------


@member_required
def report_payment(request, pk):
    lic = _own_license(request, pk)
    position = selectors.money_position(lic, today())
    form = forms.PaymentReportForm(
        _posted(request), _posted_files(request), initial={"amount": position.to_pay_now or None}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.report_payment(license_id=lic.pk, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Thank you. The TTO will confirm the payment when it arrives."))
            return redirect("portal:license", pk=lic.pk)
    return render(request, "portal/report_payment.html", {"license": lic, "form": form, "position": position})


@member_required
def request_invoice(request, pk, payment_id):
    """Ask for the invoice of one of the license's payments (the details kept from the last time)."""
    lic = _own_license(request, pk)
    payment = get_object_or_404(Payment, pk=payment_id, license=lic)
    if InvoiceRequest.objects.filter(payment=payment).exists():
        messages.info(request, _("The invoice for this payment was asked for already."))
        return redirect("portal:license", pk=lic.pk)
    profile = InvoiceProfile.objects.filter(enterprise=lic.enterprise).first()
    initial = (
        {name: getattr(profile, name) for name in InvoiceRequest.FIELDS}
        if profile
        else {
            "buyer_name": lic.enterprise.name,
            "taxpayer_number": lic.enterprise.uscc,
            "email": lic.enterprise.contact_email,
        }
    )
    form = forms.InvoiceRequestForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_invoice(payment_id=payment.pk, details=form.cleaned_data, by=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, _("Thank you. The TTO's finance office is told; the invoice will be on this page.")
            )
            return redirect("portal:license", pk=lic.pk)
    exempt = services.vat_exempt(payment)
    return render(
        request,
        "portal/form_page.html",
        {
            "license": lic,
            "form": form,
            "title": _("Invoice for the payment of CNY %(amount)s on %(date)s")
            % {"amount": money_text(payment.amount), "date": payment.paid_on},
            "intro": _("Exempt from VAT: a registered technology contract (ordinary VAT invoice, 免税).")
            if exempt
            else _("VAT applies: the contract is not registered as a technology contract."),
            "submit": _("Ask for the invoice"),
        },
    )


@member_required
def invoice(request, pk, request_id):
    found = get_object_or_404(
        InvoiceRequest, pk=request_id, license_id=pk, license__enterprise=request.member.enterprise
    )
    if not found.document:
        raise Http404
    return receipt_response(found, "document")


@member_required
def upload_signed_copy(request, pk):
    """The licensee's members upload the copy they signed; the TTO records the signing."""
    lic = _own_license(request, pk)
    contract = get_object_or_404(Contract, license=lic)
    form = forms.SignedCopyForm(_posted(request), _posted_files(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.upload_licensee_copy(contract_id=contract.pk, copy=form.cleaned_data["copy"], by=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Thank you. %(institution)s is told; it records the signing when it has signed too.")
                % {"institution": contract.institution.name},
            )
            return redirect("portal:license", pk=lic.pk)
    return render(
        request,
        "portal/form_page.html",
        {
            "license": lic,
            "form": form,
            "title": _("Upload the signed contract %(number)s") % {"number": contract.number},
            "multipart": True,
            "submit": _("Upload"),
        },
    )


@member_required
def signed_copy(request, pk, field):
    """A signed copy of the license's contract (its own, or the one both parties signed)."""
    contract = get_object_or_404(Contract, license_id=pk, license__enterprise=request.member.enterprise)
    if field not in ("licensee_copy", "signed_copy") or not getattr(contract, field):
        raise Http404
    return signed_copy_response(contract, field)


@member_required
def contract_document(request, pk, version):
    """A version of the license's contract, for a member of the licensee only (else 404)."""
    found = get_object_or_404(
        ContractVersion,
        contract__license_id=pk,
        contract__license__enterprise=request.member.enterprise,
        version=version,
    )
    return contract_document_response(found)


@member_required
def receipt(request, pk, report_id):
    report = get_object_or_404(
        PaymentReport, pk=report_id, license_id=pk, license__enterprise=request.member.enterprise
    )
    if not report.receipt:
        raise Http404
    return receipt_response(report)


# -- the enterprise's own details ------------------------------------------------------------------


@member_required
def enterprise_details(request):
    """The enterprise keeps its master data itself; each change is kept with who made it."""
    enterprise = request.member.enterprise
    form = forms.EnterpriseDetailsForm(_posted(request), instance=enterprise)
    if request.method == "POST" and form.is_valid():
        changed = [name for name in form.changed_data if name != "reason"]
        try:
            services.update_enterprise(
                enterprise_id=enterprise.pk,
                by=request.user,
                changes={name: form.cleaned_data[name] for name in changed},
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Your enterprise's details were saved."))
            return redirect("portal:enterprise")
    return render(
        request,
        "portal/enterprise.html",
        {
            "form": form,
            "enterprise": enterprise,
            "history": selectors.name_related(selectors.enterprise_history(enterprise)),
        },
    )


PUSH_SESSION_KEY = "push"


def push_link(request, token):
    """A pushed offer's link from its email: counted as opened, then the offer's page. The push
    is remembered in the session, so an application made from it counts in its campaign."""
    push = services.record_push_click(token[:64])
    if push is None:
        return redirect("portal:catalogue")
    request.session[PUSH_SESSION_KEY] = push.token
    return redirect("portal:offer", offer_id=push.offer_id)


def decline_push(request, token):
    """ "Not for us": the pushed enterprise says why, from the email's link, no login needed."""
    push = Push.objects.select_related("offer__patent", "enterprise").filter(token=token[:64]).first()
    if push is None:
        raise Http404
    return _feedback_page(request, push.offer, push_token=push.token)


@member_required
def license_feedback(request, pk):
    """Why a trial ended without a purchase: asked on the license page."""
    lic = _own_license(request, pk)
    if lic.state not in services.FEEDBACK_STATES:
        return render(request, "portal/feedback.html", {"offer": lic.offer, "not_asked": True})
    return _feedback_page(request, lic.offer, license_id=lic.pk)


def _feedback_page(request, offer, **target):
    form = forms.FeedbackForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.record_feedback(
                by=request.user if request.user.is_authenticated else None, **form.cleaned_data, **target
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return render(request, "portal/feedback.html", {"offer": offer, "thanks": True})
    return render(request, "portal/feedback.html", {"offer": offer, "form": form})


@csrf_exempt  # the signed token is the authority, and mail clients POST here without a session (RFC 8058)
def unsubscribe(request, token):
    """Stop pushed offers from an email's link, without logging in: a page with one button (a
    GET changes nothing, so link scanners cannot unsubscribe anyone); a mail client's one-click
    POST stops them too."""
    enterprise = services.unsubscribed_enterprise(token)
    if enterprise is None:
        raise Http404
    done = False
    if request.method == "POST":
        services.unsubscribe(token)
        done = True
    needs = EnterpriseNeeds.objects.filter(enterprise=enterprise).first()
    stopped = done or needs is None or needs.push_consented_at is None
    return render(request, "portal/unsubscribe.html", {"enterprise": enterprise, "stopped": stopped})


@member_required
def enterprise_needs(request):
    """What the enterprise makes and needs (the matching engine's reading), and whether it wants
    fitting offers pushed to it: two separate answers, each kept with who gave it."""
    enterprise = request.member.enterprise
    needs = EnterpriseNeeds.objects.filter(enterprise=enterprise).first() or EnterpriseNeeds(enterprise=enterprise)
    form = forms.NeedsForm(_posted(request), instance=needs)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_needs(
                enterprise_id=enterprise.pk,
                by=request.user,
                changes={name: form.cleaned_data[name] for name in services.NEEDS_FIELDS},
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved. Your recommendations in the catalogue follow what you wrote."))
            return redirect("portal:needs")
    return render(
        request,
        "portal/needs.html",
        {
            "form": form,
            "needs": needs,
            "enterprise": enterprise,
            "push_notice": settings.PUSH_NOTICE_VERSION,
            "pushes_per_month": settings.PUSHES_PER_MONTH,
        },
    )


@member_required
@require_POST
def push_consent(request):
    given = request.POST.get("given") == "1"
    try:
        services.set_push_consent(enterprise_id=request.member.enterprise_id, by=request.user, given=given)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Fitting offers will be sent to your enterprise's contact email.")
            if given
            else _("No more offers will be sent to your enterprise."),
        )
    return redirect("portal:needs")


# -- calendar ------------------------------------------------------------------------------------


@member_required
def calendar(request):
    """The feed's address to subscribe to (a webcal: link opens the calendar application), and
    the next dates it holds."""
    feed_url = request.build_absolute_uri(reverse("portal:calendar_ics", args=[request.member.calendar_token]))
    trials, installments = selectors.deadlines_of(request.member.enterprise)
    upcoming = sorted(
        [(lic.trial_end_effective, "trial", lic) for lic in trials]
        + [(inst.effective_due_date, "installment", inst) for inst in installments[:UPCOMING]],
        key=lambda row: row[0],
    )[:UPCOMING]
    webcal = "webcal://" + feed_url.split("://", 1)[1]
    context = {"feed_url": feed_url, "webcal_url": webcal, "upcoming": upcoming, "today": today()}
    return render(request, "portal/calendar.html", context)


UPCOMING = 20  # dates listed on the calendar page (the feed holds them all)


@member_required
@require_POST
def renew_calendar(request):
    services.renew_calendar_token(member=request.member)
    messages.success(request, _("Your calendar has a new address; the old one no longer works."))
    return redirect("portal:calendar")


def calendar_ics(request, token):
    member = (
        EnterpriseMember.objects.select_related("enterprise")
        .filter(calendar_token=token, state=EnterpriseMember.State.ACTIVE)
        .first()
    )
    if member is None:
        raise Http404
    body = calendar_feed.build(member.enterprise, request.LANGUAGE_CODE)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=900"
    return response


# -- an inventor's own: patents, licenses on them, the money allocated to them, statements ------


def inventor_required(view):
    """Logged in, and the account of an inventor: `request.inventor` is set. An inventor sees their
    own patents and money only, read-only."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        inventor = Inventor.objects.select_related("institution").filter(user=request.user).first()
        if inventor is None:
            raise Http404
        request.inventor = inventor
        return view(request, *args, **kwargs)

    return wrapper


@inventor_required
def inventor_home(request):
    inventor = request.inventor
    context = {
        "inventor": inventor,
        "is_inventor": True,
        "patents": selectors.inventor_patents(inventor),
        "allocations": selectors.inventor_lines(inventor)[:50],
        "years": selectors.statement_years(inventor),
    }
    return render(request, "portal/inventor.html", context)


def _statement_year(year: int) -> int:
    if not 2000 <= year <= today().year:
        raise Http404
    return year


@inventor_required
def inventor_statement(request, year):
    statement = selectors.inventor_statement(request.inventor, _statement_year(year))
    body = statements.statement_body(statement, translation.get_language())
    return render(
        request, "portal/inventor_statement.html", {"statement": statement, "body": body, "is_inventor": True}
    )


@inventor_required
def inventor_statement_pdf(request, year):
    statement = selectors.inventor_statement(request.inventor, _statement_year(year))
    response = HttpResponse(statements.statement_pdf(statement), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="statement-{year}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
