"""Pushes (issue 26, part 4): a TTO pushes an offer to the enterprises it fits that asked for
offers; each push is one email through the ledger, in the enterprise's language, with a link that
stops them without logging in; at most PUSHES_PER_MONTH an enterprise a month; every push is
followed from the email to the purchase, and the campaign shows its funnel by size class."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from licensing import selectors, services
from licensing.models import AuditEvent, EnterpriseNeeds, Feedback, Offer, Push, PushCampaign, PushConsent, Reminder
from licensing.roles import TTO_STAFF_GROUP
from tests.factories import EnterpriseFactory, OfferFactory, PatentFactory, StaffProfileFactory
from tests.test_matching import BATTERY, needs_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def battery(staff, institution):
    patent = PatentFactory(owner=institution, **BATTERY)
    offer = OfferFactory(patent=patent, state=Offer.State.DRAFT)
    return services.publish_offer(offer_id=offer.pk, by=staff)


@pytest.fixture
def asking(make_member):
    """asking(language, **enterprise): a member of a new enterprise that needs batteries and asked
    for fitting offers."""

    def make(language="en", **fields):
        member = make_member(EnterpriseFactory(language=language, **fields))
        needs_of(member, problems="锂电池 热管理", divisions=["38"])
        services.set_push_consent(enterprise_id=member.enterprise_id, by=member.user, given=True)
        return member

    return make


def push(offer, staff, django_capture_on_commit_callbacks, count=20, name="Batteries Q4"):
    with django_capture_on_commit_callbacks(execute=True):
        return services.push_to_fitting(offer_id=offer.pk, count=count, name=name, by=staff)


def test_a_push_is_one_email_in_the_enterprises_language_with_its_links(
    battery, staff, asking, django_capture_on_commit_callbacks
):
    english, chinese = asking("en"), asking("zh-hans")
    campaign = push(battery, staff, django_capture_on_commit_callbacks)
    assert campaign.counts["pushes"] == 2
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {english.enterprise.contact_email, chinese.enterprise.contact_email}
    en, zh = by_address[english.enterprise.contact_email], by_address[chinese.enterprise.contact_email]
    assert en.subject == f"A patent that fits {english.enterprise.name}: {battery.title}"
    assert zh.subject.startswith(f"适合{chinese.enterprise.name}的专利")
    token = Push.objects.get(enterprise=english.enterprise).token
    assert reverse("portal:push", args=[token]) in en.body and "锂电池" in en.body
    assert en.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in en.extra_headers["List-Unsubscribe"]
    assert "不需要登录" in zh.body or "无需登录" in zh.body
    # Exactly once: the campaign queued again, the sweep's delivery, nothing more goes out.
    from licensing.tasks import deliver_campaign

    deliver_campaign(campaign.pk)
    assert len(mail.outbox) == 2
    assert Reminder.objects.filter(kind=Reminder.Kind.OFFER_PUSHED, state=Reminder.State.SENT).count() == 2


def test_only_enterprises_that_asked_and_none_that_applied(
    battery, staff, asking, make_member, make_license, enterprise, django_capture_on_commit_callbacks
):
    wanted = asking()
    silent = make_member()
    needs_of(silent, problems="锂电池 热管理")
    holder = make_member(enterprise)
    needs_of(holder, problems="锂电池 热管理")
    services.set_push_consent(enterprise_id=enterprise.pk, by=holder.user, given=True)
    make_license(battery)  # `enterprise` applied
    campaign = services.push_offers(
        offer_ids=[battery.pk],
        enterprise_ids=[wanted.enterprise_id, silent.enterprise_id, enterprise.pk],
        name="All three",
        by=staff,
    )
    assert list(campaign.pushes.values_list("enterprise_id", flat=True)) == [wanted.enterprise_id]
    event = AuditEvent.objects.get(object_id=campaign.pk, object_repr="All three")
    assert event.by == staff
    assert event.changes["pushes"] == [None, 1]
    assert event.changes["left_out_holding_or_applied"] == [None, 1]
    assert event.changes["left_out_not_asking"] == [None, 1]


def test_at_most_n_pushes_an_enterprise_a_month(
    battery, staff, institution, asking, settings, clock, django_capture_on_commit_callbacks
):
    settings.PUSHES_PER_MONTH = 2
    clock("2026-11-10")
    member = asking()
    offers = [battery] + [
        services.publish_offer(
            offer_id=OfferFactory(
                patent=PatentFactory(owner=institution, **{**BATTERY, "title": f"锂电池热管理 {n}"}),
                state=Offer.State.DRAFT,
            ).pk,
            by=staff,
        )
        for n in range(2)
    ]
    counts = [push(offer, staff, django_capture_on_commit_callbacks).counts for offer in offers]
    assert [c["pushes"] for c in counts] == [1, 1, 0]
    assert counts[2]["held_back_monthly_limit"] == 1
    clock("2026-12-01")  # a new month in Shanghai
    assert push(offers[2], staff, django_capture_on_commit_callbacks).counts["pushes"] == 1
    assert Push.objects.filter(enterprise=member.enterprise).count() == 3


def test_the_unsubscribe_link_needs_no_login_and_a_get_changes_nothing(
    battery, staff, asking, django_capture_on_commit_callbacks
):
    member = asking()
    url = reverse("portal:unsubscribe", args=[services.unsubscribe_token(member.enterprise_id)])
    browser = Client(enforce_csrf_checks=True, headers={"accept-language": "en"})  # as a mail client: no session
    page = browser.get(url)
    assert page.status_code == 200 and "Stop sending offers to" in page.text
    assert EnterpriseNeeds.objects.get(enterprise=member.enterprise).push_consented_at is not None
    assert browser.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert EnterpriseNeeds.objects.get(enterprise=member.enterprise).push_consented_at is None
    consent = PushConsent.objects.filter(enterprise=member.enterprise).first()
    assert (consent.given, consent.channel, consent.by) == (False, "unsubscribe", None)
    assert "No more offers will be sent" in browser.get(url).text
    assert push(battery, staff, django_capture_on_commit_callbacks).counts["pushes"] == 0
    assert browser.get(reverse("portal:unsubscribe", args=["forged"])).status_code == 404
    assert browser.post(url.replace("/unsubscribe/", "/unsubscribe/x")).status_code == 404


def test_a_push_waiting_in_the_ledger_is_not_sent_after_an_unsubscribe(battery, staff, asking):
    member = asking()
    services.push_to_fitting(offer_id=battery.pk, count=5, name="Later", by=staff)  # not delivered yet
    services.unsubscribe(services.unsubscribe_token(member.enterprise_id))
    from licensing.reminders.delivery import deliver_reminder

    reminder = Reminder.objects.get(kind=Reminder.Kind.OFFER_PUSHED)
    assert deliver_reminder(reminder.pk) == "cancelled" and not mail.outbox


def test_the_funnel_follows_a_push_from_the_email_to_the_trial(
    battery, staff, asking, client, django_capture_on_commit_callbacks
):
    member = asking()
    campaign = push(battery, staff, django_capture_on_commit_callbacks)
    token = Push.objects.get().token
    client.force_login(member.user)
    response = client.get(reverse("portal:push", args=[token]))
    assert response.status_code == 302 and response.url == reverse("portal:offer", args=[battery.pk])
    client.post(reverse("portal:apply", args=[battery.pk]), {"intended_use": "储能柜", "contact": "王经理"})
    lic = Push.objects.get().license
    assert lic is not None and lic.enterprise == member.enterprise
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date.today())
    funnel = selectors.campaign_funnel(campaign)
    assert {step: funnel[-1][step] for step in selectors.FUNNEL_STEPS} == {
        "pushed": 1,
        "emailed": 1,
        "opened": 1,
        "applied": 1,
        "trial": 1,
        "purchased": 0,
    }
    assert funnel[0]["size_class"] == member.enterprise.get_size_class_display()
    assert client.get(reverse("portal:push", args=["unknown"])).url == reverse("portal:catalogue")


def test_staff_push_only_their_own_offers_and_see_only_their_campaigns(
    battery, staff, asking, client, django_capture_on_commit_callbacks
):
    asking()
    other = StaffProfileFactory().user
    with pytest.raises(ValidationError):
        services.push_to_fitting(offer_id=battery.pk, count=5, name="Not mine", by=other)
    assert not PushCampaign.objects.exists()
    campaign = push(battery, staff, django_capture_on_commit_callbacks)
    group = Group.objects.get(name=TTO_STAFF_GROUP)
    for user in (staff, other):
        user.groups.add(group)
    client.force_login(staff)
    page = client.get(reverse("admin:licensing_pushcampaign_change", args=[campaign.pk]))
    assert page.status_code == 200 and "funnel" in page.text.lower()
    client.force_login(other)
    assert client.get(reverse("admin:licensing_pushcampaign_change", args=[campaign.pk])).status_code in (302, 404)
    assert campaign.name not in client.get(reverse("admin:licensing_pushcampaign_changelist")).text


def test_the_offer_page_pushes_to_fitting_enterprises(battery, staff, asking, client):
    member, other = asking(), asking()
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    url = reverse("admin:licensing_offer_act", args=[battery.pk, "push"])
    page = client.get(url)
    assert page.status_code == 200 and member.enterprise.name in page.text
    response = client.post(url, {"name": "The one I picked", "chosen": [member.enterprise_id]})
    assert response.status_code == 302
    assert PushCampaign.objects.get().pushes.get().enterprise == member.enterprise  # only the ticked one
    response = client.post(url, {"name": "The best two", "count": 2})
    assert response.status_code == 302
    assert PushCampaign.objects.get(name="The best two").pushes.get().enterprise == other.enterprise  # once each
    for refused in ({"name": "", "count": 2}, {"name": "Nobody", "count": ""}, {"name": "Stranger", "chosen": [999]}):
        assert client.post(url, refused).status_code == 200  # refused, said why
    assert PushCampaign.objects.count() == 2


def test_the_dashboard_sums_the_pushes_of_the_staffs_institution(
    battery, staff, asking, client, django_capture_on_commit_callbacks
):
    member = asking()
    push(battery, staff, django_capture_on_commit_callbacks)
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    board = client.get(reverse("admin:dashboard")).context["board"]
    rows = [list(row) for row in board.tables["pushes"].rows]
    size = member.enterprise.get_size_class_display()
    assert [size, 1, 1, 0, 0, 0, 0] == rows[0][:7] and rows[-1][1] == 1
    (campaign,) = [list(row) for row in board.tables["campaigns"].rows]  # each campaign with its funnel
    assert campaign[0] == "Batteries Q4" and campaign[2:8] == [1, 1, 0, 0, 0, 0]
    other = StaffProfileFactory().user  # another institution's staff: none of these pushes
    other.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(other)
    board = client.get(reverse("admin:dashboard")).context["board"]
    assert [list(row)[1] for row in board.tables["pushes"].rows] == [0]
    assert list(board.tables["campaigns"].rows) == []


# -- feedback --------------------------------------------------------------------------------------


def test_a_pushed_enterprise_says_why_not_from_the_email_without_logging_in(
    battery, staff, asking, django_capture_on_commit_callbacks, client
):
    member = asking()
    push(battery, staff, django_capture_on_commit_callbacks)
    token = Push.objects.get().token
    assert reverse("portal:decline_push", args=[token]) in mail.outbox[0].body
    url = reverse("portal:decline_push", args=[token])
    client.cookies["django_language"] = "en"
    assert "Why not this patent?" in client.get(url).text
    bad = client.post(url, {"reason": "cheap", "note": ""})
    assert bad.status_code == 200 and not Feedback.objects.exists()
    assert "Thank you" in client.post(url, {"reason": "price", "note": "太贵了"}).text
    client.post(url, {"reason": "timing", "note": "明年再看"})  # answered again: replaced, audited
    answer = Feedback.objects.get()
    assert (answer.reason, answer.note, answer.enterprise, answer.by) == ("timing", "明年再看", member.enterprise, None)
    from licensing.services._audit import trail

    assert [e.action for e in trail(answer)] == ["changed", "created"]
    assert client.get(reverse("portal:decline_push", args=["forged"])).status_code == 404


def test_a_trial_that_ended_without_a_purchase_asks_why_and_the_tto_reads_it(
    battery, staff, make_license, sme_client, enterprise, client, admin_client
):
    lic = make_license(battery, "trial")
    page = reverse("portal:license_feedback", args=[lic.pk])
    assert "asked when a trial ends" in sme_client.get(page).text  # not yet: the trial runs
    with pytest.raises(ValidationError):
        services.record_feedback(reason="price", by=sme_client.member.user, license_id=lic.pk)
    services.return_patent(license_id=lic.pk, by=sme_client.member.user)
    assert "Would you tell the TTO why?" in sme_client.get(reverse("portal:license", args=[lic.pk])).text
    sme_client.post(page, {"reason": "maturity", "note": "<b>需要中试数据</b>"})
    assert Feedback.objects.get(license=lic).reason == "maturity"
    assert "You told the TTO why you did not buy" in sme_client.get(reverse("portal:license", args=[lic.pk])).text
    offer_page = admin_client.get(reverse("admin:licensing_offer_change", args=[battery.pk])).text
    assert "&lt;b&gt;需要中试数据&lt;/b&gt;" in offer_page and "<b>需要中试数据" not in offer_page
    board = admin_client.get(reverse("admin:dashboard")).context["board"]
    assert dict((str(label), n) for label, n in board.tables["feedback"].rows)[str(Feedback.Reason.MATURITY.label)] == 1


def test_only_the_enterprises_members_answer_for_its_trial(battery, make_license, make_member, staff):
    lic = make_license(battery, "trial")
    services.return_patent(license_id=lic.pk, by=staff)
    stranger = make_member()
    with pytest.raises(ValidationError):
        services.record_feedback(reason="price", by=stranger.user, license_id=lic.pk)
    with pytest.raises(ValidationError):
        services.record_feedback(reason="price", by=None, push_token="nope")
    assert not Feedback.objects.exists()


def test_the_monthly_digest_pushes_last_months_new_offers_once(
    staff, institution, asking, clock, django_capture_on_commit_callbacks
):
    from licensing.tasks import monthly_digest

    clock("2026-11-12")
    member = asking()
    fresh = services.publish_offer(
        offer_id=OfferFactory(patent=PatentFactory(owner=institution, **BATTERY), state=Offer.State.DRAFT).pk, by=staff
    )
    clock("2026-12-01")
    assert monthly_digest() == 0  # the institution did not ask for it
    institution.monthly_digest = True
    institution.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert monthly_digest() == 1
    campaign = PushCampaign.objects.get()
    from django.utils import translation

    with translation.override(institution.language):  # named in the TTO's language
        assert campaign.name == translation.gettext("Monthly digest %(month)s") % {"month": "2026-11"}
    assert campaign.created_by is None
    assert list(campaign.pushes.values_list("offer", "enterprise")) == [(fresh.pk, member.enterprise_id)]
    assert [m.to for m in mail.outbox] == [[member.enterprise.contact_email]]
    assert monthly_digest() == 0  # once a month
    clock("2027-01-01")
    assert monthly_digest() == 0  # nothing new in December


def test_a_trial_that_expires_asks_why_by_email_once_unless_answered(
    battery, staff, make_license, enterprise, clock, django_capture_on_commit_callbacks
):
    from licensing.reminders import delivery, sweep

    lic = make_license(battery, "trial", start="2026-01-05")
    clock("2026-08-01")  # long past the trial's end
    with django_capture_on_commit_callbacks(execute=True):
        sweep.run_sweep()
    lic.refresh_from_db()
    assert lic.state == "expired"
    asked = [m for m in mail.outbox if m.subject.startswith("Your trial of")]
    assert len(asked) == 1 and asked[0].to == [enterprise.contact_email]
    assert reverse("portal:license_feedback", args=[lic.pk]) in asked[0].body
    reminder = Reminder.objects.get(kind=Reminder.Kind.TRIAL_EXPIRED)
    assert delivery.deliver_reminder(reminder.pk) == "skipped"  # sent once


def test_no_question_goes_out_once_the_trial_was_answered(battery, staff, make_license, make_member, enterprise, clock):
    from licensing.reminders import delivery

    lic = make_license(battery, "trial", start="2026-01-05")
    clock("2026-08-01")
    services.expire_trial(license_id=lic.pk)
    member = make_member(enterprise)
    services.record_feedback(reason="fit", by=member.user, license_id=lic.pk)
    reminder = Reminder.objects.get(kind=Reminder.Kind.TRIAL_EXPIRED)
    assert delivery.deliver_reminder(reminder.pk) == "cancelled" and not mail.outbox
