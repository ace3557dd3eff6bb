"""Discord interactions and messages to core events: pure functions, no I/O.

Chat ids: an interaction in a guild carries ``discord:guild:<guild id>``, a DM ``discord:dm:<user id>``
(the adapter's own addresses); a guild's events also carry ``space=Space.guild(<guild id>)``, the typed
reference core scopes meetings by. Users are ``UserRef(platform=discord, platform_user_id=<user id>)``.
Component custom ids start with ``vos:``: ``vos:c:<key>`` (a choice; core keeps keys within 64 bytes, so
every key fits), ``vos:s:<n>`` (a select menu; its values are keys), ``vos:w`` (the "write an answer"
button) and ``vos:m`` (the modal it opens). A stored star bubble carries ``vos:c:listen:<turn_id>``, the
button the "listen in voice" menu also reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from core.domain.actions import LISTEN_PREFIX
from core.domain.events import (
    ChoiceMade,
    CommandInvoked,
    FileUploaded,
    IncomingFile,
    TextMessage,
    VoiceMessage,
)
from core.domain.identity import Locale, Platform, Space, UserRef

PREFIX = "vos:"
CHOICE = PREFIX + "c:"
SELECT = PREFIX + "s:"
WRITE = PREFIX + "w"
MODAL = PREFIX + "m"
MODAL_FIELD = "answer"
CUSTOM_ID_MAX = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Who acted, where, and in which language: what every event of one interaction shares."""

    user_id: int
    display_name: str
    locale: Locale | None
    guild_id: int | None
    channel_id: int | None

    @property
    def chat_id(self) -> str:
        """``discord:guild:<id>`` in a guild, ``discord:dm:<user id>`` in a DM."""
        if self.guild_id is not None:
            return f"discord:guild:{self.guild_id}"
        return f"discord:dm:{self.user_id}"

    @property
    def lang(self) -> Locale:
        """The language for the adapter's own words (Korean when the platform did not say)."""
        return self.locale or Locale.KO

    def _base(self, raw: Any) -> dict[str, Any]:
        return {
            "user": UserRef(platform=Platform.DISCORD, platform_user_id=str(self.user_id)),
            "chat_id": self.chat_id,
            "space": Space.guild(str(self.guild_id)) if self.guild_id is not None else None,
            "display_name": self.display_name,
            "locale_hint": self.locale,
            "raw": raw,
        }

    def command(self, command: str, args: str = "", raw: Any = None) -> CommandInvoked:
        """A command event (``/star list`` → ``stars``)."""
        return CommandInvoked(command=command, args=args, **self._base(raw))

    def choice(self, key: str, raw: Any = None) -> ChoiceMade:
        """A button or select-menu pick."""
        return ChoiceMade(key=key, **self._base(raw))

    def text(self, text: str, raw: Any = None) -> TextMessage:
        """Typed text (a DM, or the modal of the "write an answer" button)."""
        return TextMessage(text=text, **self._base(raw))

    def file(self, file: IncomingFile, caption: str = "", raw: Any = None) -> FileUploaded:
        """An attachment, already downloaded."""
        return FileUploaded(file=file, caption=caption, **self._base(raw))

    def voice(self, file: IncomingFile, raw: Any = None) -> VoiceMessage:
        """A Discord voice message (an attachment flagged as one), already downloaded."""
        return VoiceMessage(file=file, **self._base(raw))


def locale_of(tag: object) -> Locale:
    """A Discord locale (``ko``, ``en-US``, a ``discord.Locale``) to a VOS locale (English otherwise)."""
    text = str(getattr(tag, "value", tag) or "")
    return Locale.from_tag(text, default=Locale.EN) if text else Locale.KO


def origin_of(interaction: Any) -> Origin:
    """The origin of a ``discord.Interaction`` (reads attributes only)."""
    user = interaction.user
    return Origin(
        user_id=int(user.id),
        display_name=str(getattr(user, "display_name", "") or user.name),
        locale=locale_of(interaction.locale),
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
    )


def origin_of_message(message: Any) -> Origin:
    """The origin of a DM ``discord.Message`` (DMs carry no locale: the user's stored one applies)."""
    author = message.author
    return Origin(
        user_id=int(author.id),
        display_name=str(getattr(author, "display_name", "") or author.name),
        locale=None,
        guild_id=None,
        channel_id=message.channel.id,
    )


ComponentKind = Literal["choice", "select", "write", "modal"]


def parse_custom_id(custom_id: str) -> tuple[ComponentKind, str] | None:
    """What a component's custom id stands for; None for ids VOS did not make."""
    if custom_id.startswith(CHOICE):
        return "choice", custom_id[len(CHOICE) :]
    if custom_id.startswith(SELECT):
        return "select", custom_id[len(SELECT) :]
    if custom_id == WRITE:
        return "write", ""
    if custom_id == MODAL:
        return "modal", ""
    return None


def modal_text(components: list[dict[str, Any]]) -> str:
    """The answer typed into the modal (a raw ``MODAL_SUBMIT`` components payload)."""
    for row in components:
        children = row.get("components") or ([row["component"]] if "component" in row else [row])
        for item in children:
            if item.get("custom_id") == MODAL_FIELD:
                return str(item.get("value") or "")
    return ""


def parse_text_command(text: str) -> tuple[str, str] | None:
    """``/cmd args`` typed in a DM → ``("cmd", "args")`` (lower-cased name); None for ordinary text."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return None
    head, _, args = text[1:].partition(" ")
    head = head.split("\n", 1)[0]
    if not head or not all(c.isalnum() or c == "_" for c in head):
        return None
    return head.lower(), args.strip()


def listen_key(custom_ids: Iterable[str]) -> str | None:
    """The ``listen:<turn_id>`` key among a message's component custom ids (its listen button), if any."""
    for custom_id in custom_ids:
        parsed = parse_custom_id(custom_id)
        if parsed is not None and parsed[0] == "choice" and parsed[1].startswith(LISTEN_PREFIX):
            return parsed[1]
    return None
