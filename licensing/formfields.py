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


class TypedNumberInput(forms.TextInput):
    """A text box, not <input type=number>: the browser would refuse "50,000", "５万" or "1 000"
    before the parser could read (or explain) them; a phone still shows its number keypad."""

    def __init__(self, attrs=None, *, whole=False):
        super().__init__({"inputmode": "numeric" if whole else "decimal", "autocomplete": "off", **(attrs or {})})


class NumberField(_ShownAsRead, forms.DecimalField):
    widget = TypedNumberInput

    def widget_attrs(self, widget):
        # DecimalField would add step/min/max for <input type=number>; a text box has no use for them.
        return forms.Field.widget_attrs(self, widget)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return parse_number(value)


class WholeNumberField(_ShownAsRead, forms.IntegerField):
    widget = TypedNumberInput

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", TypedNumberInput(whole=True))
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return forms.Field.widget_attrs(self, widget)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return int(parse_number(value, whole=True))


# For ModelAdmin.formfield_overrides (by model field class, subclasses included). The widget is
# named: the admin merges these into its defaults, whose integer widget is <input type=number>.
NUMBER_OVERRIDES = {
    models.DecimalField: {"form_class": NumberField, "widget": TypedNumberInput},
    models.IntegerField: {"form_class": WholeNumberField, "widget": TypedNumberInput(whole=True)},
}


def number_formfield(db_field, **kwargs):
    """A ModelForm's Meta.formfield_callback: its number fields read by the one parser."""
    for model_field, overrides in NUMBER_OVERRIDES.items():
        if isinstance(db_field, model_field):
            kwargs = {**overrides, **kwargs}
            break
    return db_field.formfield(**kwargs)
