"""What VOS tells a user about their data before a star is made (``/new``) and in ``/about``: what is
stored, where replies are generated, how long data is kept and how to delete it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from core.domain.identity import Locale
from core.i18n import t

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def endpoint_host(base_url: str | None) -> str:
    """The host an OpenAI-compatible client sends to (OpenAI's own when no URL is set); never the path,
    the query or any credentials in the URL."""
    parts = urlsplit(base_url or OPENAI_DEFAULT_URL)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


@dataclass(frozen=True, slots=True, kw_only=True)
class DataDisclosure:
    """The facts the notice states. ``reply_host``: the chat endpoint's host, ``None`` when replies are
    made on this machine (offline engine, a local model)."""

    reply_host: str | None = None

    @property
    def replies_stay_here(self) -> bool:
        """Whether no message leaves the machine to make a reply."""
        return self.reply_host is None or self.reply_host.split(":")[0] in _LOCAL_HOSTS

    def text(self, locale: Locale | str) -> str:
        """The whole notice in ``locale``."""
        if self.reply_host is None:
            where = t(locale, "disclosure.where_here")
        elif self.replies_stay_here:
            where = t(locale, "disclosure.where_local", host=self.reply_host)
        else:
            where = t(locale, "disclosure.where_remote", host=self.reply_host)
        return t(locale, "disclosure.text", where=where)
