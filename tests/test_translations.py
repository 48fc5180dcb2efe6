"""Everything a user reads exists in Simplified Chinese, and the committed .mo matches the .po."""

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

PO = Path(settings.BASE_DIR) / "licensing/locale/zh_Hans/LC_MESSAGES/django.po"
ENTRIES = [e for e in polib.pofile(str(PO)) if not e.obsolete]


def chinese(entry) -> str:
    """The translation; Chinese has one plural form."""
    return entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr


def test_every_message_is_translated_and_none_is_fuzzy():
    untranslated = [e.msgid for e in ENTRIES if not chinese(e) or "fuzzy" in e.flags]
    assert untranslated == []


def compiled(entry) -> str:
    if entry.msgid_plural:
        return translation.ngettext(entry.msgid, entry.msgid_plural, 2)
    if entry.msgctxt:  # one English word with two meanings: pgettext tells them apart
        return translation.pgettext(entry.msgctxt, entry.msgid)
    return translation.gettext(entry.msgid)


def test_compiled_catalogue_is_up_to_date_with_the_po_file():
    with translation.override("zh-hans"):
        stale = [e.msgid for e in ENTRIES if compiled(e) != chinese(e)]
    assert stale == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", "专利许可管理：先试用后付费"), ("en", "Patent licensing: try before you pay")],
)
def test_admin_speaks_the_users_language(admin_client, language, expected):
    response = admin_client.get(reverse("admin:index"), headers={"accept-language": language})
    assert expected in response.content.decode()


def test_chinese_is_the_default_language(admin_client):
    response = admin_client.get(reverse("admin:licensing_license_changelist"))
    body = response.content.decode()
    assert "许可" in body and 'lang="zh-hans"' in body


def test_one_english_word_with_two_meanings_gets_two_chinese_words():
    """Issue 15, point 12: a reminder "Pending" is waiting to be sent, a patent "Pending" is
    under examination (审查中)."""
    from licensing.models import Patent, Reminder

    with translation.override("zh-hans"):
        assert (str(Reminder.State.PENDING.label), str(Patent.LegalStatus.PENDING.label)) == ("待发送", "审查中")


def test_the_login_protection_records_read_in_chinese(admin_client):
    page = admin_client.get("/admin/", headers={"accept-language": "zh-hans"}).content.decode()
    assert "登录保护" in page and "登录尝试" in page and "Access attempts" not in page
