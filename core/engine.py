"""The engine: one inbound event in, a stream of outbound actions out. Every adapter talks to this."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, assert_never

from core.blob_release import flow_blob_keys, release_blobs
from core.command_table import Router
from core.context import Context, FlowState
from core.domain.actions import Action, SendText
from core.domain.events import ChoiceMade, CommandInvoked, Event, FileUploaded, TextMessage, VoiceMessage
from core.domain.flows import RunningFlow
from core.domain.identity import Locale, User
from core.event_runner import report_failure
from core.flows.base import (
    FLOW_KEY,
    QUESTION,
    AbandonableFlow,
    bind_choices,
    bound_choice,
    has_flow_choices,
    new_question_token,
)
from core.i18n import t
from core.personas.chat import UNREAD, ChatService, ReplyOrigin, reply_actions
from core.personas.offline_chat import MEMORY_LIMIT
from core.ports import BlobReferences, FlowStore, StarChat, TurnReader, TurnState, UserStore
from core.safety.limits import (
    QueueBound,
    RateDecision,
    RateLimiter,
    queue_full_message,
    rate_limited_message,
)
from core.safety.reminder import AiReminder

if TYPE_CHECKING:
    from core.personas.voice_chat import VoiceChat
    from core.ports import BlobStore

log = logging.getLogger(__name__)

_MAX_TEXT = 4000  # characters of a message a chat turn reads
__all__ = ["Engine", "Router"]


class _TooFastNotices:
    """At most one "you are sending too fast" reply per burst and user.

    Told once, a user hears nothing more until the time they were told to wait has passed: a burst of
    hundreds of messages gets one answer, not hundreds (which would trip the platform's flood control).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_users: int = 10_000) -> None:
        self._clock = clock
        self._max_users = max_users
        self._quiet_until: OrderedDict[object, float] = OrderedDict()

    def tell(self, user: object, retry_after_s: float) -> bool:
        """Whether to answer this refused message (and if so, stay quiet for ``retry_after_s``)."""
        now = self._clock()
        if self._quiet_until.get(user, float("-inf")) > now:
            return False
        self._quiet_until[user] = now + max(retry_after_s, 1.0)
        self._quiet_until.move_to_end(user)
        while len(self._quiet_until) > self._max_users:
            self._quiet_until.popitem(last=False)
        return True


class Engine:
    """Resolves the user and locale, routes the event, and never lets an exception reach an adapter."""

    def __init__(
        self,
        *,
        users: UserStore,
        flows: FlowStore,
        turns: TurnReader,
        chat: ChatService,
        router: Router,
        message_limiter: RateLimiter | None = None,
        default_locale: Locale = Locale.KO,
        voice_chat: VoiceChat | None = None,
        job_limiter: RateLimiter | None = None,
        heavy_bound: QueueBound | None = None,
        references: BlobReferences | None = None,
        blobs: BlobStore | None = None,
        reminder: AiReminder | None = None,
    ) -> None:
        self.turns = turns
        self.reminder = reminder or AiReminder()
        self.job_limiter = job_limiter
        self.heavy_bound = heavy_bound
        self.users = users
        self.flow_repo = flows
        self.chat = chat
        self.router = router
        self.limiter = message_limiter
        self.default_locale = default_locale
        self.voice_chat = voice_chat
        # With both, ending a flow deletes the uploads only its state named (see _end_flow).
        self.references = references
        self.blobs = blobs
        self._too_fast = _TooFastNotices()

    async def read_state(self, event: Event, *, chat: bool = True) -> TurnState:
        """The user (created on first contact), their running flow and, for a text message (unless
        ``chat`` is false), their active star's chat with the memories its text recalls: one database
        round trip, handed down the event's path instead of re-read."""
        said = event.text[:_MAX_TEXT] if chat and isinstance(event, TextMessage) else None
        # The message's morphemes and its one embedding (shared with the safety classifier), off the loop.
        query = await self.chat.memory.prepare(said) if said is not None else None
        return await self.turns.read(
            event.user,
            display_name=event.display_name or event.user.platform_user_id,
            locale=event.locale_hint or self.default_locale,
            history_turns=self.chat.history_turns if said is not None else None,
            recall=query,
            recall_limit=MEMORY_LIMIT,
        )

    def context(self, user: User, event: Event) -> Context:
        """The context of ``event`` from ``user``: an explicit language choice wins over the platform's."""
        locale = user.locale if user.locale_is_explicit else (event.locale_hint or user.locale)
        return Context(user=user, locale=locale, event=event, flows=self)

    async def context_for(self, event: Event) -> Context:
        """The user (created on first contact) and the language to answer in."""
        return self.context((await self.read_state(event, chat=False)).user, event)

    async def handle(self, event: Event) -> AsyncIterator[Action]:
        """Process one event; errors become a short apology with a reference id."""
        locale = event.locale_hint or self.default_locale
        try:
            refused = self._rate_limited(event)
            if refused is not None and not self._too_fast.tell(event.user, refused.retry_after_s):
                return  # already told during this burst: answering each message would feed the flood
            state = await self.read_state(event, chat=refused is None)
            ctx = self.context(state.user, event)
            locale = ctx.locale
            if refused is not None:
                yield SendText(text=rate_limited_message(ctx.locale, refused))
                return
            async for action in self._dispatch(ctx, state):
                yield action
        except Exception:
            ref = report_failure(log, "event failed (kind=%s)", type(event).__name__)
            yield SendText(text=t(locale, "common.error", ref=ref))

    def _rate_limited(self, event: Event) -> RateDecision | None:
        """The refusal of a message sent too fast (choices are never limited), else ``None``.

        Checked before the turn's read, by platform identity (one per user), so a refused message costs
        only the read of the user's language: no history, no memory search.
        """
        if self.limiter is None or isinstance(event, ChoiceMade):
            return None
        decision = self.limiter.check(event.user)
        return None if decision else decision

    async def _dispatch(self, ctx: Context, state: TurnState) -> AsyncIterator[Action]:
        event = ctx.event
        if isinstance(event, FileUploaded | VoiceMessage):
            # Uploads start the heavy work (imports, separation, transcription): limited per user and overall.
            async for action in self._heavy(ctx, state.flow):
                yield action
            return
        match event:
            case CommandInvoked(command=command):
                gen = self._command(ctx, command.lower(), state.flow)
            case ChoiceMade(key=key):
                gen = self._choice(ctx, key, state.flow)
            case TextMessage() | FileUploaded() | VoiceMessage():
                gen = self._message(ctx, state.flow, state.chat)
            case _:
                assert_never(event)
        async for action in gen:
            yield action

    async def _heavy(self, ctx: Context, flow: RunningFlow | None) -> AsyncIterator[Action]:
        if self.job_limiter is not None:
            decision = self.job_limiter.check(ctx.user.id)
            if not decision:
                yield SendText(text=rate_limited_message(ctx.locale, decision, kind="jobs"))
                return
        if self.heavy_bound is not None and not self.heavy_bound.try_acquire(ctx.user.id):
            yield SendText(text=queue_full_message(ctx.locale))
            return
        try:
            async for action in self._message(ctx, flow):
                yield action
        finally:
            if self.heavy_bound is not None:
                self.heavy_bound.release(ctx.user.id)

    async def _command(self, ctx: Context, command: str, flow: RunningFlow | None) -> AsyncIterator[Action]:
        if command == "cancel":
            if flow is not None:
                await self._abandon(flow)
                await self._end_flow(ctx.user.id)
            yield SendText(text=ctx.tr("common.cancelled" if flow else "common.nothing_to_cancel"))
            return
        handler = self.router.commands.get(command)
        if handler is None:
            yield SendText(text=ctx.tr("common.unknown_command", command=command[:40]))
            return
        if flow is not None and command not in self.router.keeps_flow:
            await self._abandon(flow)  # a new command replaces an unfinished dialog
            await self._end_flow(ctx.user.id)
        async for action in handler(ctx):
            yield action

    async def _abandon(self, running: RunningFlow) -> None:
        """Let an unfinished dialog's flow drop what it keeps outside its state (e.g. decoded audio)."""
        flow = self.router.flows.get(running.kind)
        if isinstance(flow, AbandonableFlow):
            await flow.abandon(FlowState(kind=running.kind, step=running.step, data=running.data))

    async def expire_flows(self, older_than: datetime) -> int:
        """End every dialog left untouched since ``older_than`` (a ``/new`` or ``/voice`` the user walked away
        from) as ``/cancel`` would: the flow drops what it keeps outside its state (decoded audio), then the
        uploads its state held (the chat export, the photo, the recording) are released. Returns how many."""
        expired = await self.flow_repo.expire(older_than)
        held: set[str] = set()
        for gone_flow in expired:
            try:
                await self._abandon(gone_flow.flow)
            except Exception:
                log.warning(
                    "an expired %s flow could not release its files", gone_flow.flow.kind, exc_info=True
                )
            held |= flow_blob_keys(gone_flow.flow.data)
        if held and self.references is not None and self.blobs is not None:
            gone = await release_blobs(self.references, self.blobs, held)
            log.info("flows expired: %d, blobs_released=%d of %d", len(expired), len(gone), len(held))
        elif expired:
            log.info("flows expired: %d", len(expired))
        return len(expired)

    async def _choice(self, ctx: Context, key: str, flow: RunningFlow | None) -> AsyncIterator[Action]:
        bound = bound_choice(key)
        if bound is not None:
            token, value = bound
            if flow is None or not token or flow.data.get(QUESTION) != token:
                # A button under an older question (or a finished flow's): never the pending one's answer.
                log.info("stale flow choice (flow running: %s)", flow is not None)
                yield SendText(text=ctx.tr("platforms.choice_expired"))
                return
            assert isinstance(ctx.event, ChoiceMade)
            answer = dataclasses.replace(ctx.event, key=FLOW_KEY + value)
            async for action in self._continue_flow(self.context(ctx.user, answer), flow):
                yield action
            return
        prefix, _, value = key.partition(":")
        handler = self.router.choices.get(prefix)
        if handler is None:
            log.info("unknown choice key prefix %r", prefix[:20])
            return
        async for action in handler(ctx, value):
            yield action

    async def start_flow(
        self, ctx: Context, kind: str, data: Mapping[str, object] | None = None
    ) -> AsyncIterator[Action]:
        """Begin a flow and persist its state."""
        flow = self.router.flows[kind]
        state = FlowState(kind=kind, step="start", data=dict(data or {}))
        async for action in self._bound(flow.start(ctx, state), state):
            yield action
        await self._persist(ctx.user, state)

    async def _continue_flow(self, ctx: Context, running: RunningFlow | None) -> AsyncIterator[Action]:
        if running is None:
            return
        flow = self.router.flows.get(running.kind)
        if flow is None:
            await self._end_flow(ctx.user.id)
            return
        state = FlowState(kind=running.kind, step=running.step, data=running.data)
        async for action in self._bound(flow.on_event(ctx, state), state):
            yield action
        await self._persist(ctx.user, state)

    @staticmethod
    async def _bound(actions: AsyncIterator[Action], state: FlowState) -> AsyncIterator[Action]:
        """The flow's actions with each new question's choices bound to a fresh token kept in its state.

        One token per turn that asks: the previous question's buttons expire once a new one is asked.
        """
        token = None
        async for action in actions:
            if not has_flow_choices(action):
                yield action
                continue
            if token is None:
                token = state.data[QUESTION] = new_question_token()
            yield bind_choices(action, token)

    async def _persist(self, user: User, state: FlowState) -> None:
        if state.finished:
            await self._end_flow(user.id, state.data)
        else:
            await self.flow_repo.save(user.id, state.kind, state.step, state.data)

    async def _end_flow(self, user_id: str, data: Mapping[str, object] | None = None) -> None:
        """Delete the user's flow state, then release the blobs it held (``data``: the state's last step,
        which may name a blob its persisted row does not yet).

        "Cancel" means gone: the export and photo of an abandoned ``/new`` are deleted now, not by the orphan
        collector a day later. The row goes first, so the reference check no longer counts it; a blob that
        anything else names (the star the finished flow made, another user's open ``/new`` with the same
        export) is kept. Called only when a flow was running: a turn without one pays nothing.
        """
        held = flow_blob_keys(await self.flow_repo.clear(user_id)) | flow_blob_keys(data)
        if not held or self.references is None or self.blobs is None:
            return
        try:
            gone = await release_blobs(self.references, self.blobs, held)
        except Exception:
            # The flow has ended either way; what could not be deleted now is an orphan the collector takes.
            log.warning("releasing an ended flow's blobs failed (%d keys)", len(held), exc_info=True)
            return
        log.info("flow ended: blobs_released=%d of %d", len(gone), len(held))

    async def _message(
        self, ctx: Context, flow: RunningFlow | None, chat: StarChat | None = None
    ) -> AsyncIterator[Action]:
        if flow is not None:
            async for action in self._continue_flow(ctx, flow):
                yield action
            return
        match ctx.event:
            case TextMessage(text=text):
                async for action in self._chat(ctx, text, chat):
                    yield action
            case VoiceMessage() if self.voice_chat is not None:
                async for action in self.voice_chat.answer(ctx, self._chat):
                    yield action
            case FileUploaded() | VoiceMessage():
                handler = self.router.commands.get("_file")
                if handler is None:
                    yield SendText(text=ctx.tr("common.file_unexpected"))
                    return
                async for action in handler(ctx):
                    yield action

    async def _chat(self, ctx: Context, text: str, chat: StarChat | None = None) -> AsyncIterator[Action]:
        """A chat turn with the active star; ``chat``: what the event's read already knows (a transcribed
        voice note's turn reads it now)."""
        from core.domain.stars import StarStatus

        if chat is None:
            chat = await self.turns.star_chat(ctx.user.id, self.chat.history_turns)
        star = chat.star
        if star is None:
            stars = await self.chat.stars.list_owned(ctx.user.id)
            if not stars:
                yield SendText(text=ctx.tr("common.no_star"))
                return
            yield SendText(text=ctx.tr("common.choose_star_first"))
            return
        if star.status is StarStatus.RETIRED:
            yield SendText(text=ctx.tr("stars.retired_readonly", name=star.name))
            return
        notice = None
        if not chat.talked:  # the first turn ever: the AI notice (once: a blocked turn stores no reply)
            if self.reminder.interval_s <= 0 or self.reminder.due(ctx.user.id, star.id):
                notice = ctx.tr("chat.ai_notice", star=star.name)
        elif self.reminder.due(ctx.user.id, star.id):  # and again every few hours of conversation
            notice = ctx.tr("honesty.reminder", name=star.name)
        reply = await self.chat.turn(
            ctx.user,
            star,
            text[:_MAX_TEXT],
            ctx.locale,
            history=list(chat.history),
            export_version=chat.export_version,
            memories=chat.memories,
            last_care=chat.last_care if chat.care_read else UNREAD,
            query=chat.query,
        )
        # The notice goes with the star's own words: a safety reply (crisis care, a pause, a stopped scam)
        # already speaks out of character, so no notice is stacked above it; it comes with the next reply.
        if notice is not None and reply.origin is ReplyOrigin.SAFETY:
            self.reminder.withheld(ctx.user.id, star.id)
        elif notice is not None:
            self.reminder.told(ctx.user.id, star.id)
            yield SendText(text=notice)
        async for action in reply_actions(reply):
            yield action
