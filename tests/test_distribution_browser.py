"""Issue 24 walked in Chromium: the finance officer (at a desk) records a patent's inventors and
their shares in the admin form, sees what is owed to each after a payment, prepares the payout
batch, downloads it and marks it paid, and invites an inventor; the inventor opens the invitation
(in Chinese on a 390 px phone, in English at a desk), chooses a password and reads their money and
their statement, nothing wider than the screen. Screenshots: var/screenshots/<language>/distribution-*.png."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail

from licensing import services
from licensing.models import Inventor, InventorShareSet, PayoutBatch
from licensing.roles import TTO_STAFF_GROUP

from .factories import EnterpriseFactory, OfferFactory, StaffProfileFactory
from .test_day_browser import DESK, LOCALES, PHONE, fits
from .test_journey_browser import done, pick

SHOTS = settings.BASE_DIR / "var" / "screenshots"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize(("language", "screen"), [("zh-hans", PHONE), ("en", DESK)])
def test_from_the_inventors_shares_to_the_inventors_statement(browser, live_server, language, screen, clock, settings):
    settings.SITE_URL = live_server.url
    url, shots = live_server.url, SHOTS / language
    shots.mkdir(parents=True, exist_ok=True)
    chinese = language == "zh-hans"
    clock("2026-01-31")
    profile = StaffProfileFactory(
        user__username=f"finance-{language}",
        institution__name="京华大学" if chinese else "Jinghua University",
        institution__language=language,
    )
    officer, institution = profile.user, profile.institution
    officer.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    offer = OfferFactory(patent__owner=institution, price=D("100000.00"), installment_count=0)
    li = Inventor.objects.create(
        institution=institution,
        name="李伟" if chinese else "Li Wei",
        college="化学学院" if chinese else "Chemistry",
        staff_number="T1001",
        email=f"li-{language}@jinghua.example",
    )
    wang = Inventor.objects.create(
        institution=institution,
        name="王芳" if chinese else "Wang Fang",
        college="物理学院" if chinese else "Physics",
        staff_number="T1002",
    )
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=officer, start=dt.date(2026, 1, 31))
    clock("2026-07-31")
    services.purchase(license_id=lic.pk, plan="lump_sum", by=officer)

    desk = browser.new_context(viewport=DESK, locale=LOCALES[language]).new_page()
    desk.goto(f"{url}/admin/login/")
    desk.fill("#id_username", officer.username)
    desk.fill("#id_password", "pw-Secret-123")
    desk.click("input[type=submit]")

    # The inventors' shares, in the admin form: 60/40 from the start of the year.
    desk.goto(f"{url}/admin/licensing/inventorshareset/add/")
    pick(desk, "patent", offer.patent.number)
    desk.fill("#id_effective_from", "2026-01-01")
    desk.select_option("#id_inventor_1", str(li.pk))
    desk.fill("#id_share_1", "0.6")
    desk.select_option("#id_inventor_2", str(wang.pk))
    desk.fill("#id_share_2", "0.4")
    desk.screenshot(path=shots / "distribution-01-shares.png", full_page=True)
    assert desk.inner_text("label[for=id_inventor_1]").startswith("发明人 1" if chinese else "Inventor 1")
    desk.click("input[name=_save]")
    done(desk)
    assert InventorShareSet.objects.get().shares.count() == 2

    services.record_payment(
        license_id=lic.pk,
        amount="100000.00",
        paid_on=dt.date(2026, 7, 31),
        reference="B-1",
        idempotency_key="k",
        by=officer,
    )
    # What is owed: the law's default (no policy), VAT 6% inside the amount: 94,339.62 net of it,
    # half to the team: 47,169.81, of which 28,301.89 and 18,867.92.
    desk.goto(f"{url}/admin/licensing/payoutbatch/owed/?year=2026")
    text = desk.inner_text("#content-main")
    assert "28,301.89" in text and "18,867.92" in text
    desk.screenshot(path=shots / "distribution-02-owed.png", full_page=True)
    desk.click("a[href$='/payoutbatch/add/']")
    desk.select_option("#id_payee", "inventors")
    desk.fill("#id_up_to", "2026-07-31")
    desk.click("input[name=_save]")
    done(desk)
    batch = PayoutBatch.objects.get()
    assert batch.total == D("47169.81")
    desk.goto(f"{url}/admin/licensing/payoutbatch/{batch.pk}/change/")
    with desk.expect_download() as download:
        desk.click("a[href$='payout.xlsx']")
    assert download.value.suggested_filename.endswith(".xlsx")
    desk.click(f"a[href$='/{batch.pk}/act/mark_paid/']")
    desk.fill("#id_reference", "PAYROLL-2026-07")
    desk.click("input[type=submit].default")
    done(desk)
    desk.screenshot(path=shots / "distribution-03-paid.png", full_page=True)
    payees = desk.inner_text(".inline-group")
    assert ("李伟" if chinese else "Li Wei") in payees and "28,301.89" in payees  # who the batch paid, and how much
    batch.refresh_from_db()
    assert batch.state == "paid"

    # The officer invites Li Wei from the inventors' list (a bulk action).
    desk.goto(f"{url}/admin/licensing/inventor/")
    desk.check(f"input[name=_selected_action][value='{li.pk}']")
    desk.select_option("select[name=action]", "invite")
    desk.click("button[name=index]")
    done(desk)
    invitation = next(m for m in mail.outbox if m.to == [li.email])
    assert ("查看您的专利许可收益" if chinese else "see what your patents' licences earn you") in invitation.subject
    link = re.search(r"https?://\S+/password/reset/\S+", invitation.body).group(0)

    phone = browser.new_context(viewport=screen, locale=LOCALES[language]).new_page()
    phone.goto(link)
    phone.fill("input[name=new_password1]", "Pat-ent 2026!")
    phone.fill("input[name=new_password2]", "Pat-ent 2026!")
    phone.click("main button[type=submit], main input[type=submit]")
    phone.wait_for_url(f"{url}/password/reset/done/")
    phone.goto(f"{url}/login/")
    phone.fill("#id_username", Inventor.objects.get(pk=li.pk).user.username)
    phone.fill("#id_password", "Pat-ent 2026!")
    phone.click("main button[type=submit], main input[type=submit]")
    phone.wait_for_url(f"{url}/inventor/")
    text = phone.inner_text("main")
    assert "28,301.89" in text and ("60%" in text) and ("王芳" if chinese else "Wang Fang") not in text
    assert fits(phone)
    phone.screenshot(path=shots / "distribution-04-inventor.png", full_page=True)
    phone.click("a[href$='/inventor/statements/2026/']")
    phone.wait_for_url(f"{url}/inventor/statements/2026/")  # loaded, its stylesheet applied, before measuring
    text = phone.inner_text("main")
    assert "28,301.89" in text and ("2026年已向您支付" if chinese else "Paid to you in 2026") in text
    assert fits(phone)
    assert phone.evaluate("document.querySelector('table.licenses').getBoundingClientRect().right <= window.innerWidth")
    phone.screenshot(path=shots / "distribution-05-statement.png", full_page=True)
    with phone.expect_download() as download:
        phone.click("a[href$='/inventor/statements/2026.pdf']")
    assert download.value.suggested_filename == "statement-2026.pdf"
