"""Keep the bot token out of every log line, including URLs that httpx logs and tracebacks."""

from __future__ import annotations

import logging
from urllib.parse import quote

REDACTED = "[REDACTED]"


class TokenRedactingFilter(logging.Filter):
    """Rewrites a record's message (and traceback text) with every form of the secret replaced."""

    def __init__(self, secret: str) -> None:
        super().__init__(name="")
        self._forms = tuple(sorted({secret, quote(secret, safe=""), quote(secret)}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_token_redaction(secret: str, logger: logging.Logger | None = None) -> TokenRedactingFilter | None:
    """Add a redacting filter to every handler of ``logger`` (root by default); no-op without a secret."""
    if not secret:
        return None
    target = logger or logging.getLogger()
    token_filter = TokenRedactingFilter(secret)
    for handler in target.handlers:
        handler.addFilter(token_filter)
    return token_filter
