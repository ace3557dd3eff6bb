"""A last line of defence: a bot token never reaches a log line, in a message or in a traceback."""

from __future__ import annotations

import logging


class TokenRedactingFilter(logging.Filter):
    """Replaces the token in a record's message and traceback.

    ``secret`` is the part that must never leak when the token has a harmless prefix (Telegram's bot id
    before ``:``); by default the whole token.
    """

    def __init__(self, token: str, *, secret: str | None = None) -> None:
        super().__init__()
        self._token = token
        self._secret = secret or token

    @property
    def token(self) -> str:
        """The token this filter hides."""
        return self._token

    def _clean(self, text: str) -> str:
        return text.replace(self._token, "<token>").replace(self._secret, "<token>")

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the formatted message and, when the token is in it, the traceback."""
        message = record.getMessage()
        if self._secret in message:
            record.msg, record.args = self._clean(message), None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if self._secret in text:
                record.exc_text = self._clean(text)
                record.exc_info = None
                record.msg = f"{record.msg}\n{record.exc_text}"
                record.exc_text = None
        return True


def redact_on(names: tuple[str, ...], token: str, *, secret: str | None = None) -> None:
    """Install the filter for ``token`` on the loggers ``names`` and their existing children (once each)."""
    found = set(names) | {
        name
        for name in logging.Logger.manager.loggerDict
        if any(name.startswith(f"{prefix}.") for prefix in names)
    }
    for name in found:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactingFilter) and f.token == token for f in logger.filters):
            logger.addFilter(TokenRedactingFilter(token, secret=secret))
