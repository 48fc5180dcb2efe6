"""The whole SME journey in a real browser (Playwright driving Debian's Chromium), with the TTO
acting in the admin in the same test: sign up -> approval -> browse -> apply -> trial approved
-> buy with installments -> report a payment with a receipt -> TTO confirms -> paid. Once in
Simplified Chinese and once in English; screenshots of the main pages go to var/screenshots/."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from licensing.demo.identifiers import make_uscc
from licensing.models import EnterpriseMember, License, PaymentReport

from .factories import OfferFactory, StaffProfileFactory

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]

# Page texts written out in each language (so a missing translation fails the zh-hans run);
# state names come from the models' labels in that language.
TEXT = {
    "zh-hans": {"locale": "zh-CN", "signed_up": "感谢注册", "my_licenses": "我的许可"},
    "en": {"locale": "en-US", "signed_up": "Thank you for signing up", "my_licenses": "My licenses"},
}


def label(choice, language) -> str:
    with translation.override(language):
        return str(choice.label)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_sme_journey_from_sign_up_to_a_confirmed_payment(browser, live_server, language, tmp_path):
    text = TEXT[language]
    shots = SHOTS / language
    shots.mkdir(parents=True, exist_ok=True)
    tto = StaffProfileFactory(user__username=f"tto-{language}", user__is_superuser=True)
    offer = OfferFactory(
        patent__owner=tto.institution, patent__title=f"Graphene heat spreader {language}", price=Decimal("90000.00")
    )
    url = live_server.url

    sme = browser.new_context(locale=text["locale"], viewport={"width": 390, "height": 844})  # a phone
    admin = browser.new_context(locale=text["locale"])
    page, desk = sme.new_page(), admin.new_page()

    # Sign up for a new enterprise.
    page.goto(f"{url}/signup/")
    page.fill("#id_user-username", f"li-{language}")
    page.fill("#id_user-email", f"li-{language}@sme.example")
    page.fill("#id_user-password1", "Tr1al-and-pay!")
    page.fill("#id_user-password2", "Tr1al-and-pay!")
    page.fill("#id_user-full_name", "Li Na")
    page.check("#id_user-privacy_consent")  # PIPL: no account without the consent
    page.fill("#id_enterprise-name", f"Suzhou Graphene {language} Co.")
    page.fill("#id_enterprise-uscc", make_uscc(77_000_000 + len(language)))
    page.select_option("#id_enterprise-industry_section", "C")
    page.select_option("#id_enterprise-industry", index=1)
    page.fill("#id_enterprise-employees", "40")
    page.fill("#id_enterprise-annual_revenue", "1800")
    page.fill("#id_enterprise-contact_email", f"finance-{language}@sme.example")
    page.screenshot(path=shots / "01-sign-up.png", full_page=True)
    page.click("form.card button[type=submit]")
    page.wait_for_selector(f"text={text['signed_up']}")
    member = EnterpriseMember.objects.get(user__username=f"li-{language}")
    assert member.state == EnterpriseMember.State.PENDING

    # The TTO approves the new member in the admin.
    desk.goto(f"{url}/admin/login/")
    desk.fill("#id_username", tto.user.username)
    desk.fill("#id_password", "pw-Secret-123")
    desk.click("input[type=submit]")
    desk.goto(f"{url}/admin/licensing/enterprisemember/{member.pk}/change/")
    desk.click("a.service-action[href$='/act/approve/']")
    desk.click("input[type=submit].default")
    member.refresh_from_db()
    assert member.state == EnterpriseMember.State.ACTIVE

    # The SME logs in, finds the patent and applies.
    page.goto(f"{url}/login/")
    page.fill("#id_username", f"li-{language}")
    page.fill("#id_password", "Tr1al-and-pay!")
    page.click("form.card button[type=submit]")
    page.wait_for_selector(f"nav >> text={text['my_licenses']}")
    page.goto(f"{url}/")
    page.fill("input[name=q]", "Graphene heat")
    page.click(".filters button[type=submit]")
    page.screenshot(path=shots / "02-catalogue.png", full_page=True)
    page.click(f"a[href='/patents/{offer.pk}/']")
    page.screenshot(path=shots / "03-patent.png", full_page=True)
    page.click(f"a[href='/patents/{offer.pk}/apply/']")
    page.fill("#id_intended_use", "Heat spreaders for our LED lamps")
    page.fill("#id_contact", "Li Na 138 0000 0000")
    page.click("form.card button[type=submit]")
    lic = License.objects.get(enterprise=member.enterprise)
    assert lic.state == License.State.APPLIED and lic.contact == "Li Na 138 0000 0000"

    # The TTO approves the trial.
    desk.goto(f"{url}/admin/licensing/license/{lic.pk}/change/")
    desk.click("a.service-action[href$='/act/approve/']")
    desk.click("input[type=submit].default")
    lic.refresh_from_db()
    assert lic.state == License.State.TRIAL

    # The SME sees the trial and buys with installments, after seeing the schedule.
    page.goto(f"{url}/licenses/{lic.pk}/")
    assert page.inner_text(".state") == label(License.State.TRIAL, language)
    page.screenshot(path=shots / "04-trial.png", full_page=True)
    page.click(f"a[href='/licenses/{lic.pk}/buy/']")
    page.check("input[name=plan][value=installments]")
    page.click("form.card button[type=submit]")
    assert page.locator("table.schedule tbody tr").count() == 3
    page.screenshot(path=shots / "05-confirm-purchase.png", full_page=True)
    page.click("form.card button[type=submit]")
    page.wait_for_selector("tr.installment")
    lic.refresh_from_db()
    assert lic.state == License.State.PURCHASED and lic.installments.count() == 3
    assert page.inner_text(".state") == label(License.State.PURCHASED, language)

    # It reports the first installment as paid, with a receipt.
    first = lic.installments.order_by("sequence").first()
    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(PNG)
    page.click(f"a[href='/licenses/{lic.pk}/payments/new/']")
    page.fill("#id_amount", str(first.amount))
    page.fill("#id_reference", "ICBC-2026-0001")
    page.set_input_files("#id_receipt", str(receipt))
    page.click("form.card button[type=submit]")
    page.wait_for_selector("tr.report")
    assert label(PaymentReport.State.REPORTED, language) in page.inner_text("tr.report")
    report = PaymentReport.objects.get(license=lic)

    # The TTO confirms it; the SME sees it confirmed and the installment paid.
    desk.goto(f"{url}/admin/licensing/paymentreport/{report.pk}/change/")
    desk.click("a.service-action[href$='/act/confirm/']")
    desk.click("input[type=submit].default")
    report.refresh_from_db()
    assert report.state == PaymentReport.State.CONFIRMED and report.payment.amount == first.amount

    page.reload()
    assert label(PaymentReport.State.CONFIRMED, language) in page.inner_text("tr.report")
    # On the phone a paid installment folds to one line: what it was and that it is paid.
    assert page.locator("tr.installment.paid").count() == 1
    assert f"{first.amount:,.2f}" in page.inner_text("tr.installment.paid td.paid-line")
    assert not page.locator("tr.installment.paid td[data-label]").first.is_visible()
    page.screenshot(path=shots / "06-paid.png", full_page=True)

    # The enterprise keeps its own details: a new finance address, kept in its history.
    page.click("a[href='/enterprise/']")
    page.fill("#id_contact_email", "new-finance@sme.example")
    page.fill("#id_reason", "New finance manager")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("table.list")
    assert "new-finance@sme.example" in page.inner_text("table.list")
    member.enterprise.refresh_from_db()
    assert member.enterprise.contact_email == "new-finance@sme.example"
    page.screenshot(path=shots / "07-enterprise.png", full_page=True)
    sme.close()
    admin.close()
