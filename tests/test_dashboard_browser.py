"""A TTO director in a real browser (Playwright driving Debian's Chromium): log in -> admin index
-> dashboard -> filter by IPC section -> read the conversion chart and table -> download a table
as CSV -> ask for the licenses as XLSX -> its page says it is ready -> download it. Once in
Simplified Chinese and once in English; a screenshot of the dashboard goes to var/screenshots/."""

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse

from licensing.roles import TTO_STAFF_GROUP

from .factories import OfferFactory, StaffProfileFactory, ended_trials, enterprise_of_size

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

TEXT = {
    "zh-hans": {"locale": "zh-CN", "medium": "中型", "ready": "已完成", "log_in": "登录"},
    "en": {"locale": "en-US", "medium": "Medium", "ready": "Ready", "log_in": "Log in"},
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_director_reads_the_dashboard_and_exports_the_book(browser, live_server, language, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    text = TEXT[language]
    staff = StaffProfileFactory(user__username=f"director-{language}")
    staff.user.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    physics = OfferFactory(patent__owner=staff.institution, patent__ipc_class="G06F 1/00")
    chemistry = OfferFactory(patent__owner=staff.institution, patent__ipc_class="C07C 1/00")
    ended_trials(physics, enterprise_of_size("medium"), ended=5, converted=3, ended_on=dt.date(2026, 3, 1))
    ended_trials(chemistry, enterprise_of_size("medium"), ended=5, converted=5, ended_on=dt.date(2026, 3, 1))
    url = live_server.url

    context = browser.new_context(locale=text["locale"], accept_downloads=True)
    page = context.new_page()
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", staff.user.username)
    page.fill("#id_password", "pw-Secret-123")
    page.click("input[type=submit]")
    page.click(f"#reports a[href='{reverse('admin:dashboard')}']")

    assert page.locator("svg[aria-labelledby='chart-conversion-title'] rect").count() == 5  # 4 sizes and all
    size_table = page.locator("#table-conversion_size")
    assert "80.0%" in size_table.locator("tr", has_text=text["medium"]).inner_text()  # 8 of 10

    page.select_option("#id_ipc_section", "G")
    page.click(".dashboard-filters button[type=submit]")
    assert "ipc_section=G" in page.url
    assert "60.0%" in size_table.locator("tr", has_text=text["medium"]).inner_text()  # physics: 3 of 5
    SHOTS.joinpath(language).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / language / "dashboard.png"), full_page=True)

    with page.expect_download() as csv_download:
        size_table.locator("caption a").click()
    csv_text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    assert f"{text['medium']},5,3,60.0,61.4" in csv_text

    page.locator("#exports tr").first.locator("button").click()  # licenses, XLSX
    assert text["ready"] in page.locator("#content-main").inner_text()
    with page.expect_download() as xlsx_download:
        page.locator("#content-main a[href$='/download/']").click()
    sheet = openpyxl.load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes())).active
    assert sheet.max_row == 6  # the header and the five physics licenses: the filter went with it
    context.close()
