"""Issue 22, point 4: every hand-off told, exactly once, in the reader's language, with a link the
reader can open. Each notice goes out when the change that makes it somebody's turn commits (the
worker runs eagerly here); the sweeps after it send nothing more."""

import datetime as dt
from decimal import Decimal as D
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.utils import translation

from licensing import services, tasks
from licensing.demo.identifiers import make_uscc
from licensing.models import EnterpriseMember, Reminder
from licensing.reminders import notices
from licensing.roles import TTO_STAFF_GROUP

from .conftest import tell_the_story_so_far
from .factories import EnterpriseFactory, OfferFactory

K = Reminder.Kind
ROYALTY_TERMS = {
    "price": D("0"),
    "royalty_base": "net_sales",
    "royalty_rates": "2%",
    "reporting_period": "quarter",
    "report_due_days": 30,
}


@pytest.fixture
def act(django_capture_on_commit_callbacks):
    """Run a use case and commit it: its notices are queued and delivered on commit."""

    def run(use_case, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return use_case(**kwargs)

    return run


def told(kind: str) -> list:
    return [m for m in mail.outbox if m.extra_headers["X-Reminder-Key"].startswith(f"{kind}:")]


def told_once(kind: str):
    """The one email of this kind, after two more sweeps (which deliver whatever is pending)."""
    tasks.sweep()
    tasks.sweep()
    (message,) = told(kind)
    assert Reminder.objects.filter(kind=kind, state=Reminder.State.SENT).count() == 1
    return message


def link_in(message) -> str:
    (line,) = [line for line in message.body.splitlines() if "http://" in line or "https://" in line]
    return line.split(": ", 1)[1].strip()


def opens(link: str, user) -> int:
    if user.is_staff:
        user.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))  # the TTO's role: it may open the admin
    client = Client()
    client.force_login(user)
    return client.get(urlsplit(link).path).status_code


@pytest.fixture
def member(make_member):
    m = make_member(EnterpriseFactory(contact_email="", language="zh-hans"))
    m.user.email = "li.na@sme.example"
    m.user.save()
    return m


# -- sign-up and membership ------------------------------------------------------------------------


SIGN_UP = {
    "user-username": "wangfang",
    "user-email": "wang@sme.example",
    "user-password1": "a-Long-pass-2026",
    "user-password2": "a-Long-pass-2026",
    "user-full_name": "王芳",
    "user-privacy_consent": "on",
    "user-phone": "138 0000 0000",
    "enterprise-name": "Suzhou Nano Co.",
    "enterprise-uscc": make_uscc(7),
    "enterprise-industry_section": "C",
    "enterprise-industry": "industry",
    "enterprise-employees": "80",
    "enterprise-annual_revenue": "5000",
    "enterprise-contact_email": "finance@nano.example",
    "enterprise-language": "en",
}


def test_a_sign_up_from_an_offer_tells_that_institution_with_what_to_check(
    client, offer, institution, staff, django_capture_on_commit_callbacks
):
    institution.language = "en"
    institution.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/signup/?next=/patents/{offer.pk}/apply/", {**SIGN_UP, "next": f"/patents/{offer.pk}/apply/"}
        )
    assert response.status_code == 200

    message = told_once(K.MEMBER_TO_APPROVE)
    assert message.to == [institution.contact_email] and message.reply_to == ["finance@nano.example"]
    assert message.subject == "Suzhou Nano Co.: 王芳 asks for portal access"
    member = EnterpriseMember.objects.get()
    with translation.override("en"):
        size = member.enterprise.get_size_class_display()
    for fact in (SIGN_UP["enterprise-uscc"], f"Size class: {size}", "wang@sme.example", "138 0000 0000", "5,000.00"):
        assert fact in message.body, fact
    assert link_in(message).endswith(f"/admin/licensing/enterprisemember/{member.pk}/change/")
    assert opens(link_in(message), staff) == 200
    assert member.enterprise.language == "en"  # chosen on the sign-up form
    assert member.user.get_full_name() == "王芳"  # the trail names the person, not the login


def test_signing_up_from_the_login_page_keeps_the_offer_the_visitor_came_for(client, offer):
    """An anonymous visitor who clicks "apply" lands on the login page; either of its sign-up
    links (the form's, the header's) carries the offer, so the sign-up is told to its institution."""
    page = client.get(f"/login/?next=/patents/{offer.pk}/apply/").content.decode()
    assert page.count(f'href="/signup/?next=/patents/{offer.pk}/apply/"') == 2
    assert "/signup/?next=/login/" not in page


def test_a_sign_up_from_nowhere_goes_to_the_platform_administrator(client, db, settings):
    settings.PLATFORM_CONTACT_EMAIL = "platform@example.edu.cn"
    client.post("/signup/", SIGN_UP)

    message = told_once(K.MEMBER_TO_APPROVE)
    assert message.to == ["platform@example.edu.cn"]
    assert Reminder.objects.get().institution is None


