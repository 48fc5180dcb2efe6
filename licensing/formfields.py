"""Form fields for typed numbers: every amount, rate and count a person types, in the portal and
the admin, is read by the one parser (domain.numbers.parse_number), and a full-width number is
shown back converted, as it will be stored."""

from django import forms
from django.db import models

from .domain.numbers import parse_number, typed


class _ShownAsRead:
    def bound_data(self, data, initial):
        """The page shows back what will be stored (１２３ as 123), not the raw keystrokes."""
        return typed(data) if isinstance(data, str) else data


class NumberField(_ShownAsRead, forms.DecimalField):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        return parse_number(value)


class WholeNumberField(_ShownAsRead, forms.IntegerField):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        return int(parse_number(value, whole=True))


# For ModelAdmin.formfield_overrides (by model field class, subclasses included).
NUMBER_OVERRIDES = {
    models.DecimalField: {"form_class": NumberField},
    models.IntegerField: {"form_class": WholeNumberField},
}


def number_formfield(db_field, **kwargs):
    """A ModelForm's Meta.formfield_callback: its number fields read by the one parser."""
    for model_field, overrides in NUMBER_OVERRIDES.items():
        if isinstance(db_field, model_field):
            kwargs = {**overrides, **kwargs}
            break
    return db_field.formfield(**kwargs)
