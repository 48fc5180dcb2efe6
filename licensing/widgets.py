from django import forms


class DateInput(forms.DateInput):
    """The browser's date picker. It only accepts ISO dates, whatever the page's language: the
    localized format (2026/11/22 in Chinese) would leave it empty and the field unfilled."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")
