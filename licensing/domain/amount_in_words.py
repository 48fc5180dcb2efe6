"""Amounts in words, as a contract states every sum twice: in Chinese capital numerals (大写金额,
人民币壹拾贰万元整) and in English words.

The Chinese rules are those of the People's Bank of China for bills and settlement vouchers
(支付结算办法, 附件一《正确填写票据和结算凭证的基本规定》), whose published examples the tests use:
- a run of zeros between digits is one 零 (1,409.50: 壹仟肆佰零玖元伍角; 6,007.14: 陆仟零柒元壹角肆分);
- a zero in the yuan's units with jiao to follow is written as 零 (1,680.32: 壹仟陆佰捌拾元零叁角贰分;
  107,000.53: 壹拾万柒仟元零伍角叁分; the rules also allow leaving it out, we always write it);
- no jiao with fen to follow is 零 (16,409.02: 壹万陆仟肆佰零玖元零贰分; 325.04: 叁佰贰拾伍元零肆分);
- a sum in whole yuan ends in 整; one that ends in jiao does not (the rules make 整 optional there);
- a ten is always 壹拾 (10: 壹拾元整), so that nothing can be written in front of it.
"""

from decimal import Decimal

from .money import CENT

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")  # within a group of four digits
GROUPS = ("", "万", "亿", "万亿")  # the groups of four, from the units up


def _checked(amount: Decimal) -> tuple[int, int, int]:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise ValueError(f"an amount in words is a finite, non-negative Decimal: {amount!r}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"an amount in words has at most two decimal places: {amount}")
    fen = int(amount * 100)
    return fen // 100, fen // 10 % 10, fen % 10


def _group(value: int) -> str:
    """One group of four digits (1 to 9999): zeros inside are one 零, trailing zeros nothing."""
    out: list[str] = []
    zero = False
    for place in range(3, -1, -1):
        digit = value // 10**place % 10
        if digit == 0:
            zero = bool(out)  # a zero after a digit, written only if a digit follows
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[digit] + PLACES[place])
    return "".join(out)


def _yuan(whole: int) -> str:
    groups = []
    while whole:
        groups.append(whole % 10_000)
        whole //= 10_000
    out: list[str] = []
    zero = False  # a group (or the start of one) was zero since the last digit written
    for index in range(len(groups) - 1, -1, -1):
        value = groups[index]
        if value == 0:
            zero = bool(out)
            continue
        if out and (zero or value < 1000):
            out.append("零")
        out.append(_group(value) + GROUPS[index])
        zero = False
    return "".join(out)


def chinese_capitals(amount: Decimal) -> str:
    """The amount in capital numerals, without the currency: 壹拾贰万元整 (the contract writes
    人民币 in front). Zero is 零元整."""
    whole, jiao, fen = _checked(amount)
    if not (whole or jiao or fen):
        return "零元整"
    out = _yuan(whole) + "元" if whole else ""
    if not (jiao or fen):
        return out + "整"
    if jiao:
        out += ("零" if whole and whole % 10 == 0 else "") + DIGITS[jiao] + "角"
    elif whole:
        out += "零"
    if fen:
        out += DIGITS[fen] + "分"
    return out


_ONES = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", "thousand", "million", "billion", "trillion")


def _below_thousand(value: int) -> str:
    hundreds, rest = divmod(value, 100)
    words = [f"{_ONES[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    elif rest:
        words.append(_ONES[rest])
    return " and ".join(words)  # two words only when there are hundreds and a rest: "one hundred and five"


def _english_whole(whole: int) -> str:
    if whole == 0:
        return "zero"
    parts = []
    scale = 0
    while whole:
        whole, chunk = divmod(whole, 1000)
        if chunk:
            parts.append(_below_thousand(chunk) + (f" {_SCALES[scale]}" if _SCALES[scale] else ""))
        scale += 1
    return " ".join(reversed(parts))


def english_words(amount: Decimal) -> str:
    """The amount in English words, as Chinese contracts' English versions write it: "one hundred
    and twenty thousand yuan only"; fen as "and 53 fen"."""
    whole, jiao, fen = _checked(amount)
    cents = jiao * 10 + fen
    words = f"{_english_whole(whole)} yuan"
    return f"{words} and {cents} fen" if cents else f"{words} only"