def test_the_sign_up_notice_is_not_sent_once_the_member_was_decided(client, db, settings, superuser):
    settings.PLATFORM_CONTACT_EMAIL = "platform@example.edu.cn"
    client.post("/signup/", SIGN_UP)  # its notice is pending: no worker ran
    services.approve_member(member_id=EnterpriseMember.objects.get().pk, by=superuser)

    tasks.sweep()
    assert told(K.MEMBER_TO_APPROVE) == []
    notice = Reminder.objects.get(kind=K.MEMBER_TO_APPROVE)
    assert (notice.state, notice.last_error) == (Reminder.State.CANCELLED, "enterprisemember is active")


def test_approval_and_revocation_are_told_to_the_member_in_the_enterprises_language(
    make_member, staff, institution, act
):
    pending = make_member(EnterpriseFactory(language="zh-hans"), state=EnterpriseMember.State.PENDING)
    pending.user.email = "li.na@sme.example"
    pending.user.save()

    act(services.approve_member, member_id=pending.pk, by=staff)
    approved = told_once(K.MEMBER_APPROVED)
    assert approved.to == ["li.na@sme.example"]
    assert approved.subject == f"您在 {pending.enterprise.name} 的门户账户已获批准"
    assert institution.name in approved.from_email and "<" in approved.from_email
    assert opens(link_in(approved), pending.user) == 200

    act(services.revoke_member, member_id=pending.pk, by=staff, reason="已离职")
    revoked = told_once(K.MEMBER_REVOKED)
    assert "已离职" in revoked.body and "http" not in revoked.body  # nothing to open any more


# -- application and trial -----------------------------------------------------------------------


def test_an_application_is_told_to_the_tto_who_opens_it_in_the_admin(member, offer, institution, staff, act, clock):
    clock("2026-03-02")
    lic = act(services.apply_for_trial, offer_id=offer.pk, enterprise=member.enterprise, by=member.user)

    message = told_once(K.APPLICATION_RECEIVED)
    assert message.to == [institution.contact_email] and institution.language == "zh-hans"
    assert message.subject == f"新申请：{member.enterprise.name} 申请试用 {offer.patent.title}"
    assert "批准后试用即开始" in message.body
    assert link_in(message).endswith(f"/admin/licensing/license/{lic.pk}/change/")
    assert opens(link_in(message), staff) == 200


def test_an_application_staff_register_themselves_is_not_told_back_to_them(offer, staff, act, clock):
    clock("2026-03-02")
    act(services.apply_for_trial, offer_id=offer.pk, enterprise=EnterpriseFactory(), by=staff)
    tasks.sweep()
    assert told(K.APPLICATION_RECEIVED) == [] and not Reminder.objects.filter(kind=K.APPLICATION_RECEIVED).exists()


def test_the_trial_start_is_told_with_its_end_and_a_rejection_with_its_reason(member, offer, staff, act, clock):
    clock("2026-03-02")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=member.enterprise, by=member.user)
    act(services.approve_trial, license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2))

    started = told_once(K.TRIAL_STARTED)
    assert started.to == ["li.na@sme.example"]  # no contact address: the active members'
    assert "2026-03-02" in started.body and "2026-09-02" in started.body
    assert offer.patent.title in started.subject and started.subject.endswith("的试用已开始")
    assert opens(link_in(started), member.user) == 200

    other = services.apply_for_trial(
        offer_id=OfferFactory(patent__owner=offer.patent.owner).pk, enterprise=member.enterprise
    )
    act(services.reject_application, license_id=other.pk, by=staff, reason="用途不符")
    rejected = told_once(K.APPLICATION_REJECTED)
    assert "用途不符" in rejected.body and "用途不符" in rejected.alternatives[0][0]


# -- purchase and payments ------------------------------------------------------------------------


def test_the_purchase_is_told_with_its_whole_schedule(offer, make_license, staff, act, clock):
    clock("2026-07-01")
    lic = make_license(offer, "trial", start="2026-01-31")
    act(services.purchase, license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 1))

    message = told_once(K.PURCHASE_CONFIRMED)
    rows = list(lic.installments.order_by("effective_due_date"))
    assert len(rows) == 3
    for inst in rows:
        assert f"{inst.effective_due_date.isoformat()}" in message.body and f"{inst.amount:,.2f}" in message.body
    assert "Installments" in message.body  # the plan, named


def test_a_reported_payment_goes_to_the_tto_and_its_decision_back_to_the_sme(
    offer, make_license, staff, act, clock, make_member
):
    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")
    sme = make_member(lic.enterprise).user
    report = act(
        services.report_payment,
        license_id=lic.pk,
        amount="1000.00",
        paid_on=dt.date(2026, 8, 1),
        reference="HX-1",
        by=sme,
    )
    reported = told_once(K.PAYMENT_REPORTED)
    assert "1,000.00" in reported.subject and "HX-1" in reported.body
    assert link_in(reported).endswith(f"/admin/licensing/paymentreport/{report.pk}/change/")
    assert opens(link_in(reported), staff) == 200

    act(services.confirm_payment_report, report_id=report.pk, by=staff)
    confirmed = told_once(K.PAYMENT_CONFIRMED)
    assert confirmed.to == [lic.enterprise.contact_email] and "1,000.00" in confirmed.subject

    second = services.report_payment(
        license_id=lic.pk, amount="500.00", paid_on=dt.date(2026, 8, 1), reference="HX-2", by=sme
    )
    act(services.reject_payment_report, report_id=second.pk, by=staff, reason="No such transfer on our account")
    rejected = told_once(K.PAYMENT_REJECTED)
    assert "No such transfer on our account" in rejected.body


