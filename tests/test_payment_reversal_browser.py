"""A payment reversed, walked in Chromium: the finance officer (at a desk) opens the payment from
the license page, reads what reversing it does and reverses it with a reason; the enterprise is
told by email and its member (in Chinese on a 390 px phone, in English at a desk) sees the payment
struck out and the amount owed again, nothing wider than the screen.
Screenshots: var/screenshots/<language>/reversal-*.png."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail

from licensing import services
from licensing.models import License, Payment
from licensing.roles import TTO_STAFF_GROUP

from .factories import EnterpriseFactory, OfferFactory, StaffProfileFactory
from .test_day_browser import DESK, LOCALES, PHONE, fits, officer_logs_in
from .test_journey_browser import done

SHOTS = settings.BASE_DIR / "var" / "screenshots"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize(("language", "screen"), [("zh-hans", PHONE), ("en", DESK)])
def test_a_payment_recorded_in_error_is_reversed_and_the_enterprise_sees_it_owed_again(
    browser, live_server, language, screen, clock, settings, make_member
):
    settings.SITE_URL = live_server.url
    url, shots = live_server.url, SHOTS / language
    shots.mkdir(parents=True, exist_ok=True)
    chinese = language == "zh-hans"
    clock("2026-01-31")
    profile = StaffProfileFactory(user__username=f"finance-{language}", institution__language=language)
    officer = profile.user
    officer.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    offer = OfferFactory(patent__owner=profile.institution, price=D("100000.00"), installment_count=0)
    enterprise = EnterpriseFactory(language=language)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)
    services.approve_trial(license_id=lic.pk, by=officer, start=dt.date(2026, 1, 31))
    clock("2026-07-31")
    services.purchase(license_id=lic.pk, plan="lump_sum", by=officer)
    payment = services.record_payment(
        license_id=lic.pk,
        amount="100000.00",
        paid_on=dt.date(2026, 7, 31),
        reference="ICBC-20260731-0001",
        idempotency_key="k",
        by=officer,
    )
    assert License.objects.get(pk=lic.pk).state == License.State.PAID_UP

    desk = officer_logs_in(browser.new_context(viewport=DESK, locale=LOCALES[language]), url, officer)
    desk.goto(f"{url}/admin/licensing/license/{lic.pk}/change/")
    desk.click(f"a[href$='/admin/licensing/payment/{payment.pk}/change/']")
    desk.click(f"a[href$='/{payment.pk}/act/reverse/']")
    decision = desk.inner_text("#reversal")
    assert "100,000.00" in decision
    assert ("系统将通过邮件通知企业" if chinese else "The enterprise is told by email") in decision
    desk.fill("#id_reason", "转账被银行退回" if chinese else "The bank returned the transfer")
    desk.screenshot(path=shots / "reversal-01-decision.png", full_page=True)
    desk.click("input[type=submit].default")
    done(desk)
    desk.screenshot(path=shots / "reversal-02-reversed.png", full_page=True)
    assert Payment.objects.get(pk=payment.pk).state == "reversed"
    assert License.objects.get(pk=lic.pk).state == License.State.PURCHASED

    (told,) = [m for m in mail.outbox if m.extra_headers["X-Reminder-Key"].startswith("payment_reversed:")]
    assert ("已被冲回" if chinese else "was reversed") in told.subject

    member = make_member(enterprise)
    phone = browser.new_context(viewport=screen, locale=LOCALES[language]).new_page()
    phone.goto(f"{url}/login/")
    phone.fill("#id_username", member.user.username)
    phone.fill("#id_password", "pw-Secret-123")
    phone.click("form.card button[type=submit]")
    phone.wait_for_url(f"{url}/**")
    phone.goto(f"{url}/licenses/{lic.pk}/")
    payments = phone.inner_text("section.invoices")
    assert ("已冲回" if chinese else "Reversed") in payments
    assert ("转账被银行退回" if chinese else "The bank returned the transfer") in payments
    assert fits(phone)
    phone.screenshot(path=shots / "reversal-03-sme.png", full_page=True)
