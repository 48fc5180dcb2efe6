"""A day at the SME and at the TTO in a real browser (issue 15): the SME sees its next payment and
where to pay, on a phone and at 1280 px, and reports a transfer; the officer finds it in the work
queue on the admin index, confirms it and is told the amount and what is left. The lists show
what matters at 1280 px, the dashboard fits a phone, each page in both languages. Screenshots go
to var/screenshots/<language>/day-*.png (looked at when the pages change)."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone, translation

from licensing import selectors, services
from licensing.models import EnterpriseMember, License, LicenseType, PaymentReport
from licensing.roles import TTO_STAFF_GROUP
from licensing.templatetags.licensing_admin import WORK

from .factories import EnterpriseFactory, OfferFactory, StaffProfileFactory, UserFactory

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PHONE, DESK = {"width": 390, "height": 844}, {"width": 1280, "height": 800}
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


def words(language, text) -> str:
    """A message (or a lazy one) as a reader of `language` sees it."""
    with translation.override(language):
        return translation.gettext(text) if isinstance(text, str) else str(text)


def fits(page) -> bool:
    """Nothing wider than the screen: no sideways scrolling of the whole page."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def in_view(page, selector) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


def officer_logs_in(context, url, officer):
    page = context.new_page()
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", "pw-Secret-123")
    page.click("input[type=submit]")
    return page


