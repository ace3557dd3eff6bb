"""``/verify``: a family member sends a recording and learns whether VOS made it (signature, watermark, tag).

A voice-phishing call may use a voice made elsewhere; this only tells whether a file is a VOS note. The
answer says so, so that "not found" is never read as "this is really them".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from core.command_table import CommandSpec, Feature, Section, Shown
from core.context import Context, FlowState
from core.domain.actions import Action, SendText
from core.domain.events import FileUploaded, VoiceMessage
from core.voice.provenance import ProvenanceLog, verify

log = logging.getLogger(__name__)


class VerifyCommands:
    """``/verify`` and the one-step flow that takes the file."""

    kind = "verify"

    def __init__(self, issued: ProvenanceLog | None, *, max_bytes: int) -> None:
        self.issued = issued
        self.max_bytes = max_bytes

    def feature(self) -> Feature:
        """``/verify`` (in ``/help``, not in the short menu) and its flow."""
        verify = CommandSpec(name="verify", handler=self.verify, section=Section.VOICE, shown=Shown.HELP)
        return Feature(commands=(verify,), flows=(self,))

    async def verify(self, ctx: Context) -> AsyncIterator[Action]:
        """Ask for the file to check."""
        async for action in ctx.start_flow(self.kind):
            yield action

    async def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Ask for the recording."""
        state.goto("file")
        yield SendText(text=ctx.tr("verify.ask"))

    async def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Check the file sent; anything else ends the question."""
        event = ctx.event
        state.finish()
        if not isinstance(event, FileUploaded | VoiceMessage):
            yield SendText(text=ctx.tr("verify.no_file"))
            return
        if event.file.size > self.max_bytes:
            yield SendText(text=ctx.tr("verify.too_big", mb=self.max_bytes // 1_000_000))
            return
        result = await asyncio.to_thread(verify, event.file.path, self.issued)
        log.info("verify: ai_generated=%s evidence=%d", result.ai_generated, len(result.evidence))
        key = "verify.vos_made" if result.ai_generated else "verify.not_found"
        yield SendText(text=ctx.tr(key, evidence="\n".join(f"• {e}" for e in result.evidence)))
