"""Filters for numbers as people read them (the rules are in domain.numbers): used by the
portal, the admin and the emails alike."""

from django import template
from django.utils import translation

from licensing.domain import amount_in_words
from licensing.domain.numbers import digit_groups, money_text, percent

register = template.Library()
register.filter("money", money_text)
register.filter("percent", percent)
register.filter("digit_groups", digit_groups)


@register.filter
def report_state(report, on):
    """{{ report|report_state:today }}: a royalty report's state in words (nil, late)."""
    return report.state_in_words(on)


@register.filter
def in_words(amount):
    """{{ amount|in_words }}: an amount in words in the active language, as a contract states every
    sum: 人民币壹拾贰万元整, or "one hundred and twenty thousand yuan only"."""
    if translation.get_language() == "en":
        return amount_in_words.english_words(amount)
    return "人民币" + amount_in_words.chinese_capitals(amount)