@pytest.fixture
def book(language):
    """A TTO with payee details and an officer; an SME member with a license bought 40 days ago,
    in the fifth month of its trial."""
    profile = StaffProfileFactory(
        user__username=f"officer-{language}",
        institution__name=f"Jinghua University {language}",
        institution__contact_name="Wang Fang",
        institution__contact_phone="010-6275 1234",
        institution__payee_name="Jinghua University",
        institution__payee_bank="ICBC Haidian Branch",
        institution__payee_account="0200 0045 0900 1234 567",
    )
    officer = profile.user
    officer.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    offer = OfferFactory(patent__owner=profile.institution, price=Decimal("90000.00"))
    enterprise = EnterpriseFactory(name=f"Suzhou Graphene {language}", contact_email="li@sme.example")
    user = UserFactory(is_staff=False, username=f"li-{language}")
    EnterpriseMember.objects.create(user=user, enterprise=enterprise, full_name="Li Na")
    EnterpriseMember.objects.filter(user=user).update(state=EnterpriseMember.State.ACTIVE)
    today = timezone.localdate()
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise, contact="Li Na 138 0000 0000")
    services.approve_trial(license_id=lic.pk, by=officer, start=today - dt.timedelta(days=170))
    lic = services.purchase(license_id=lic.pk, plan="installments", by=officer, on=today - dt.timedelta(days=40))
    return {"officer": officer, "license": lic, "institution": profile.institution}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_day_at_the_sme_and_at_the_tto(browser, live_server, language, book, tmp_path):
    shots = SHOTS / language
    shots.mkdir(parents=True, exist_ok=True)
    url, lic = live_server.url, book["license"]
    summary = selectors.balance_summary(lic, timezone.localdate())
    next_amount = f"{summary['next_due_amount']:,.2f}"

    # The SME, on a phone and at a desk: its next payment, and where to pay it.
    for name, viewport in (("phone", PHONE), ("desk", DESK)):
        sme = browser.new_context(locale=LOCALES[language], viewport=viewport)
        page = sme.new_page()
        page.goto(f"{url}/login/")
        page.fill("#id_username", f"li-{language}")
        page.fill("#id_password", "pw-Secret-123")
        page.click("form.card button[type=submit]")
        page.goto(f"{url}/")  # the catalogue: how it works, and each card's license type
        assert page.locator("details.how-it-works").count() == 1 and fits(page)
        assert words(language, LicenseType.ORDINARY.label) in page.inner_text("ul.cards")
        assert page.locator("link[rel=icon]").count() == 1
        page.goto(f"{url}/licenses/")
        assert next_amount in page.inner_text(".next-payment") and fits(page)
        page.screenshot(path=shots / f"day-01-my-licenses-{name}.png", full_page=True)
        page.goto(f"{url}/licenses/{lic.pk}/")
        assert next_amount in page.inner_text("dd.next-payment")
        payee = page.inner_text(".payee")
        assert "0200 0045 0900 1234 567" in payee and "ICBC Haidian Branch" in payee and "Wang Fang" in payee
        assert fits(page)
        page.screenshot(path=shots / f"day-02-license-{name}.png", full_page=True)
        if name == "phone":  # it reports the transfer from its phone, the payee details in view
            page.goto(f"{url}/licenses/{lic.pk}/payments/new/")
            assert "0200 0045 0900 1234 567" in page.inner_text(".payee")
            receipt = tmp_path / "receipt.png"
            receipt.write_bytes(PNG)
            page.fill("#id_amount", str(summary["next_due_amount"]))
            page.fill("#id_reference", "ICBC-2026-0042")
            page.set_input_files("#id_receipt", str(receipt))
            page.screenshot(path=shots / "day-03-report-payment-phone.png", full_page=True)
            page.click("form.card button[type=submit]")
            page.wait_for_selector("tr.report")
        sme.close()
    report = PaymentReport.objects.get(license=lic)

    # The officer at 1280 px: the work queue leads to the report, the report to a confirmed payment.
    desk = browser.new_context(locale=LOCALES[language], viewport=DESK)
    tto = officer_logs_in(desk, url, book["officer"])
    task = tto.locator("#task-payment_reports")
    assert words(language, WORK["payment_reports"][0]) in task.inner_text() and "1" in task.inner_text()
    tto.screenshot(path=shots / "day-04-work-queue-desk.png", full_page=True)
    task.locator("td.count a").click()
    tto.click(f"#result_list a[href*='/paymentreport/{report.pk}/change/']")
    tto.click("a.service-action[href$='/act/confirm/']")
    assert lic.enterprise.name.lower() in tto.inner_text(".license-summary").lower()  # what it is about
    tto.screenshot(path=shots / "day-05-confirm-desk.png", full_page=True)
    tto.click("input[type=submit].default")
    said = tto.inner_text("ul.messagelist")
    assert next_amount in said and "ICBC-2026-0042" in said
    report.refresh_from_db()
    assert report.state == PaymentReport.State.CONFIRMED
    tto.screenshot(path=shots / "day-06-confirmed-desk.png", full_page=True)
    tto.goto(f"{url}/admin/")  # the confirmation is the first of the officer's recent changes
    assert "ICBC-2026-0042" in tto.inner_text("#recent-actions-module li >> nth=0")
    assert tto.request.get(f"{url}/favicon.ico").ok

    # The license list shows the next due date and the amount outstanding without scrolling.
    tto.goto(f"{url}/admin/licensing/license/")
    assert in_view(tto, "th.column-next_due") and in_view(tto, "th.column-outstanding")
    tto.screenshot(path=shots / "day-07-license-list-desk.png", full_page=True)
    tto.goto(f"{url}/admin/licensing/license/{lic.pk}/change/")
    assert tto.inner_text("h1") == words(language, "View %s") % words(language, License._meta.verbose_name)
    tto.screenshot(path=shots / "day-08-license-page-desk.png", full_page=True)
    desk.close()

    # On a phone, the officer's index and the dashboard fit the screen.
    phone = browser.new_context(locale=LOCALES[language], viewport=PHONE)
    tto = officer_logs_in(phone, url, book["officer"])
    tto.wait_for_selector("#work-queue")
    assert fits(tto)  # the index's sentences wrap instead of widening the page
    tto.screenshot(path=shots / "day-09-work-queue-phone.png", full_page=True)
    tto.goto(f"{url}/admin/dashboard/")
    assert tto.locator(".table-scroll").count() > 5
    assert tto.locator("#chart-collections-title ~ g.y-axis text").count() >= 2  # a value axis
    csv_link = tto.locator("#table-pipeline caption a.download")
    colours = csv_link.evaluate(
        "a => [getComputedStyle(a).backgroundColor, getComputedStyle(a.closest('caption')).backgroundColor]"
    )
    assert colours[0] != colours[1]  # the link stands out from the caption's band
    tto.screenshot(path=shots / "day-10-dashboard-phone.png", full_page=True)
    overflowing = tto.evaluate(
        "[...document.querySelectorAll('.dashboard .row')].filter(r => r.scrollWidth > r.clientWidth + 1).length"
    )
    assert overflowing == 0  # each wide table scrolls in its own box
    phone.close()
