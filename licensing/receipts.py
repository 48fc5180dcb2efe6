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


def too_large(size: int, limit: int) -> str:
    """Why a file of `size` bytes is refused, in figures a person can compare: when both round to
    the same "5.0 MB", the bytes are given too."""
    if filesizeformat(size) == filesizeformat(limit):
        return _("The file is %(size)s bytes, just over the limit of %(max)s bytes (%(max_human)s).") % {
            "size": f"{size:,}",
            "max": f"{limit:,}",
            "max_human": filesizeformat(limit),
        }
    return _("The file is %(size)s; the largest accepted is %(max)s.") % {
        "size": filesizeformat(size),
        "max": filesizeformat(limit),
    }


def validate_receipt(upload) -> None:
    if upload.size > settings.RECEIPT_MAX_BYTES:
        raise ValidationError(too_large(upload.size, settings.RECEIPT_MAX_BYTES))
    extension = Path(upload.name).suffix.lower()
    signature = SIGNATURES.get(extension, (None, None))[0]
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if signature is None or not head.startswith(signature):
        raise ValidationError(_("Upload the receipt as a PDF, PNG or JPEG file."))


def validate_signed_copy(upload) -> None:
    """A signed contract is a scanned PDF, checked by its first bytes like a receipt."""
    if upload.size > settings.RECEIPT_MAX_BYTES:
        raise ValidationError(too_large(upload.size, settings.RECEIPT_MAX_BYTES))
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if Path(upload.name).suffix.lower() != ".pdf" or head != SIGNATURES[".pdf"][0]:
        raise ValidationError(_("Upload the signed contract as a PDF file (a scan of every page)."))


def validate_invoice(upload) -> None:
    """An invoice is the tax system's PDF, checked by its first bytes like a receipt."""
    if upload.size > settings.RECEIPT_MAX_BYTES:
        raise ValidationError(too_large(upload.size, settings.RECEIPT_MAX_BYTES))
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if Path(upload.name).suffix.lower() != ".pdf" or head != SIGNATURES[".pdf"][0]:
        raise ValidationError(_("Upload the invoice as a PDF file."))


def receipt_response(report, field: str = "receipt") -> FileResponse:
    """A stored upload (a payment's receipt, a royalty report's attachment) as a download, its type
    the one its first bytes were checked for."""
    stored = getattr(report, field)
    extension = Path(stored.name).suffix.lower()
    response = FileResponse(
        stored.open("rb"),
        as_attachment=True,
        filename=f"{field}-{report.pk}{extension}",
        content_type=SIGNATURES[extension][1],
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def signed_copy_response(contract, field: str) -> FileResponse:
    """A signed copy of a contract (the licensee's, or both parties'), named by its number."""
    response = FileResponse(
        getattr(contract, field).open("rb"),
        as_attachment=True,
        filename=f"{contract.number}-{'signed' if field == 'signed_copy' else 'licensee'}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def contract_document_response(version) -> FileResponse:
    """A contract version's PDF as a download named by its number and version (JH-2026-0007-v2.pdf)."""
    response = FileResponse(
        version.document.open("rb"), as_attachment=True, filename=version.filename, content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
