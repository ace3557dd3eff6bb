"""``/enroll``: a member enrols their voice once, so later meetings show their name (any adapter renders it).

The flow refuses at once when voice enrolment is not installed, then shows the consent wording and asks
yes/no, and only after a yes asks for the recording. The wording and the moment of the yes are stored with
the voice. In a Discord server the enrolment belongs to that server (and ``/optout`` there deletes it);
elsewhere it is personal. ``/enroll Name`` sets the name shown; the default is the user's display name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from core.command_table import CommandSpec, Feature, Section
from core.context import Context, FlowState
from core.domain.actions import Action, AskChoice, FileKind, SendText
from core.domain.events import CommandInvoked, FileUploaded, VoiceMessage
from core.flows.answers import said_yes
from core.flows.base import StepTable, flow_choice
from core.meetings.commands import meeting_scope
from core.meetings.enrolment import VoiceEnrolment
from core.storage.ids import utcnow
from core.voice.audio import AudioError


class EnrolStep(StrEnum):
    """The steps of ``/enroll``; the values are what stored dialogs hold."""

    CONSENT = "consent"
    FILE = "file"


class EnrolCommands:
    """``/enroll`` and its flow; :meth:`feature` declares them."""

    kind = "enroll"

    def __init__(self, enrolment: VoiceEnrolment, *, max_upload_bytes: int) -> None:
        self.enrolment = enrolment
        self.max_upload_bytes = max_upload_bytes
        self.steps = StepTable(EnrolStep, {EnrolStep.CONSENT: self._consent, EnrolStep.FILE: self._recording})

    def feature(self) -> Feature:
        """``/enroll`` (Discord: ``/meeting enroll``), its flow, and the eraser of enrolled voices."""
        enroll = CommandSpec(
            name="enroll", handler=self.enroll, section=Section.MEETINGS, discord=("meeting enroll",)
        )
        return Feature(commands=(enroll,), flows=(self,), erasers=(self.enrolment.forget_user,))

    async def enroll(self, ctx: Context) -> AsyncIterator[Action]:
        """Start the flow (or say at once that enrolment is not installed)."""
        if not self.enrolment.available:
            yield SendText(text=ctx.tr("enrol.not_available"))
            return
        asked = ctx.event.args.strip() if isinstance(ctx.event, CommandInvoked) else ""
        name = " ".join((asked or ctx.user.display_name).split())[:100] or ctx.user.display_name
        scope = meeting_scope(ctx)
        consent = ctx.tr(
            "enrol.consent",
            name=name,
            scope=ctx.tr("enrol.scope_guild" if scope.guild_id else "enrol.scope_personal"),
        )
        data = {"name": name, "guild_id": scope.guild_id, "consent": consent}
        async for action in ctx.start_flow(self.kind, data):
            yield action

    async def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Show the consent wording and ask."""
        state.goto(EnrolStep.CONSENT)
        yield AskChoice(
            prompt=ctx.tr("enrol.ask_consent", consent=state.data["consent"]),
            options=(flow_choice("yes", ctx.tr("common.yes")), flow_choice("no", ctx.tr("common.no"))),
        )

    async def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Consent first, then the recording."""
        async for action in self.steps.dispatch(ctx, state):
            yield action

    async def _consent(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        if not said_yes(ctx.event):
            state.finish()
            yield SendText(text=ctx.tr("enrol.declined"))
            return
        state.data["consented_at"] = utcnow().isoformat()
        state.goto(EnrolStep.FILE)
        # A file the command already carried (Discord's /meeting enroll) is fed here, after consent.
        yield SendText(text=ctx.tr("enrol.ask_recording"), expects_file=FileKind.AUDIO)

    async def _recording(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        event = ctx.event
        if not isinstance(event, FileUploaded | VoiceMessage):
            yield SendText(text=ctx.tr("enrol.not_a_file"))
            return
        if event.file.size > self.max_upload_bytes:
            yield SendText(
                text=ctx.tr(
                    "enrol.too_large",
                    size_mb=f"{event.file.size / 1e6:.1f}",
                    limit_mb=f"{self.max_upload_bytes / 1e6:.0f}",
                )
            )
            return
        state.finish()
        yield SendText(text=ctx.tr("enrol.working"))
        guild_id = state.data.get("guild_id")
        try:
            voice = await self.enrolment.enrol(
                owner_user_id=ctx.user.id,
                name=str(state.data["name"]),
                path=Path(event.file.path),
                consent_text=str(state.data["consent"]),
                guild_id=str(guild_id) if guild_id else None,
                platform_user_id=ctx.user.platform_user_id if guild_id else None,
                consented_at=datetime.fromisoformat(str(state.data["consented_at"])),
            )
        except AudioError as exc:
            yield SendText(text=ctx.tr("enrol.failed", reason=exc.message(ctx.locale)))
            return
        yield SendText(text=ctx.tr("enrol.done", name=voice.name, seconds=f"{voice.seconds:.0f}"))


__all__ = ["EnrolCommands"]
