"""Filters for numbers as people read them (the rules are in domain.numbers): used by the
portal, the admin and the emails alike."""

from django import template

from licensing.domain.numbers import digit_groups, money_text, percent

register = template.Library()
register.filter("money", money_text)
register.filter("percent", percent)
register.filter("digit_groups", digit_groups)


@register.filter
def report_state(report, on):
    """{{ report|report_state:today }}: a royalty report's state in words (nil, late)."""
    return report.state_in_words(on)
