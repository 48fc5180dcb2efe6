"""Matching in a real browser (Playwright driving Debian's Chromium), in Simplified Chinese and in
English: an SME on a phone describes its needs and asks for fitting offers -> its catalogue opens
with "recommended for you" and says why -> a TTO officer reads the offer's fitting enterprises and
pushes it -> the email's link opens the offer -> the SME applies -> the campaign's funnel counts it.
Screenshots go to var/screenshots/<language>/."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail

from licensing import services
from licensing.models import License, Offer, Push
from licensing.roles import TTO_STAFF_GROUP

from .factories import EnterpriseFactory, OfferFactory, PatentFactory, StaffProfileFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

TEXT = {
    "zh-hans": {
        "locale": "zh-CN",
        "needs": "我们的需求",
        "saved": "已保存",
        "recommended": "为您推荐",
        "link": "H01 → 38 电气机械和器材制造业",
        "push": "推送给契合的企业",
        "queued": "已排队1封邮件",
        "subject": "适合",
    },
    "en": {
        "locale": "en-US",
        "needs": "Our needs",
        "saved": "Saved",
        "recommended": "Recommended for you",
        "link": "H01 → 38 Manufacture of electrical machinery and equipment",
        "push": "Push to fitting enterprises",
        "queued": "1 emails queued",
        "subject": "A patent that fits",
    },
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_sme_is_recommended_a_patent_and_a_tto_pushes_it(browser, live_server, language, make_member, settings):
    text = TEXT[language]
    shots = SHOTS / language
    shots.mkdir(parents=True, exist_ok=True)
    tto = StaffProfileFactory(user__username=f"tto-match-{language}")
    tto.user.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    patent = PatentFactory(
        owner=tto.institution, title="一种锂离子电池液冷热管理装置", ipc_class="H01M 10/613", keywords="锂电池, 热管理"
    )
    battery = services.publish_offer(offer_id=OfferFactory(patent=patent, state=Offer.State.DRAFT).pk, by=tto.user)
    for title, ipc in (("一种速冻面条的制备方法", "A23L 7/109"), ("一种专利检索方法", "G06F 16/33")):
        other = OfferFactory(patent=PatentFactory(owner=tto.institution, title=title, ipc_class=ipc), state="draft")
        services.publish_offer(offer_id=other.pk, by=tto.user)
    member = make_member(EnterpriseFactory(name=f"储能科技 {language}", language=language), username=f"li-{language}")
    url = live_server.url
    settings.SITE_URL = url  # the email's links point at this server

    phone = browser.new_context(locale=text["locale"], viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(f"{url}/login/")
    page.fill("#id_username", member.user.username)
    page.fill("#id_password", "pw-Secret-123")
    page.click("form.card button[type=submit]")
    page.click(f"nav >> text={text['needs']}")
    page.fill("#id_products", "储能柜、电池包")
    page.fill("#id_problems", "电芯温差大，需要更好的热管理")
    page.select_option("#id_divisions", ["38"])
    page.fill("#id_keywords", "锂电池")
    page.screenshot(path=shots / "matching-01-needs.png", full_page=True)
    page.click("form.card button[type=submit]")
    page.wait_for_selector(f"text={text['saved']}")
    page.click("#pushes ~ .card button[type=submit]")  # ask for fitting offers: the consent
    page.goto(f"{url}/")
    recommended = page.locator("section.recommended")
    assert text["recommended"] in recommended.inner_text()
    first = recommended.locator("li.card").first
    assert battery.title in first.inner_text() and text["link"] in first.inner_text()
    assert recommended.locator("li.card").count() == 1  # the others share no word and no industry
    page.screenshot(path=shots / "matching-02-recommended.png", full_page=True)

    desk = browser.new_context(locale=text["locale"]).new_page()
    desk.goto(f"{url}/admin/login/")
    desk.fill("#id_username", tto.user.username)
    desk.fill("#id_password", "pw-Secret-123")
    desk.click("input[type=submit]")
    desk.goto(f"{url}/admin/licensing/offer/{battery.pk}/change/")
    assert member.enterprise.name in desk.locator("table.fitting").inner_text()
    desk.click(f"text={text['push']}")
    assert member.enterprise.name in desk.locator("#push-preview").inner_text()
    desk.fill("#id_name", f"Batteries {language}")
    desk.fill("#id_count", "20")
    desk.screenshot(path=shots / "matching-03-push.png", full_page=True)
    desk.click("input[type=submit].default")
    desk.wait_for_selector(f"text={text['queued']}")

    email = next(m for m in mail.outbox if m.to == [member.enterprise.contact_email])
    assert email.subject.startswith(text["subject"])
    link = next(line for line in email.body.splitlines() if "/p/" in line and "/decline/" not in line)
    page.goto(link.split(": ", 1)[1].strip())
    page.wait_for_url(f"**/patents/{battery.pk}/")
    page.click(f"a[href='/patents/{battery.pk}/apply/']")
    page.fill("#id_intended_use", "储能柜热管理")
    page.fill("#id_contact", "李经理")
    page.click("form.card button[type=submit]")
    lic = License.objects.get(enterprise=member.enterprise)
    push = Push.objects.get(enterprise=member.enterprise)
    assert push.clicked_at is not None and push.license == lic

    desk.goto(f"{url}/admin/licensing/pushcampaign/{push.campaign_id}/change/")
    funnel = desk.locator("table.funnel tbody tr").last.inner_text().split()
    assert funnel[-6:] == ["1", "1", "1", "1", "0", "0"]  # pushed, emailed, opened, applied, trial, bought
    desk.screenshot(path=shots / "matching-04-funnel.png", full_page=True)
    phone.close()
