"""Rules for text people type. A name or reference is one line of visible characters; free text
may have line breaks; neither may hide its content (control characters, text made only of
zero-width or direction-override characters) or carry bidirectional overrides that make what is
read differ from what is stored. The models attach these as validators and the services call
them, so a form, the admin, a command and (later) the API refuse the same input."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# Embedding, override and isolate controls (Unicode bidi): "Trojan source" reordering.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r")
REASON_MAX_LENGTH = 1000


def _visible(value: str) -> bool:
    """Something a reader can see: not only spaces and format characters (zero-width, bidi)."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in value)


@deconstructible
class PlainText:
    """Refuses control characters (line breaks too, unless `multiline`), bidirectional overrides,
    and non-empty text with nothing visible in it."""

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, value: object) -> None:
        if not isinstance(value, str) or value == "":
            return
        for ch in value:
            if ch in LINE_BREAKS or ch == "\t":
                if not self.multiline:
                    raise ValidationError(_("Enter this on one line, without line breaks or tabs."), code="line_break")
            elif unicodedata.category(ch) in ("Cc", "Cs", "Co") or ch in "\u2028\u2029":
                raise ValidationError(_("Remove the invisible control characters from this text."), code="control")
            elif ch in BIDI_CONTROLS:
                raise ValidationError(
                    _("Remove the text-direction override characters from this text."), code="bidi_override"
                )
            elif not self.multiline and unicodedata.category(ch) == "Cf":
                # Zero-width spaces and joiners, word joiners, byte-order marks, soft hyphens: a
                # name, reference or address that looks like another, or hides a formula.
                raise ValidationError(
                    _(
                        "Remove the invisible characters (zero-width spaces or joiners, byte-order marks) "
                        "from this text."
                    ),
                    code="invisible_inside",
                )
        if not _visible(value):
            raise ValidationError(_("This text has no visible characters."), code="invisible")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlainText) and other.multiline == self.multiline


single_line = PlainText()
multi_line = PlainText(multiline=True)


def visible_start(text: str) -> str:
    """The text from its first visible character on: what a spreadsheet reads as its start once
    it drops spaces and format characters (a CSV guard looks past them)."""
    for i, ch in enumerate(text):
        if not ch.isspace() and unicodedata.category(ch) != "Cf":
            return text[i:]
    return ""


def clean_single_line(value: str | None, field: str, *, max_length: int, required: bool = False) -> str:
    """A one-line text field as a service receives it: stripped and checked, or a ValidationError
    naming `field`."""
    return _clean(value, field, single_line, max_length, required)


def clean_multi_line(value: str | None, field: str, *, max_length: int, required: bool = False) -> str:
    return _clean(value, field, multi_line, max_length, required)


def _clean(value: str | None, field: str, validator: PlainText, max_length: int, required: bool) -> str:
    value = (value or "").strip()
    try:
        if required and not value:
            raise ValidationError(_("This field is required."), code="required")
        if len(value) > max_length:
            raise ValidationError(
                _("Use at most %(max)s characters (this has %(length)s).") % {"max": max_length, "length": len(value)},
                code="max_length",
            )
        validator(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc
    return value
