"""The decision pages in a real browser (issue 22, point 2): the buy page of the 先用后付 package
states every obligation, on a phone in Chinese and at a desk in English, with nothing wider than
the screen. Screenshots go to var/screenshots/<language>/decision-*.png (looked at when the pages
change)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.utils import timezone

from licensing import services
from licensing.models import EnterpriseMember

from .factories import EnterpriseFactory, OfferFactory, PatentFactory, StaffProfileFactory, UserFactory
from .test_day_browser import DESK, LOCALES, PHONE, fits
from .test_obligations import PAY_LATER

SHOTS = settings.BASE_DIR / "var" / "screenshots"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def trial(language):
    """An SME member in the fourth month of a trial of the 先用后付 package."""
    profile = StaffProfileFactory(user__username=f"officer-{language}", institution__name="Jinghua University")
    officer = profile.user
    today = timezone.localdate()
    offer = OfferFactory(
        state="draft",
        name="石墨烯柔性传感专利包" if language == "zh-hans" else "Graphene flexible-sensor package",
        patent__owner=profile.institution,
        patent__expiry_date=today.replace(year=today.year + 12),
        territory="中国大陆" if language == "zh-hans" else "Mainland China",
        field_of_use="可穿戴设备" if language == "zh-hans" else "wearables",
        **PAY_LATER,
    )
    second = PatentFactory(owner=profile.institution, expiry_date=today.replace(year=today.year + 13))
    services.set_package(offer_id=offer.pk, patents=[offer.patent, second], by=officer)
    offer.milestones.create(
        name="购买后 18 个月" if language == "zh-hans" else "18 months on", amount=D("50000.00"), due_months=18
    )
    offer = services.publish_offer(offer_id=offer.pk, by=officer)
    enterprise = EnterpriseFactory(name="Suzhou Graphene", contact_email="li@sme.example")
    user = UserFactory(is_staff=False, username=f"li-{language}")
    EnterpriseMember.objects.create(user=user, enterprise=enterprise, full_name="Li Na")
    EnterpriseMember.objects.filter(user=user).update(state=EnterpriseMember.State.ACTIVE)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise, contact="Li Na 138 0000 0000")
    return services.approve_trial(license_id=lic.pk, by=officer, start=today - dt.timedelta(days=100))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_buy_page_states_the_deal_on_a_phone_and_at_a_desk(browser, live_server, language, trial):
    shots = SHOTS / language
    shots.mkdir(parents=True, exist_ok=True)
    today = timezone.localdate()
    owed = services.obligations(trial, "lump_sum", today)
    for name, viewport in (("desk", DESK), ("phone", PHONE)):  # the phone buys
        context = browser.new_context(locale=LOCALES[language], viewport=viewport)
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", f"li-{language}")
        page.fill("#id_password", "pw-Secret-123")
        page.click("form.card button[type=submit]")
        page.goto(f"{live_server.url}/licenses/{trial.pk}/buy/")
        text = page.locator("main").inner_text()
        assert owed.payments_start.isoformat() in text and owed.first_report.due.isoformat() in text
        assert owed.schedule[0].effective_due_date.isoformat() in text and "50,000.00" in text
        assert ("确认购买即表示" if language == "zh-hans" else "By confirming you agree") in text
        assert fits(page), f"the buy page is wider than a {name} screen"
        page.screenshot(path=shots / f"decision-01-buy-{name}.png", full_page=True)
        if name == "phone":
            page.click("button[type=submit] >> nth=-1")
            assert page.url.endswith(f"/licenses/{trial.pk}/")
            page.screenshot(path=shots / "decision-02-bought-phone.png", full_page=True)
        context.close()
    trial.refresh_from_db()
    assert trial.state == "purchased" and trial.payments_start == owed.payments_start
