"""Issue 22's proof: the 先用后付 journey end to end in Chromium, once in Chinese with the SME on a
390 px phone and once in English with the SME at a 1280 px desk (the officer works at a desk in the
admin both times). The officer composes the offer (royalty shape: a package of two patents, sole,
no entry fee, 2% of net sales reported quarterly, payments deferred 12 months or until the first
revenue report, a CNY 50,000 milestone at 18 months, a CNY 20,000 minimum), previews the SME's page
and publishes it; the SME finds it, signs up, is approved, applies, is approved for a trial, buys
(the confirm page states every obligation with the dates the purchase writes), files a nil report
then a revenue report, and pays from the phone; the officer accepts and confirms. Each hand-off
arrives once, in its reader's language, and its link opens the page where the reader acts.

The clock moves (time-machine, ticking so the browser and the server can talk): the trial starts on
Monday 2026-12-07, the SME buys on 2027-01-11, reports on 2027-04-06 and 2027-07-05, pays on
2027-07-12. Screenshots go to var/screenshots/<language>/journey-*.png (looked at when the pages
change)."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail

from licensing import services, tasks
from licensing.demo.identifiers import make_uscc
from licensing.models import EnterpriseMember, License, Offer, PaymentReport, Reminder, RoyaltyReport
from licensing.roles import TTO_STAFF_GROUP

from .factories import PatentFactory, StaffProfileFactory
from .test_day_browser import DESK, LOCALES, PHONE, fits, words

SHOTS = settings.BASE_DIR / "var" / "screenshots"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
K = Reminder.Kind

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]

# What each party writes, in its own language.
WRITES = {
    "zh-hans": {
        "titles": ("石墨烯柔性应变传感器及其制备方法", "基于石墨烯的可穿戴心率监测电路"),
        "package": "石墨烯柔性传感专利包",
        "territory": "中国大陆",
        "field": "可穿戴设备",
        "milestone": "购买后 18 个月",
        "enterprise": "苏州烯感科技有限公司",
        "use": "用于我司运动手环的心率与应变监测",
    },
    "en": {
        "titles": ("Graphene flexible strain sensor and its preparation", "Graphene-based wearable heart-rate circuit"),
        "package": "Graphene flexible-sensor package",
        "territory": "Mainland China",
        "field": "wearables",
        "milestone": "18 months on",
        "enterprise": "Suzhou Graphene Sensing Co.",
        "use": "Heart-rate and strain sensing in our fitness bands",
    },
}


@pytest.fixture
def clock_to():
    """clock_to("2027-01-11"): 09:00 Beijing time that day, and the clock ticks from there."""
    travellers = []

    def move(day: str):
        while travellers:
            travellers.pop().stop()
        moment = dt.datetime.fromisoformat(day).replace(hour=9, tzinfo=SHANGHAI)
        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        travellers.append(traveller)

    yield move
    while travellers:
        travellers.pop().stop()


@pytest.fixture
def office(language):
    """A TTO that reads its email in `language`, with its payee details, an officer and two patents."""
    profile = StaffProfileFactory(
        user__username=f"officer-{language}",
        user__first_name="Fang",
        user__last_name="Wang",
        institution__name="京华大学" if language == "zh-hans" else "Jinghua University",
        institution__language=language,
        institution__contact_email=f"tto-{language}@jinghua.example",
        institution__contact_name="王芳" if language == "zh-hans" else "Wang Fang",
        institution__contact_phone="010-6275 1234",
        institution__payee_name="京华大学" if language == "zh-hans" else "Jinghua University",
        institution__payee_bank="中国工商银行北京海淀支行" if language == "zh-hans" else "ICBC Haidian Branch",
        institution__payee_account="0200 0045 0900 1234 567",
    )
    profile.user.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    first, second = (
        PatentFactory(owner=profile.institution, title=title, expiry_date=dt.date(2040 + i, 3, 1))
        for i, title in enumerate(WRITES[language]["titles"])
    )
    return {"officer": profile.user, "institution": profile.institution, "patents": (first, second)}


class Mailbox:
    """The hand-offs of the journey, as they arrive (the worker runs eagerly, on commit)."""

    def __init__(self, language):
        self.language = language

    def of(self, kind) -> list:
        return [m for m in mail.outbox if m.extra_headers["X-Reminder-Key"].startswith(f"{kind}:")]

    def arrived(self, kind, to: str, *, count=1):
        """The latest notice of `kind`: there are `count` of them, to `to`, in the reader's
        language; returns it and its link."""
        messages = self.of(kind)
        assert len(messages) == count, f"{kind}: {len(messages)} emails, expected {count}"
        message = messages[-1]
        assert message.to == [to], f"{kind} went to {message.to}"
        opens = "Open it in the admin" if to.startswith("tto-") else "Open it in the portal"
        assert words(self.language, opens) in message.body, f"{kind} is not in {self.language}"
        if self.language == "zh-hans":
            assert re.search("[\u4e00-\u9fff]", message.subject), message.subject
        else:
            assert not re.search("[\u4e00-\u9fff]", message.subject + message.body), message.subject
        (link,) = re.findall(r"https?://\S+", message.body)
        return message, link


# WCAG contrast of an element's text against its parent's background (both opaque here).
CONTRAST = """e => {
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const linear = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = c => c.map(linear).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum(rgb(getComputedStyle(e.parentElement).backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def within_screen(page) -> bool:
    """No field or fieldset sticks out of its box's content (a page can fit the screen while a
    fieldset overflows its card: fieldsets are as wide as their widest option by default)."""
    return page.evaluate(
        "[...document.querySelectorAll('main fieldset, main input, main select')].every(e => {"
        " const box = e.parentElement.closest('.card, fieldset');"
        " if (!box) return e.getBoundingClientRect().right <= window.innerWidth;"
        " const style = getComputedStyle(box);"
        " const inner = box.getBoundingClientRect().right - parseFloat(style.paddingRight)"
        "   - parseFloat(style.borderRightWidth);"
        " return e.getBoundingClientRect().right <= inner + 0.5; })"
    )


def opens(page, link: str, *, selector: str) -> None:
    """The link opens the page where the reader acts (no error, no detour)."""
    response = page.goto(link)
    assert response is not None and response.ok, f"{link}: {response and response.status}"
    assert page.url == link, f"{link} went to {page.url}"
    page.wait_for_selector(selector)


def pick(page, field: str, search: str) -> str:
    """Choose in one of the admin's autocomplete widgets (select2) by typing, as the officer does;
    returns the option's text (the picker says each patent's status and live licenses)."""
    page.click(f"#id_{field} + .select2 .select2-selection")
    page.keyboard.type(search)
    option = page.locator(".select2-results__option", has_text=search).first
    option.wait_for()
    text = option.inner_text()
    option.click()
    return text


def done(page) -> None:
    """The admin says the change is done (or the test says what the page refused)."""
    page.wait_for_selector(".messagelist .success, .errornote, .errorlist")
    errors = page.locator(".errornote, .errorlist")
    assert not errors.count(), " / ".join(errors.all_inner_texts())


def submit_action(page, selector: str) -> None:
    """Open a service action's page from the admin object page and confirm it."""
    page.click(selector)
    page.click("input[type=submit].default")
    done(page)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_pay_later_journey_from_the_composer_to_a_confirmed_royalty(
    browser, live_server, language, office, clock_to, settings
):
    settings.SITE_URL = live_server.url
    settings.SESSION_COOKIE_AGE = 366 * 24 * 3600  # seven months pass; logging in again is not what is tested
    url, writes, inbox = live_server.url, WRITES[language], Mailbox(language)
    shots = SHOTS / language
    shots.mkdir(parents=True, exist_ok=True)
    officer, institution = office["officer"], office["institution"]
    tto, sme_mail = institution.contact_email, f"finance-{language}@sme.example"
    member_mail = f"li-{language}@sme.example"
    first, second = office["patents"]
    clock_to("2026-12-07")

    desk = browser.new_context(locale=LOCALES[language], viewport=DESK).new_page()
    phone_or_desk = PHONE if language == "zh-hans" else DESK
    sme = browser.new_context(locale=LOCALES[language], viewport=phone_or_desk).new_page()

    # -- The officer composes the offer: the shape first, then that shape's terms. --------------------
    desk.goto(f"{url}/admin/login/")
    desk.fill("#id_username", officer.username)
    desk.fill("#id_password", "pw-Secret-123")
    desk.click("input[type=submit]")
    desk.goto(f"{url}/admin/licensing/offer/add/")
    desk.screenshot(path=shots / "journey-01-composer-shape.png", full_page=True)
    contrast = desk.locator("a[href='?shape=royalty']").evaluate(CONTRAST)
    assert contrast >= 4.5, f"the shape's name is hard to read on its header: contrast {contrast:.1f}"
    desk.click("a[href='?shape=royalty']")
    assert not desk.locator("#id_price").count() and not desk.locator("#id_installment_count").count()
    picked = pick(desk, "patent", first.number)
    assert words(language, "no live license") in picked
    pick(desk, "package", second.number)
    desk.fill("#id_name", writes["package"])
    desk.select_option("#id_license_type", "sole")
    desk.fill("#id_territory", writes["territory"])
    desk.fill("#id_field_of_use", writes["field"])
    desk.fill("#id_trial_months", "6")
    desk.fill("#id_trial_fee", "0")
    desk.fill("#id_entry_fee", "0")
    desk.select_option("#id_royalty_base", "net_sales")
    desk.fill("#id_royalty_rates", "2%")
    desk.select_option("#id_reporting_period", "quarter")
    desk.fill("#id_report_due_days", "30")
    desk.fill("#id_royalty_minimum", "20,000")
    desk.fill("#id_deferred_months", "12")
    desk.check("#id_deferred_until_revenue")
    desk.click(".add-row a")  # a milestone: "18 months after purchase" (dated; an event would be days)
    desk.fill("#id_milestones-0-name", writes["milestone"])
    desk.fill("#id_milestones-0-amount", "50,000")
    desk.fill("#id_milestones-0-due_months", "18")
    desk.screenshot(path=shots / "journey-02-composer-royalty.png", full_page=True)
    desk.click("input[name=_continue]")
    done(desk)
    offer = Offer.objects.get(name=writes["package"])
    assert offer.state == Offer.State.DRAFT and offer.price == 0 and offer.royalty_rates == "2%"
    assert {p.pk for p in offer.patents.all()} == {first.pk, second.pk}

    # The SME's page, before publishing: the plain-language terms, no apply button.
    desk.goto(f"{url}/admin/licensing/offer/{offer.pk}/preview/")
    terms = desk.locator("main").inner_text() if desk.locator("main").count() else desk.inner_text("body")
    assert "2%" in terms and "20,000.00" in terms and "50,000.00" in terms and writes["milestone"] in terms
    assert not desk.locator(f"a[href='/patents/{offer.pk}/apply/']").count()
    assert desk.inner_text("main h1") == writes["package"]  # the offer's title, not the lead patent's
    desk.screenshot(path=shots / "journey-03-preview.png", full_page=True)
    desk.goto(f"{url}/admin/licensing/offer/{offer.pk}/change/")
    submit_action(desk, "a.service-action[href$='/act/publish/']")
    offer.refresh_from_db()
    assert offer.state == Offer.State.PUBLISHED

    # -- The SME finds it, signs up from it, and is approved. -----------------------------------------
    sme.goto(f"{url}/")
    sme.fill("input[name=q]", writes["package"])
    sme.click(".filters button[type=submit]")
    sme.click(f"a[href='/patents/{offer.pk}/']")
    sme.screenshot(path=shots / "journey-04-offer.png", full_page=True)
    assert fits(sme), "the offer page is wider than the screen"
    sme.click(f"a[href='/patents/{offer.pk}/apply/']")  # not logged in: the login page, then sign up
    sme.click("a[href^='/signup/']")
    sme.fill("#id_user-username", f"li-{language}")
    sme.fill("#id_user-email", member_mail)
    sme.fill("#id_user-password1", "Tr1al-and-pay!")
    sme.fill("#id_user-password2", "Tr1al-and-pay!")
    sme.fill("#id_user-full_name", "李娜" if language == "zh-hans" else "Li Na")
    sme.check("#id_user-privacy_consent")
    sme.fill("#id_enterprise-name", writes["enterprise"])
    sme.fill("#id_enterprise-uscc", make_uscc(78_000_000 + len(language)))
    sme.select_option("#id_enterprise-industry_section", "C")
    sme.select_option("#id_enterprise-industry", index=1)
    sme.fill("#id_enterprise-employees", "40")
    sme.fill("#id_enterprise-annual_revenue", "1800")
    sme.fill("#id_enterprise-contact_email", sme_mail)
    assert fits(sme), "the sign-up page is wider than the screen"
    assert within_screen(sme), "a field sticks out"
    consent, label = (
        sme.locator("#id_user-privacy_consent").bounding_box(),
        sme.locator("label[for=id_user-privacy_consent]").bounding_box(),
    )
    assert consent["y"] < label["y"] + label["height"] and label["y"] < consent["y"] + consent["height"]  # one line
    sme.screenshot(path=shots / "journey-05-sign-up.png", full_page=True)
    sme.click("form.card button[type=submit]")
    sme.wait_for_load_state()
    assert not sme.locator(".errorlist, .errors").count(), " / ".join(
        sme.locator(".errorlist, .errors").all_inner_texts()
    )
    member = EnterpriseMember.objects.get(user__username=f"li-{language}")
    assert member.enterprise.language == language  # chosen at sign-up (the page's language by default)

    _, link = inbox.arrived(K.MEMBER_TO_APPROVE, tto)
    opens(desk, link, selector="a.service-action[href$='/act/approve/']")
    desk.screenshot(path=shots / "journey-06-member-to-approve.png", full_page=True)
    submit_action(desk, "a.service-action[href$='/act/approve/']")

    _, link = inbox.arrived(K.MEMBER_APPROVED, member_mail)
    opens(sme, link, selector=f"a[href='/patents/{offer.pk}/']")  # the catalogue, where it applies
    sme.click("nav a[href='/login/']")
    sme.fill("#id_username", f"li-{language}")
    sme.fill("#id_password", "Tr1al-and-pay!")
    sme.click("form.card button[type=submit]")
    sme.wait_for_selector("nav a[href='/licenses/']")

    # -- It applies; the officer approves the trial. ---------------------------------------------------
    sme.goto(f"{url}/patents/{offer.pk}/apply/")
    sme.fill("#id_intended_use", writes["use"])
    sme.fill("#id_contact", "138 0000 0000")
    sme.screenshot(path=shots / "journey-07-apply.png", full_page=True)
    sme.click("form.card button[type=submit]")
    lic = License.objects.get(enterprise=member.enterprise)
    assert lic.state == License.State.APPLIED

    _, link = inbox.arrived(K.APPLICATION_RECEIVED, tto)
    opens(desk, link, selector="a.service-action[href$='/act/approve/']")
    submit_action(desk, "a.service-action[href$='/act/approve/']")
    lic.refresh_from_db()
    assert lic.state == License.State.TRIAL and lic.trial_start == dt.date(2026, 12, 7)

    message, link = inbox.arrived(K.TRIAL_STARTED, sme_mail)
    assert lic.trial_end.isoformat() in message.body
    opens(sme, link, selector=f"a[href='/licenses/{lic.pk}/buy/']")

    # -- Five weeks on, it buys: the confirm page states the whole obligation. -------------------------
    clock_to("2027-01-11")
    sme.goto(f"{url}/licenses/{lic.pk}/buy/")
    if not sme.locator("p.commitment").count():  # a choice of plans first; one plan goes straight on
        sme.click("form.card button[type=submit]")
    owed = services.obligations(lic, lic.plans[0], dt.date(2027, 1, 11))
    text = sme.locator("main").inner_text()
    for figure in ("2%", "20,000.00", "50,000.00"):
        assert figure in text, figure
    assert owed.payments_start.isoformat() in text and owed.first_report.due.isoformat() in text
    assert owed.schedule[0].due_date.isoformat() in text
    assert (
        words(language, "By confirming you agree to these terms, to report on time and to pay what falls due.") in text
    )
    assert fits(sme), "the confirm page is wider than the screen"
    sme.screenshot(path=shots / "journey-08-confirm.png", full_page=True)
    sme.click("form.card button[type=submit]")
    sme.wait_for_url(f"{url}/licenses/{lic.pk}/")
    lic.refresh_from_db()
    assert lic.state == License.State.PURCHASED and lic.payments_start == owed.payments_start
    (milestone,) = lic.installments.filter(milestone__isnull=False)
    assert milestone.due_date == owed.schedule[0].due_date
    report = lic.royalty_reports.order_by("period_start").first()
    assert (report.period_start, report.period_end, report.due_date) == (
        owed.first_report.period_start,
        owed.first_report.period_end,
        owed.first_report.due,
    )
    sme.screenshot(path=shots / "journey-09-bought.png", full_page=True)
    message, link = inbox.arrived(K.PURCHASE_CONFIRMED, sme_mail)
    assert milestone.due_date.isoformat() in message.body
    opens(sme, link, selector="main")
    assert report.due_date.isoformat() in sme.locator("main").inner_text()  # the first report, and when

    # -- The first quarter had no sales: a nil report, accepted. ---------------------------------------
    clock_to("2027-04-06")
    sme.goto(f"{url}/licenses/{lic.pk}/")
    sme.click(f"a[href='/licenses/{lic.pk}/reports/{report.pk}/']")
    sme.fill("#id_base_amount", "0")
    sme.click("button[name=action][value=file]")
    sme.wait_for_url(f"{url}/licenses/{lic.pk}/")
    _, link = inbox.arrived(K.REPORT_FILED, tto)
    opens(desk, link, selector="a.service-action[href$='/act/accept/']")
    desk.screenshot(path=shots / "journey-10-nil-report-to-accept.png", full_page=True)
    submit_action(desk, "a.service-action[href$='/act/accept/']")
    _, link = inbox.arrived(K.REPORT_ACCEPTED, sme_mail)
    opens(sme, link, selector="main")
    assert words(language, "Nil report accepted") in sme.locator("main").inner_text()

    # -- The second quarter sold CNY 1,000,000: 2% is 20,000.00, and the deferral ends. --------------
    clock_to("2027-07-05")
    second_report = lic.royalty_reports.order_by("period_start")[1]
    sme.goto(f"{url}/licenses/{lic.pk}/reports/{second_report.pk}/")
    sme.fill("#id_base_amount", "1,000,000")
    sme.click("button[name=action][value=compute]")
    assert "20,000.00" in sme.locator("main").inner_text()
    sme.screenshot(path=shots / "journey-11-revenue-report.png", full_page=True)
    sme.click("button[name=action][value=file]")
    sme.wait_for_url(f"{url}/licenses/{lic.pk}/")
    _, link = inbox.arrived(K.REPORT_FILED, tto, count=2)
    opens(desk, link, selector="a.service-action[href$='/act/accept/']")
    assert "1,000,000.00" in desk.inner_text("#content") and "20,000.00" in desk.inner_text("#content")
    submit_action(desk, "a.service-action[href$='/act/accept/']")
    second_report.refresh_from_db()
    assert second_report.state == RoyaltyReport.State.ACCEPTED and second_report.royalty == D("20000.00")
    _, link = inbox.arrived(K.REPORT_ACCEPTED, sme_mail, count=2)

    # -- A week later the SME pays from its phone; the officer confirms. -------------------------------
    clock_to("2027-07-12")
    pay = browser.new_context(locale=LOCALES[language], viewport=PHONE).new_page()
    pay.goto(link)  # from the email, on the phone
    pay.fill("#id_username", f"li-{language}")
    pay.fill("#id_password", "Tr1al-and-pay!")
    pay.click("form.card button[type=submit]")
    pay.wait_for_load_state()
    pay.goto(f"{url}/licenses/{lic.pk}/payments/new/")
    assert pay.input_value("#id_amount").replace(",", "") == "20000.00"  # what is due now, prefilled
    assert fits(pay), "the payment page is wider than a phone"
    pay.fill("#id_reference", "ICBC-2027-0712-001")
    pay.screenshot(path=shots / "journey-12-pay-phone.png", full_page=True)
    pay.click("form.card button[type=submit]")
    pay.wait_for_url(f"{url}/licenses/{lic.pk}/")
    payment_report = PaymentReport.objects.get(license=lic)
    _, link = inbox.arrived(K.PAYMENT_REPORTED, tto)
    opens(desk, link, selector="a.service-action[href$='/act/confirm/']")
    assert "20,000.00" in desk.inner_text("#content") and "ICBC-2027-0712-001" in desk.inner_text("#content")
    submit_action(desk, "a.service-action[href$='/act/confirm/']")
    payment_report.refresh_from_db()
    assert payment_report.state == PaymentReport.State.CONFIRMED
    message, link = inbox.arrived(K.PAYMENT_CONFIRMED, sme_mail)
    assert "20,000.00" in message.body
    opens(pay, link, selector="main")
    assert fits(pay)
    pay.screenshot(path=shots / "journey-13-paid-phone.png", full_page=True)
    desk.goto(f"{url}/admin/licensing/license/{lic.pk}/change/")
    desk.screenshot(path=shots / "journey-14-admin-license.png", full_page=True)

    # Every hand-off of the journey went out once: the sweeps after it send none again.
    told = {kind: len(inbox.of(kind)) for kind in K.values}
    tasks.sweep()
    tasks.sweep()
    for kind in (
        K.MEMBER_TO_APPROVE,
        K.MEMBER_APPROVED,
        K.APPLICATION_RECEIVED,
        K.TRIAL_STARTED,
        K.PURCHASE_CONFIRMED,
        K.REPORT_FILED,
        K.REPORT_ACCEPTED,
        K.PAYMENT_REPORTED,
        K.PAYMENT_CONFIRMED,
    ):
        assert len(inbox.of(kind)) == told[kind], kind
    assert Reminder.objects.filter(kind=K.REPORT_FILED, state=Reminder.State.SENT).count() == 2
