"""The rules for text people type (domain/text.py), each refusal with its code and its words (a
form, the admin and a service word the same refusal, so the words are part of the rule), and the
clock's recorded moments (domain/clock.py)."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from licensing.domain import clock
from licensing.domain.text import clean_multi_line, clean_single_line, multi_line, single_line

ONE_LINE = "Enter this on one line, without line breaks or tabs."
CONTROL = "Remove the invisible control characters from this text."
BIDI = "Remove the text-direction override characters from this text."
ZERO_WIDTH = "Remove the invisible characters (zero-width spaces or joiners, byte-order marks) from this text."


def _refusal(validator, value) -> tuple[str, str]:
    with translation.override("en"), pytest.raises(ValidationError) as info:
        validator(value)
    return info.value.code, info.value.messages[0]


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("Suzhou\nGraphene", "line_break", ONE_LINE),
        ("Suzhou\rGraphene", "line_break", ONE_LINE),
        ("Suzhou\tGraphene", "line_break", ONE_LINE),
        ("Suzhou\x00Graphene", "control", CONTROL),
        ("Suzhou\x1bGraphene", "control", CONTROL),
        ("Suzhou\u2028Graphene", "control", CONTROL),
        ("Suzhou\u2029Graphene", "control", CONTROL),
        ("Suzhou\ue000Graphene", "control", CONTROL),
        ("Suzhou\ud800Graphene", "control", CONTROL),  # a lone surrogate: JSON's "\\ud800", which no database stores
        ("Suzhou\u202eGraphene", "bidi_override", BIDI),
        ("Suzhou\u2066Graphene", "bidi_override", BIDI),
        ("Suzhou\u200bGraphene", "invisible_inside", ZERO_WIDTH),
        ("\ufeff", "invisible_inside", ZERO_WIDTH),
        ("   ", "invisible", "This text has no visible characters."),
    ],
)
def test_one_line_text_refuses_with_its_code_and_words(value, code, words):
    assert _refusal(single_line, value) == (code, words)


@pytest.mark.parametrize("value", ["", None, 12, "苏州石墨烯 Ltd.", "ZL 2017 1 0601862.3"])
def test_one_line_text_lets_visible_text_and_non_text_through(value):
    assert single_line(value) is None


@pytest.mark.parametrize("value", ["Line one\nline two", "Col\tumn", "Line one\r\nline two", "石墨烯\u200b膜"])
def test_free_text_keeps_its_line_breaks_tabs_and_joiners(value):
    assert multi_line(value) is None


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("a\x00b", "control", CONTROL),
        ("a\u2028b", "control", CONTROL),
        ("a\udfffb", "control", CONTROL),
        ("a\u202eb", "bidi_override", BIDI),
        ("\n\u200b\n", "invisible", "This text has no visible characters."),
    ],
)
def test_free_text_still_refuses_what_hides_its_content(value, code, words):
    assert _refusal(multi_line, value) == (code, words)


def test_a_service_gets_text_stripped_and_a_refusal_naming_its_field():
    assert clean_single_line("  REF-1  ", "reference", max_length=5) == "REF-1"
    assert clean_single_line(None, "reference", max_length=5) == ""
    assert clean_single_line("", "reference", max_length=5) == ""  # not required: empty is fine
    assert clean_multi_line(" a\nb ", "reason", max_length=5) == "a\nb"
    refusals = [
        (clean_single_line, "REF-12", {}, {"reference": ["Use at most 5 characters (this has 6)."]}),
        (clean_multi_line, "  ", {"required": True}, {"reason": ["This field is required."]}),
        (clean_single_line, "a\nb", {}, {"reference": [ONE_LINE]}),
        (clean_multi_line, "a\u202eb", {}, {"reason": [BIDI]}),
    ]
    with translation.override("en"):
        for clean, value, options, said in refusals:
            field = next(iter(said))
            with pytest.raises(ValidationError) as refused:
                clean(value, field, max_length=5, **options)
            assert refused.value.message_dict == said


# -- the clock's moments -------------------------------------------------------------------------

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_a_replayed_event_is_recorded_on_its_day_in_office_hours_moving_with_the_wall_clock():
    wall = dt.datetime(2026, 12, 6, 10, 30, 15, 500, tzinfo=SHANGHAI)
    with time_machine.travel(wall, tick=False):
        assert clock.now() == wall  # not replaying: the wall clock
        with clock.replaying(dt.date(2026, 3, 2)):
            moment = clock.now()
    # 09:00 + (30 min 15 s) x 8 = 13:02:00, with the wall clock's microseconds
    assert timezone.localtime(moment).replace(tzinfo=None) == dt.datetime(2026, 3, 2, 13, 2, 0, 500)
    assert moment.utcoffset() == dt.timedelta(hours=8)


def test_a_replayed_moment_is_made_of_one_reading_of_the_wall_clock(monkeypatch):
    """Mutation run 13: reading the clock a second time (`localtime(None)`) went unnoticed while the
    travelled clock stood still; here the wall clock reads one moment and time stands at another."""
    read = dt.datetime(2026, 12, 6, 10, 30, 15, 500, tzinfo=SHANGHAI)
    monkeypatch.setattr(clock, "wall_clock", lambda: read)
    standing = dt.datetime(2026, 12, 6, 16, 45, 59, 999, tzinfo=SHANGHAI)
    with time_machine.travel(standing, tick=False), clock.replaying(dt.date(2026, 3, 2)):
        moment = clock.now()
    assert timezone.localtime(moment).replace(tzinfo=None) == dt.datetime(2026, 3, 2, 13, 2, 0, 500)


def test_a_story_is_never_replayed_after_today():
    wall = dt.datetime(2026, 12, 6, 10, 0, tzinfo=SHANGHAI)
    with time_machine.travel(wall, tick=False), clock.replaying(dt.date(2027, 1, 1)):
        assert timezone.localtime(clock.now()).date() == dt.date(2026, 12, 6)


def test_the_local_date_of_a_moment_is_its_business_zone_date_not_the_wall_clocks():
    with time_machine.travel(dt.datetime(2026, 12, 6, 12, 0, tzinfo=SHANGHAI), tick=False):
        late_utc = dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)  # 01:00 on 2 March in Shanghai
        assert clock.local_date(late_utc) == dt.date(2026, 3, 2)


def test_a_required_single_line_refuses_an_empty_or_blank_value():
    """Mutation run 12: `required` not passed on by clean_single_line went unnoticed."""
    import pytest
    from django.core.exceptions import ValidationError

    from licensing.domain.text import clean_single_line

    for value in ("", "   ", None):
        with pytest.raises(ValidationError) as refused:
            clean_single_line(value, "name", max_length=10, required=True)
        assert refused.value.message_dict == {"name": ["This field is required."]}
    assert clean_single_line("", "name", max_length=10) == ""
