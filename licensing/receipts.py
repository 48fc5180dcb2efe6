"""Receipts uploaded with a reported payment: checked for type and size on the way in, and
served only through views that have already checked who is asking."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# Accepted types, recognised by the file's first bytes, not by the name the browser sent.
SIGNATURES = {
    ".pdf": (b"%PDF-", "application/pdf"),
    ".png": (b"\x89PNG\r\n\x1a\n", "image/png"),
    ".jpg": (b"\xff\xd8\xff", "image/jpeg"),
    ".jpeg": (b"\xff\xd8\xff", "image/jpeg"),
}


def validate_receipt(upload) -> None:
    if upload.size > settings.RECEIPT_MAX_BYTES:
        raise ValidationError(
            _("The receipt is %(size)s; the largest accepted is %(max)s.")
            % {"size": filesizeformat(upload.size), "max": filesizeformat(settings.RECEIPT_MAX_BYTES)}
        )
    extension = Path(upload.name).suffix.lower()
    signature = SIGNATURES.get(extension, (None, None))[0]
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if signature is None or not head.startswith(signature):
        raise ValidationError(_("Upload the receipt as a PDF, PNG or JPEG file."))


def receipt_response(report) -> FileResponse:
    extension = Path(report.receipt.name).suffix.lower()
    response = FileResponse(
        report.receipt.open("rb"),
        as_attachment=True,
        filename=f"receipt-{report.pk}{extension}",
        content_type=SIGNATURES[extension][1],
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
