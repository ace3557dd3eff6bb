"""The app commands (slash commands and the message context menu), localized from the catalogues.

The tree is built from the engine's declared command table: each core command names the Discord commands
that invoke it (``CommandSpec.discord``, e.g. ``"star create"`` for ``new``), and only those are offered.
:data:`NODES` holds how each is asked on Discord (its options: an attachment, a question); :data:`NATIVE`
are Discord's own (voice capture, opt-out), which no other platform has. A declared command without a node
here fails at build, so a command cannot be added to one platform and silently missed on this one.

Names and descriptions are ``locale_str`` whose default is the English catalogue text and whose ``key``
names the catalogue entry; :class:`CatalogueTranslator` fills Korean (and both English locales) at sync.
The callbacks only call the :class:`CommandHandlers` the adapter implements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import discord
from discord import app_commands
from discord.app_commands import locale_str

from core.command_table import MenuItem, discord_commands
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


Node = app_commands.Command[Any, ..., None]
NodeFactory = Callable[[CommandHandlers], Node]


class UndeclaredDiscordCommand(LookupError):
    """The command table names a Discord command this adapter has no node for."""


def _star_create(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("star_create"), description=_ls("star_create_desc"))
    @app_commands.rename(export=_ls("star_create_export"))
    @app_commands.describe(export=_ls("star_create_export_desc"))
    async def create(interaction: discord.Interaction, export: discord.Attachment) -> None:
        """Start the create-a-star flow with the export already attached."""
        await h.star_create(interaction, export)

    return create


def _star_list(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("star_list"), description=_ls("star_list_desc"))
    async def list_(interaction: discord.Interaction) -> None:
        """The user's stars."""
        await h.star_list(interaction)

    return list_


def _star_chat(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("star_chat"), description=_ls("star_chat_desc"))
    async def chat(interaction: discord.Interaction) -> None:
        """Open a DM with the user."""
        await h.star_chat(interaction)

    return chat


def _voice_setup(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("voice_setup"), description=_ls("voice_setup_desc"))
    @app_commands.rename(recording=_ls("voice_setup_recording"))
    @app_commands.describe(recording=_ls("voice_setup_recording_desc"))
    async def setup(interaction: discord.Interaction, recording: discord.Attachment) -> None:
        """Consent, then the attached recording, the speaker count, samples and "which one is them?"."""
        await h.voice_setup(interaction, recording)

    return setup


def _meeting_start(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("meeting_start"), description=_ls("meeting_start_desc"))
    async def start(interaction: discord.Interaction) -> None:
        """Record the caller's voice channel."""
        await h.meeting_start(interaction)

    return start


def _meeting_stop(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("meeting_stop"), description=_ls("meeting_stop_desc"))
    async def stop(interaction: discord.Interaction) -> None:
        """Stop recording and hand the tracks over."""
        await h.meeting_stop(interaction)

    return stop


def _meeting_upload(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("meeting_upload"), description=_ls("meeting_upload_desc"))
    @app_commands.rename(file=_ls("meeting_upload_file"))
    @app_commands.describe(file=_ls("meeting_upload_file_desc"))
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Process an uploaded recording."""
        await h.meeting_upload(interaction, file)

    return upload


def _meeting_enroll(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("meeting_enroll"), description=_ls("meeting_enroll_desc"))
    @app_commands.rename(recording=_ls("voice_setup_recording"))
    @app_commands.describe(recording=_ls("meeting_enroll_recording_desc"))
    async def enroll(interaction: discord.Interaction, recording: discord.Attachment) -> None:
        """Enrol the member's voice for this guild's meetings (consent first, then the recording)."""
        await h.meeting_enroll(interaction, recording)

    return enroll


def _meeting_list(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("meeting_list"), description=_ls("meeting_list_desc"))
    async def list_(interaction: discord.Interaction) -> None:
        """Past meetings of this guild."""
        await h.meeting_command(interaction, "meeting", "list")

    return list_


def _meeting_summary(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("meeting_summary"), description=_ls("meeting_summary_desc"))
    @app_commands.rename(meeting=_ls("meeting_ref"))
    @app_commands.describe(meeting=_ls("meeting_ref_desc"))
    async def summary(interaction: discord.Interaction, meeting: str = "") -> None:
        """A meeting's summary."""
        await h.meeting_command(interaction, "meeting", f"summary {meeting}".strip())

    return summary


