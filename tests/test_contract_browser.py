"""Issue 23's contract walked in Chromium, in Chinese with the SME on a 390 px phone and in English
with the SME at a 1280 px desk (the officer at a desk both times): the officer issues the contract
from the license page; the SME is told, opens its license from the email, downloads the PDF (read
back), signs, uploads its copy; the officer is told, records the signing and the day the contract
takes effect; the SME is told, and its page says the contract is signed and when the TTO files the
recordal. Screenshots: var/screenshots/<language>/contract-*.png."""

import datetime as dt
import re
from decimal import Decimal as D
from pathlib import Path

import pypdf
import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from licensing import services
from licensing.models import Contract, EnterpriseMember, Reminder
from licensing.roles import TTO_STAFF_GROUP

from .factories import EnterpriseFactory, OfferFactory, StaffProfileFactory, UserFactory
from .test_day_browser import DESK, LOCALES, PHONE, fits, words
from .test_journey_browser import Mailbox, done, opens

SHOTS = settings.BASE_DIR / "var" / "screenshots"
K = Reminder.Kind
SIGNED_SCAN = b"%PDF-1.4\n% the signed and sealed pages, scanned\n%%EOF\n"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_contract_from_issue_to_signature(browser, live_server, language, clock, settings, tmp_path):
    settings.SITE_URL = live_server.url
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    url, inbox, shots = live_server.url, Mailbox(language), SHOTS / language
    shots.mkdir(parents=True, exist_ok=True)
    chinese = language == "zh-hans"
    profile = StaffProfileFactory(
        user__username=f"officer-{language}",
        institution__name="京华大学" if chinese else "Jinghua University",
        institution__language=language,
        institution__contact_email=f"tto-{language}@jinghua.example",
        institution__contact_phone="010-6275 1234",
        institution__contract_prefix="JH",
    )
    officer, institution = profile.user, profile.institution
    officer.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    enterprise = EnterpriseFactory(
        name="苏州烯感科技有限公司" if chinese else "Suzhou Graphene Sensing Co.",
        language=language,
        contact_email=f"finance-{language}@sme.example",
    )
    member = EnterpriseMember.objects.create(
        user=UserFactory(is_staff=False, username=f"li-{language}"), enterprise=enterprise, full_name="Li Na"
    )
    EnterpriseMember.objects.filter(pk=member.pk).update(state=EnterpriseMember.State.ACTIVE)
    offer = OfferFactory(
        patent__owner=institution,
        patent__title="石墨烯柔性应变传感器" if chinese else "Graphene flexible strain sensor",
        price=D("120000.00"),
        installment_count=3,
        first_due_months=6,
    )
    clock("2026-06-01")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)
    services.approve_trial(license_id=lic.pk, by=officer, start=dt.date(2026, 6, 1))
    clock("2026-12-01")
    services.purchase(license_id=lic.pk, plan="installments", by=officer)
    clock.stop()  # the browser and the server talk on the real clock from here
    sme_mail, tto = enterprise.contact_email, institution.contact_email

    desk = browser.new_context(locale=LOCALES[language], viewport=DESK, accept_downloads=True).new_page()
    sme = browser.new_context(
        locale=LOCALES[language], viewport=PHONE if chinese else DESK, accept_downloads=True
    ).new_page()

    # -- The officer issues the contract from the license page. ----------------------------------------
    desk.goto(f"{url}/admin/login/")
    desk.fill("#id_username", officer.username)
    desk.fill("#id_password", "pw-Secret-123")
    desk.click("input[type=submit]")
    desk.goto(f"{url}/admin/licensing/license/{lic.pk}/change/")
    desk.click("a.service-action[href$='/act/issue_contract/']")
    desk.click("input[type=submit].default")
    done(desk)
    contract = Contract.objects.get(license=lic)
    assert re.fullmatch(r"JH-\d{4}-0001", contract.number)
    assert contract.number in desk.inner_text("#content")
    desk.screenshot(path=shots / "contract-01-issued.png", full_page=True)

    # -- The SME is told, opens its license, downloads the contract and reads it. ----------------------
    message, link = inbox.arrived(K.CONTRACT_ISSUED, sme_mail)
    assert contract.number in message.subject
    sme.goto(f"{url}/login/?next=/licenses/{lic.pk}/")
    sme.fill("#id_username", f"li-{language}")
    sme.fill("#id_password", "pw-Secret-123")
    sme.click("form.card button[type=submit]")
    opens(sme, link, selector="section.contract")
    section = sme.locator("section.contract").inner_text()
    assert contract.number in section and words(language, "Upload your signed copy") in section
    assert words(language, "contract not signed yet") in sme.inner_text("main p:has(.state)")
    assert fits(sme), "the license page with its contract is wider than the screen"
    sme.screenshot(path=shots / "contract-02-to-sign.png", full_page=True)
    with sme.expect_download() as download:
        sme.click(f"section.contract a[href='/licenses/{lic.pk}/contract/1/']")
    assert download.value.suggested_filename == f"{contract.number}-v1.pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(download.value.path()).pages)
    text = re.sub(r"\s+", "", text)
    assert "专利实施许可合同" in text and contract.number in text and "人民币肆万元整" in text
    assert re.sub(r"\s+", "", offer.patent.title) in text

    # -- It signs and uploads its copy (a PNG is refused first, in its language). ---------------------
    sme.click(f"a[href='/licenses/{lic.pk}/contract/signed/']")
    refused = tmp_path / "scan.png"
    refused.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    sme.set_input_files("#id_copy", str(refused))
    sme.click("form.card button[type=submit]")
    assert words(language, "Upload the signed contract as a PDF file (a scan of every page).") in sme.inner_text("main")
    scan = tmp_path / "signed.pdf"
    scan.write_bytes(SIGNED_SCAN)
    sme.set_input_files("#id_copy", str(scan))
    assert fits(sme), "the upload page is wider than the screen"
    sme.screenshot(path=shots / "contract-03-upload.png", full_page=True)
    sme.click("form.card button[type=submit]")
    sme.wait_for_url(f"{url}/licenses/{lic.pk}/")
    contract.refresh_from_db()
    assert contract.licensee_copy

    # -- The officer is told, opens the contract, records the signing. ---------------------------------
    message, link = inbox.arrived(K.CONTRACT_SIGNED_BY_LICENSEE, tto)
    opens(desk, link, selector="a.service-action[href$='/act/record_signing/']")
    desk.click("a.service-action[href$='/act/record_signing/']")
    desk.set_input_files("#id_signed_copy", str(scan))
    today = dt.date.today().isoformat()
    desk.fill("#id_signed_on", today)
    desk.fill("#id_effective_on", today)
    desk.screenshot(path=shots / "contract-04-record-signing.png", full_page=True)
    desk.click("input[type=submit].default")
    done(desk)
    contract.refresh_from_db()
    lic.refresh_from_db()
    assert contract.state == Contract.State.SIGNED and lic.takes_effect_on == dt.date.today()
    assert contract.recordals.get().due_by > dt.date.today()

    # -- The SME is told; its page says the contract is signed, and when the recordal is filed. -------
    message, link = inbox.arrived(K.CONTRACT_SIGNED, sme_mail)
    assert contract.number in message.subject and today in message.body
    opens(sme, link, selector="section.contract")
    section = sme.locator("section.contract").inner_text()
    assert contract.recordals.get().due_by.isoformat() in section
    assert words(language, "contract not signed yet") not in sme.inner_text("main")
    assert sme.locator(f"section.contract a[href='/licenses/{lic.pk}/contract/copy/signed_copy/']").count()
    assert fits(sme)
    sme.screenshot(path=shots / "contract-05-signed.png", full_page=True)

    # -- A payment comes in; the SME asks for its invoice; the finance office records it. -------------
    payment = services.record_payment(
        license_id=lic.pk,
        amount=D("40000.00"),
        paid_on=dt.date.today(),
        reference="ICBC-1",
        idempotency_key="i1",
        by=officer,
    )
    sme.goto(f"{url}/licenses/{lic.pk}/")
    sme.click(f"a[href='/licenses/{lic.pk}/payments/{payment.pk}/invoice/']")
    assert sme.input_value("#id_taxpayer_number") == enterprise.uscc  # prefilled from the enterprise
    assert words(language, "VAT applies: the contract is not registered as a technology contract.") in sme.inner_text(
        "main"
    )
    sme.fill("#id_email", f"fapiao-{language}@sme.example")
    assert fits(sme), "the invoice request is wider than the screen"
    sme.screenshot(path=shots / "contract-06-ask-invoice.png", full_page=True)
    sme.click("form.card button[type=submit]")
    sme.wait_for_url(f"{url}/licenses/{lic.pk}/")
    message, link = inbox.arrived(K.INVOICE_REQUESTED, tto)
    opens(desk, link, selector="a.service-action[href$='/act/record/']")
    desk.click("a.service-action[href$='/act/record/']")
    desk.fill("#id_invoice_number", "26327000000012345678")
    desk.fill("#id_issued_on", today)
    desk.select_option("#id_kind", "ordinary")
    desk.fill("#id_vat_rate", "6")
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.7\n% the tax system's invoice\n%%EOF\n")
    desk.set_input_files("#id_document", str(invoice))
    desk.screenshot(path=shots / "contract-07-record-invoice.png", full_page=True)
    desk.click("input[type=submit].default")
    done(desk)
    message, link = inbox.arrived(K.INVOICE_ISSUED, sme_mail)
    opens(sme, link, selector="section.invoices")
    assert "26327000000012345678" in sme.inner_text("section.invoices")
    assert fits(sme)
    sme.screenshot(path=shots / "contract-08-invoice.png", full_page=True)
    with sme.expect_download() as download:
        sme.click("section.invoices a:has-text('26327000000012345678')")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
