import pytest
from django.core.exceptions import ValidationError

from licensing.demo.identifiers import make_uscc
from licensing.domain.identifiers import normalize_patent_number, normalize_uscc, patent_type_of


@pytest.mark.parametrize(
    "written",
    ["ZL 2017 1 0601862.3", "CN201710601862.3", "201710601862.3", "2017106018623", "zl201710601862.3"],
)
def test_common_written_forms_normalise_to_one(written):
    assert normalize_patent_number(written) == "201710601862.3"


def test_wrong_check_digit_is_refused_with_a_clear_message():
    with pytest.raises(ValidationError) as excinfo:
        normalize_patent_number("ZL 2017 1 0601862.4")
    assert excinfo.value.code == "check_digit"
    assert "check digit" in excinfo.value.messages[0]


def test_eight_digit_numbers_before_2003_use_weights_two_to_nine():
    # 93 1 00001: 9*2+3*3+1*4+0+0+0+0+1*9 = 40, 40 % 11 = 7
    assert normalize_patent_number("ZL 93 1 00001.7") == "93100001.7"
    assert patent_type_of("93100001.7") == "invention"


def test_remainder_ten_is_written_x():
    # 2020 2 0000005: 2*2+0+2*4+0+2*6+0+0+0+0+0+0+5*5 = 49 % 11 = 5 -> find one giving 10
    from licensing.domain.identifiers import patent_check_digit

    digits = next(f"2020200{n:05d}" for n in range(100) if patent_check_digit(f"2020200{n:05d}") == "X")
    assert normalize_patent_number(f"ZL {digits}.x") == f"{digits}.X"


@pytest.mark.parametrize(
    ("type_digit", "kind"),
    [("1", "invention"), ("2", "utility_model"), ("3", "design"), ("8", "invention"), ("9", "utility_model")],
)
def test_type_digit_gives_the_patent_type(type_digit, kind):
    from licensing.demo.identifiers import make_patent_number

    assert patent_type_of(make_patent_number(2021, 1234, type_digit)) == kind


@pytest.mark.parametrize("bad", ["", "ZL 2017", "201710601862", "ABCDEFGHIJKLM", "2017 4 0601862.3"])
def test_malformed_numbers_are_refused(bad):
    with pytest.raises(ValidationError):
        normalize_patent_number(bad)


def test_uscc_with_correct_check_character_is_accepted():
    assert normalize_uscc("91110108551385082Q") == "91110108551385082Q"
    assert normalize_uscc(make_uscc(12345678)) == make_uscc(12345678)


def test_uscc_with_wrong_check_character_is_refused():
    with pytest.raises(ValidationError, match="Unified Social Credit Code"):
        normalize_uscc("91110108551385082A")


def _with_check(digits: str) -> str:
    from licensing.domain.identifiers import patent_check_digit

    return f"{digits}.{patent_check_digit(digits)}"


FORMAT = "Enter a CN patent application number such as ZL 2017 1 0601862.3."


@pytest.mark.parametrize(
    ("bad", "code", "message"),
    [
        ("", "format", FORMAT),
        ("ZL 2017", "format", FORMAT),
        ("2017106018623X", "format", FORMAT),
        ("٢٠١٧١٠٦٠١٨٦٢.٣", "format", FORMAT),  # Arabic-Indic digits: not a CN number
        ("ZL 2017 1 0601862.4", "check_digit", "The check digit of patent number ZL 2017 1 0601862.4 is wrong."),
        (
            _with_check("201740601862"),
            "type_digit",
            f"Patent number {_with_check('201740601862')} has an unknown type digit.",
        ),
        (_with_check("93400001"), "type_digit", f"Patent number {_with_check('93400001')} has an unknown type digit."),
    ],
)
def test_each_refusal_says_why_and_names_the_number(bad, code, message):
    """Issue 21, point 5: the codes and the number in the message were not held by any test."""
    with pytest.raises(ValidationError) as refused:
        normalize_patent_number(bad)
    assert (refused.value.code, refused.value.messages) == (code, [message])


def test_full_width_numbers_typed_in_chinese_are_read_and_stored_in_ascii():
    assert normalize_patent_number("ＺＬ２０１７１０６０１８６２．３") == "201710601862.3"


def test_a_refused_uscc_is_named_in_its_message_with_its_code():
    with pytest.raises(ValidationError) as refused:
        normalize_uscc("91110108551385082A")
    assert refused.value.code == "uscc"
    assert refused.value.messages == ["91110108551385082A is not a valid Unified Social Credit Code."]


def test_a_check_digit_is_computed_only_for_twelve_or_eight_digits():
    """A slip that hands it another length fails loudly instead of weighing some digits only."""
    from licensing.domain.identifiers import patent_check_digit

    with pytest.raises(ValueError):
        patent_check_digit("123456789")
    with pytest.raises(ValueError):
        patent_check_digit("12345678901")
