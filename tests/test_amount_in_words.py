"""Amounts in words: the People's Bank of China's published examples, and every amount read back."""

import random
from decimal import Decimal

import pytest

from licensing.domain.amount_in_words import DIGITS, chinese_capitals, english_words


# 支付结算办法, 附件一《正确填写票据和结算凭证的基本规定》, its own examples (where the rules allow two
# forms, the one with 零 after 元, which chinese_capitals always writes), and the issue's own.
@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
        ("107000.53", "壹拾万柒仟元零伍角叁分"),
        ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("120000", "壹拾贰万元整"),
        ("120000.00", "壹拾贰万元整"),
    ],
)
def test_the_published_examples(amount, words):
    assert chinese_capitals(Decimal(amount)) == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("0.50", "伍角"),
        ("0.05", "伍分"),
        ("0.55", "伍角伍分"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),  # a ten is 壹拾, so nothing can be written in front of it
        ("15", "壹拾伍元整"),
        ("100", "壹佰元整"),
        ("101", "壹佰零壹元整"),
        ("110", "壹佰壹拾元整"),
        ("1001", "壹仟零壹元整"),
        ("10000", "壹万元整"),
        ("10001", "壹万零壹元整"),
        ("10010", "壹万零壹拾元整"),
        ("100500", "壹拾万零伍佰元整"),  # the thousands are zero: 零 between the groups
        ("1000500", "壹佰万零伍佰元整"),
        ("1050000", "壹佰零伍万元整"),
        ("20000000", "贰仟万元整"),
        ("100000000", "壹亿元整"),
        ("100000001", "壹亿零壹元整"),
        ("100010000", "壹亿零壹万元整"),
        ("120000000.10", "壹亿贰仟万元零壹角"),
        ("10000000000.00", "壹佰亿元整"),  # the largest price an offer takes
        ("10.01", "壹拾元零壹分"),
        ("10.10", "壹拾元零壹角"),
        ("11.10", "壹拾壹元壹角"),
    ],
)
def test_zeros_tens_and_groups(amount, words):
    assert chinese_capitals(Decimal(amount)) == words


def _read_back(words: str) -> Decimal:
    """The capitals read as a number, by rules independent of the writer's."""
    if words == "零元整":
        return Decimal("0")
    units = {"拾": 10, "佰": 100, "仟": 1000}
    total = section = digit = 0
    yuan, _sep, fraction = words.rpartition("元") if "元" in words else ("", "", words)
    for char in yuan:
        if char in DIGITS:
            digit = DIGITS.index(char)
        elif char in units:
            section += digit * units[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif char == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    whole = total + section + digit
    cents = 0
    digit = 0
    for char in fraction:
        if char in DIGITS:
            digit = DIGITS.index(char)
        elif char == "角":
            cents += digit * 10
        elif char == "分":
            cents += digit
    return Decimal(whole) + Decimal(cents) / 100


def _amounts():
    draw = random.Random(2026)
    yield from (Decimal(n) for n in range(0, 10_001))
    for _ in range(20_000):
        digits = draw.randint(1, 10)
        yield Decimal(draw.randrange(10 ** (digits + 1))) / 100
    for n in (10**k for k in range(11)):
        yield from (Decimal(n), Decimal(n) + Decimal("0.01"), Decimal(n) - Decimal("0.01"))


def test_every_amount_reads_back_to_itself_and_is_well_formed():
    for amount in _amounts():
        amount = amount.quantize(Decimal("0.01"))
        words = chinese_capitals(amount)
        assert _read_back(words) == amount, (amount, words)
        if not amount:
            continue
        assert "零零" not in words, (amount, words)
        assert not any(f"零{unit}" in words for unit in "元万亿拾佰仟角分"), (amount, words)
        assert not words.startswith("零"), (amount, words)
        assert all(words[i - 1] in DIGITS for i, char in enumerate(words) if char in "拾佰仟" and i), words
        assert not words.startswith(("拾", "佰", "仟")), words
        assert words.endswith("整") == (amount == amount.to_integral_value()), (amount, words)


@pytest.mark.parametrize("bad", [Decimal("-1"), Decimal("1.005"), Decimal("NaN"), Decimal("Infinity"), 12.5, 3])
def test_refuses_what_is_not_an_amount(bad):
    with pytest.raises(ValueError):
        chinese_capitals(bad)
    with pytest.raises(ValueError):
        english_words(bad)


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "zero yuan only"),
        ("7", "seven yuan only"),
        ("15", "fifteen yuan only"),
        ("40", "forty yuan only"),
        ("99", "ninety-nine yuan only"),
        ("100", "one hundred yuan only"),
        ("105", "one hundred and five yuan only"),
        ("120000", "one hundred and twenty thousand yuan only"),
        ("1000500", "one million five hundred yuan only"),
        ("107000.53", "one hundred and seven thousand yuan and 53 fen"),
        ("0.05", "zero yuan and 5 fen"),
        ("10000000000.00", "ten billion yuan only"),
    ],
)
def test_english_words(amount, words):
    assert english_words(Decimal(amount)) == words


@pytest.mark.parametrize(
    ("amount", "capitals"),
    [
        ("1011", "壹仟零壹拾壹元整"),  # one 零 for a zero inside a group, none more after it
        ("1001", "壹仟零壹元整"),  # one 零 for zeros in a row
        ("1100", "壹仟壹佰元整"),  # trailing zeros: nothing
        ("10001", "壹万零壹元整"),  # the next group below a thousand: 零
        ("11000", "壹万壹仟元整"),  # the next group a thousand exactly: no 零
        ("100010", "壹拾万零壹拾元整"),
        ("101000", "壹拾万壹仟元整"),  # the 万 place zero and the 千 place not: no 零 (PBOC allows either)
        ("1000100", "壹佰万零壹佰元整"),
        ("100001000", "壹亿零壹仟元整"),  # a whole group of zeros between: 零
        ("10000001", "壹仟万零壹元整"),
        ("100000000", "壹亿元整"),
        ("1010.10", "壹仟零壹拾元零壹角"),
    ],
)
def test_each_zero_rule_writes_one_zero_exactly_where_it_belongs(amount, capitals):
    """A reader that reads 零 as nothing would accept an extra or a missing 零: the text itself is pinned."""
    assert chinese_capitals(Decimal(amount)) == capitals


def test_what_is_not_an_amount_is_refused_with_words_that_say_why():
    with pytest.raises(ValueError, match=r"^an amount in words is a finite, non-negative Decimal: Decimal\('-1'\)$"):
        chinese_capitals(Decimal("-1"))
    with pytest.raises(ValueError, match=r"^an amount in words has at most two decimal places: 1\.005$"):
        english_words(Decimal("1.005"))