# -- royalty reports -------------------------------------------------------------------------------


@pytest.fixture
def royalty_license(institution, make_license, make_member, clock):
    clock("2026-01-01")
    offer = OfferFactory(patent__owner=institution, **ROYALTY_TERMS)
    lic = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum")
    lic.sme = make_member(lic.enterprise).user
    return lic


def test_a_filed_report_goes_to_the_tto_and_is_accepted_or_disputed_back(royalty_license, staff, act, clock):
    lic = royalty_license
    q1 = lic.royalty_reports.get(period_start=dt.date(2026, 1, 1))
    clock("2026-04-10")
    act(services.file_royalty_report, report_id=q1.pk, base="0", by=lic.sme)
    filed = told_once(K.REPORT_FILED)
    assert "2026-01-01 – 2026-03-31" in filed.subject
    assert opens(link_in(filed), staff) == 200

    act(services.accept_royalty_report, report_id=q1.pk, by=staff)
    accepted = told_once(K.REPORT_ACCEPTED)
    assert "nil report" in accepted.body and "nothing is due" in accepted.body

    q2 = lic.royalty_reports.get(period_start=dt.date(2026, 4, 1))
    clock("2026-07-10")
    services.file_royalty_report(report_id=q2.pk, base="100000", by=lic.sme)
    act(services.dispute_royalty_report, report_id=q2.pk, by=staff, reason="Sales of May are missing")
    disputed = told_once(K.REPORT_DISPUTED)
    assert "Sales of May are missing" in disputed.body
    assert link_in(disputed).endswith(f"/licenses/{lic.pk}/reports/{q2.pk}/")
    assert opens(link_in(disputed), lic.sme) == 200

    # Corrected and disputed again: a second dispute, told again (one notice per event).
    services.file_royalty_report(report_id=q2.pk, base="120000", by=lic.sme)
    act(services.dispute_royalty_report, report_id=q2.pk, by=staff, reason="Still short")
    tasks.sweep()
    assert [("Still short" in m.body) for m in told(K.REPORT_DISPUTED)] == [False, True]


def test_an_audit_adjustment_is_told_with_its_amount_date_and_reason(royalty_license, staff, act, clock):
    clock("2026-05-04")
    inst = act(
        services.record_royalty_adjustment,
        license_id=royalty_license.pk,
        amount="12345.67",
        reason="Audit of 2025: unreported exports",
        by=staff,
    )
    message = told_once(K.AUDIT_ADJUSTMENT)
    assert "12,345.67" in message.subject and "unreported exports" in message.body
    assert inst.effective_due_date.isoformat() in message.body


def test_an_equity_proposal_goes_to_the_tto(offer, make_license, make_member, staff, act, clock):
    clock("2026-08-01")
    offer.equity_allowed, offer.equity_max_share = True, D("0.5")
    offer.save()
    lic = make_license(offer, "purchased", start="2026-01-31")
    sme = make_member(lic.enterprise).user
    act(services.propose_equity_conversion, license_id=lic.pk, share="0.5", valuation="1000000", by=sme)

    message = told_once(K.EQUITY_PROPOSED)
    assert "50%" in message.body and "1,000,000.00" in message.body
    assert opens(link_in(message), staff) == 200


# -- the registry -----------------------------------------------------------------------------------


def test_every_kind_of_notice_has_one_entry_in_the_registry():
    assert set(notices.KINDS) == set(Reminder.Kind.values)


def test_hostile_names_are_escaped_in_the_html_and_kept_in_headers_as_text(member, offer, act, clock):
    clock("2026-03-02")
    member.enterprise.name = "<img src=x onerror=alert(1)> & Co"
    member.enterprise.save()
    act(services.apply_for_trial, offer_id=offer.pk, enterprise=member.enterprise, by=member.user)

    message = told_once(K.APPLICATION_RECEIVED)
    html = message.alternatives[0][0]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt; &amp; Co" in html
    assert "<img src=x onerror=alert(1)> & Co" in message.subject  # a header is text, not HTML


def test_links_point_at_site_url(member, offer, act, clock, settings):
    settings.SITE_URL = "https://tto.example.edu.cn/"
    clock("2026-03-02")
    act(services.apply_for_trial, offer_id=offer.pk, enterprise=member.enterprise, by=member.user)
    assert link_in(told_once(K.APPLICATION_RECEIVED)).startswith("https://tto.example.edu.cn/admin/")


def test_the_story_so_far_helper_leaves_nothing_pending(offer, make_license, clock):
    clock("2026-08-01")
    make_license(offer, "purchased", start="2026-01-31")
    tell_the_story_so_far()
    assert not Reminder.objects.filter(state=Reminder.State.PENDING).exists()
