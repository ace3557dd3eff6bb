"""The app commands (slash commands and the message context menu), localized from the catalogues.

Names and descriptions are ``locale_str`` whose default is the English catalogue text and whose ``key``
names the catalogue entry; :class:`CatalogueTranslator` fills Korean (and both English locales) at sync.
The callbacks only call the :class:`CommandHandlers` the adapter implements.
"""

from __future__ import annotations

from typing import Protocol

import discord
from discord import app_commands
from discord.app_commands import locale_str

from core.domain.identity import Locale
from core.i18n import catalogue, t

_DISCORD_LOCALES: dict[discord.Locale, Locale] = {
    discord.Locale.korean: Locale.KO,
    discord.Locale.american_english: Locale.EN,
    discord.Locale.british_english: Locale.EN,
}


def _ls(name: str) -> locale_str:
    """A translatable string for ``discord.cmd.<name>``, English by default."""
    key = f"discord.cmd.{name}"
    return locale_str(t(Locale.EN, key), key=key)


class CatalogueTranslator(app_commands.Translator):
    """Translates command names and descriptions from ``core/i18n/<locale>/discord.toml``."""

    async def translate(
        self, string: locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        key = string.extras.get("key")
        target = _DISCORD_LOCALES.get(locale)
        if not key or target is None:
            return None
        return catalogue(target).get(key)


class CommandHandlers(Protocol):
    """What the commands call (the adapter)."""

    async def star_create(self, interaction: discord.Interaction, export: discord.Attachment) -> None: ...
    async def star_list(self, interaction: discord.Interaction) -> None: ...
    async def star_chat(self, interaction: discord.Interaction) -> None: ...
    async def voice_setup(self, interaction: discord.Interaction, recording: discord.Attachment) -> None: ...
    async def privacy(self, interaction: discord.Interaction) -> None: ...
    async def optout(self, interaction: discord.Interaction) -> None: ...
    async def optin(self, interaction: discord.Interaction) -> None: ...
    async def meeting_start(self, interaction: discord.Interaction) -> None: ...
    async def meeting_stop(self, interaction: discord.Interaction) -> None: ...
    async def meeting_upload(self, interaction: discord.Interaction, file: discord.Attachment) -> None: ...
    async def meeting_enroll(self, interaction: discord.Interaction, file: discord.Attachment) -> None: ...
    async def meeting_command(self, interaction: discord.Interaction, command: str, args: str) -> None: ...
    async def listen(self, interaction: discord.Interaction, message: discord.Message) -> None: ...


class StarCommands(app_commands.Group):
    """``/star create|list|chat``."""

    def __init__(self, handlers: CommandHandlers) -> None:
        super().__init__(name=_ls("star"), description=_ls("star_desc"))
        self.handlers = handlers

    @app_commands.command(name=_ls("star_create"), description=_ls("star_create_desc"))
    @app_commands.rename(export=_ls("star_create_export"))
    @app_commands.describe(export=_ls("star_create_export_desc"))
    async def create(self, interaction: discord.Interaction, export: discord.Attachment) -> None:
        """Start the create-a-star flow with the export already attached."""
        await self.handlers.star_create(interaction, export)

    @app_commands.command(name=_ls("star_list"), description=_ls("star_list_desc"))
    async def list_(self, interaction: discord.Interaction) -> None:
        """The user's stars."""
        await self.handlers.star_list(interaction)

    @app_commands.command(name=_ls("star_chat"), description=_ls("star_chat_desc"))
    async def chat(self, interaction: discord.Interaction) -> None:
        """Open a DM with the user."""
        await self.handlers.star_chat(interaction)


class VoiceCommands(app_commands.Group):
    """``/voice setup``: the engine's voice setup flow, with the recording attached to the command."""

    def __init__(self, handlers: CommandHandlers) -> None:
        super().__init__(name=_ls("voice"), description=_ls("voice_desc"))
        self.handlers = handlers

    @app_commands.command(name=_ls("voice_setup"), description=_ls("voice_setup_desc"))
    @app_commands.rename(recording=_ls("voice_setup_recording"))
    @app_commands.describe(recording=_ls("voice_setup_recording_desc"))
    async def setup(self, interaction: discord.Interaction, recording: discord.Attachment) -> None:
        """Consent, then the attached recording, the speaker count, samples and "which one is them?"."""
        await self.handlers.voice_setup(interaction, recording)


class MeetingCommands(app_commands.Group):
    """``/meeting start|stop|upload|enroll|list|summary|ask|export`` (guild only)."""

    def __init__(self, handlers: CommandHandlers) -> None:
        super().__init__(name=_ls("meeting"), description=_ls("meeting_desc"), guild_only=True)
        self.handlers = handlers

    @app_commands.command(name=_ls("meeting_start"), description=_ls("meeting_start_desc"))
    async def start(self, interaction: discord.Interaction) -> None:
        """Record the caller's voice channel."""
        await self.handlers.meeting_start(interaction)

    @app_commands.command(name=_ls("meeting_stop"), description=_ls("meeting_stop_desc"))
    async def stop(self, interaction: discord.Interaction) -> None:
        """Stop recording and hand the tracks over."""
        await self.handlers.meeting_stop(interaction)

    @app_commands.command(name=_ls("meeting_upload"), description=_ls("meeting_upload_desc"))
    @app_commands.rename(file=_ls("meeting_upload_file"))
    @app_commands.describe(file=_ls("meeting_upload_file_desc"))
    async def upload(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Process an uploaded recording."""
        await self.handlers.meeting_upload(interaction, file)

    @app_commands.command(name=_ls("meeting_enroll"), description=_ls("meeting_enroll_desc"))
    @app_commands.rename(recording=_ls("voice_setup_recording"))
    @app_commands.describe(recording=_ls("meeting_enroll_recording_desc"))
    async def enroll(self, interaction: discord.Interaction, recording: discord.Attachment) -> None:
        """Enrol the member's voice for this guild's meetings (consent first, then the recording)."""
        await self.handlers.meeting_enroll(interaction, recording)

    @app_commands.command(name=_ls("meeting_list"), description=_ls("meeting_list_desc"))
    async def list_(self, interaction: discord.Interaction) -> None:
        """Past meetings of this guild."""
        await self.handlers.meeting_command(interaction, "meeting", "list")

    @app_commands.command(name=_ls("meeting_summary"), description=_ls("meeting_summary_desc"))
    @app_commands.rename(meeting=_ls("meeting_ref"))
    @app_commands.describe(meeting=_ls("meeting_ref_desc"))
    async def summary(self, interaction: discord.Interaction, meeting: str = "") -> None:
        """A meeting's summary."""
        await self.handlers.meeting_command(interaction, "meeting", f"summary {meeting}".strip())

    @app_commands.command(name=_ls("meeting_export"), description=_ls("meeting_export_desc"))
    @app_commands.rename(meeting=_ls("meeting_ref"))
    @app_commands.describe(meeting=_ls("meeting_ref_desc"))
    async def export(self, interaction: discord.Interaction, meeting: str = "") -> None:
        """A meeting's transcript as a file."""
        await self.handlers.meeting_command(interaction, "meeting", f"export {meeting}".strip())

    @app_commands.command(name=_ls("meeting_ask"), description=_ls("meeting_ask_desc"))
    @app_commands.rename(question=_ls("question"))
    @app_commands.describe(question=_ls("question_desc"))
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        """A question across this guild's meetings."""
        await self.handlers.meeting_command(interaction, "ask", question)


def build_tree(client: discord.Client, handlers: CommandHandlers) -> app_commands.CommandTree[discord.Client]:
    """The command tree with every VOS command; call ``tree.set_translator`` before syncing."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    tree.add_command(StarCommands(handlers))
    tree.add_command(VoiceCommands(handlers))
    tree.add_command(MeetingCommands(handlers))

    @app_commands.command(name=_ls("privacy"), description=_ls("privacy_desc"))
    async def privacy(interaction: discord.Interaction) -> None:
        await handlers.privacy(interaction)

    @app_commands.command(name=_ls("optout"), description=_ls("optout_desc"))
    @app_commands.guild_only()
    async def optout(interaction: discord.Interaction) -> None:
        await handlers.optout(interaction)

    @app_commands.command(name=_ls("optin"), description=_ls("optin_desc"))
    @app_commands.guild_only()
    async def optin(interaction: discord.Interaction) -> None:
        await handlers.optin(interaction)

    async def listen(interaction: discord.Interaction, message: discord.Message) -> None:
        await handlers.listen(interaction, message)

    tree.add_command(privacy)
    tree.add_command(optout)
    tree.add_command(optin)
    tree.add_command(app_commands.ContextMenu(name=_ls("listen"), callback=listen))
    return tree
