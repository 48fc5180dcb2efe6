"""The console email backend of `make run` (no EMAIL_HOST): the worker's log shows each email as a
person reads it, headers decoded (a Chinese subject, not =?utf-8?b?…?=) and the plain-text body,
instead of the raw MIME message."""

from email.header import decode_header, make_header

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend


def readable(value: str) -> str:
    return str(make_header(decode_header(value)))


class ReadableConsoleBackend(DjangoConsoleBackend):
    def write_message(self, message) -> None:
        mime = message.message()
        lines = [f"{name}: {readable(mime[name])}" for name in ("From", "To", "Reply-To", "Subject") if mime[name]]
        self.stream.write("\n".join([*lines, "", message.body.rstrip(), "-" * 79, ""]))