def _meeting_export(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("meeting_export"), description=_ls("meeting_export_desc"))
    @app_commands.rename(meeting=_ls("meeting_ref"))
    @app_commands.describe(meeting=_ls("meeting_ref_desc"))
    async def export(interaction: discord.Interaction, meeting: str = "") -> None:
        """A meeting's transcript as a file."""
        await h.meeting_command(interaction, "meeting", f"export {meeting}".strip())

    return export


def _meeting_ask(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("meeting_ask"), description=_ls("meeting_ask_desc"))
    @app_commands.rename(question=_ls("question"))
    @app_commands.describe(question=_ls("question_desc"))
    async def ask(interaction: discord.Interaction, question: str) -> None:
        """A question across this guild's meetings."""
        await h.meeting_command(interaction, "ask", question)

    return ask


def _privacy(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("privacy"), description=_ls("privacy_desc"))
    async def privacy(interaction: discord.Interaction) -> None:
        """What is recorded, how long, how to opt out."""
        await h.privacy(interaction)

    return privacy


def _optout(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("optout"), description=_ls("optout_desc"))
    @app_commands.guild_only()
    async def optout(interaction: discord.Interaction) -> None:
        """Never capture this user in this guild."""
        await h.optout(interaction)

    return optout


def _optin(h: CommandHandlers) -> Node:
    @app_commands.command(name=_ls("optin"), description=_ls("optin_desc"))
    @app_commands.guild_only()
    async def optin(interaction: discord.Interaction) -> None:
        """Undo ``/optout`` in this guild."""
        await h.optin(interaction)

    return optin


NODES: dict[str, NodeFactory] = {
    "star create": _star_create,
    "star list": _star_list,
    "voice setup": _voice_setup,
    "meeting upload": _meeting_upload,
    "meeting enroll": _meeting_enroll,
    "meeting list": _meeting_list,
    "meeting summary": _meeting_summary,
    "meeting export": _meeting_export,
    "meeting ask": _meeting_ask,
}
"""Discord commands that invoke a core command, by path; offered only when the command table declares them."""
NATIVE: dict[str, NodeFactory] = {
    "star chat": _star_chat,
    "meeting start": _meeting_start,
    "meeting stop": _meeting_stop,
    "privacy": _privacy,
    "optout": _optout,
    "optin": _optin,
}
"""Discord's own commands (voice capture, opt-out, the DM), answered by the adapter itself."""
_GROUPS: dict[str, bool] = {"star": False, "voice": False, "meeting": True}
"""Group name → guild only."""


def _group(name: str) -> app_commands.Group:
    return app_commands.Group(name=_ls(name), description=_ls(f"{name}_desc"), guild_only=_GROUPS[name])


def build_tree(
    client: discord.Client, handlers: CommandHandlers, menu: Sequence[MenuItem]
) -> app_commands.CommandTree[discord.Client]:
    """The command tree for the declared commands ``menu`` (the engine's ``router.menu``) plus Discord's
    own; call ``tree.set_translator`` before syncing."""
    declared = discord_commands(menu)
    missing = sorted(set(declared) - set(NODES))
    if missing:
        raise UndeclaredDiscordCommand(f"no Discord command for {missing}")
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    groups: dict[str, app_commands.Group] = {}
    wanted = {path: NODES[path] for path in NODES if path in declared} | NATIVE
    for path, make in wanted.items():
        group_name, _, _sub = path.rpartition(" ")
        node = make(handlers)
        if not group_name:
            tree.add_command(node)
            continue
        if group_name not in groups:
            groups[group_name] = _group(group_name)
        groups[group_name].add_command(node)
    for group in groups.values():
        tree.add_command(group)

    async def listen(interaction: discord.Interaction, message: discord.Message) -> None:
        await handlers.listen(interaction, message)

    tree.add_command(app_commands.ContextMenu(name=_ls("listen"), callback=listen))
    return tree


def command_paths(tree: app_commands.CommandTree[discord.Client]) -> set[str]:
    """Every slash command of ``tree`` by its English path (``"star create"``), groups expanded."""
    paths: set[str] = set()
    for command in tree.get_commands(type=discord.AppCommandType.chat_input):
        if isinstance(command, app_commands.Group):
            paths |= {f"{command.name} {sub.name}" for sub in command.commands}
        else:
            paths.add(command.name)
    return paths
