"""Keep the bot token out of logs: the HTTP client logs request URLs, and Bot API URLs contain the token."""

from __future__ import annotations

import logging

from adapters.common import logs

_QUIET = ("httpx", "httpcore")
_REDACT_ON = ("adapters.telegram", "telegram", "httpx", "httpcore", "aiohttp", "tornado", "apscheduler")


def _secret(token: str) -> str:
    """The bot id before ``:`` alone is harmless; the secret part after it is what must never leak."""
    return token.partition(":")[2] or token


class TokenRedactingFilter(logs.TokenRedactingFilter):
    """The shared filter, hiding a Telegram token's secret part wherever it appears."""

    def __init__(self, token: str) -> None:
        super().__init__(token, secret=_secret(token))


def protect_token(token: str) -> None:
    """Silence URL logging below WARNING and redact ``token`` on every Telegram-related logger."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logs.redact_on(_REDACT_ON, token, secret=_secret(token))
