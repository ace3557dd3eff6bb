"""Keep the bot token out of logs: the HTTP client logs request URLs, and Bot API URLs contain the token."""

from __future__ import annotations

import logging

_QUIET = ("httpx", "httpcore")
_REDACT_ON = ("adapters.telegram", "telegram", "httpx", "httpcore", "aiohttp", "tornado", "apscheduler")


class TokenRedactingFilter(logging.Filter):
    """Replaces the token in a record's message and traceback (a last line of defence)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token
        # The bot id part alone is harmless; the secret part after ':' is what must never leak.
        self._secret = token.partition(":")[2] or token

    def _clean(self, text: str) -> str:
        return text.replace(self._token, "<token>").replace(self._secret, "<token>")

    def filter(self, record: logging.LogRecord) -> bool:
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


def protect_token(token: str) -> None:
    """Silence URL logging below WARNING and redact ``token`` on every Telegram-related logger."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    names = set(_REDACT_ON) | {
        name
        for name in logging.Logger.manager.loggerDict
        if any(name.startswith(f"{prefix}.") for prefix in _REDACT_ON)
    }
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactingFilter) and f._token == token for f in logger.filters):
            logger.addFilter(TokenRedactingFilter(token))
