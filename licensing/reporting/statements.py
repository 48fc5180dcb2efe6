"""An inventor's annual statement, as a page (in the reader's language) and as a PDF (Chinese,
then English), both from one template."""

from django.template.loader import render_to_string
from django.utils import translation

from .. import pdf
from ..domain import clock
from ..selectors import Statement

LANGUAGES = ("zh-hans", "en")  # the PDF's order: Chinese first, as the institution files it


def statement_body(statement: Statement, language: str) -> str:
    with translation.override(language):
        return render_to_string(
            "documents/inventor_statement_body.html",
            {"s": statement, "language": language, "made_on": clock.today()},
        )


def statement_pdf(statement: Statement) -> bytes:
    bodies = [statement_body(statement, language) for language in LANGUAGES]
    html = render_to_string("documents/inventor_statement.html", {"s": statement, "bodies": bodies})
    return pdf.html_to_pdf(html)
