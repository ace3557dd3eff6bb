"""Chatting with a star: safety in, memories and history, a reply engine, safety out, bubbles."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum, StrEnum
from functools import partial
from typing import Any

from core.domain.actions import Action, SendText, TypingPause
from core.domain.identity import Locale, User
from core.domain.stars import ChatTurn, Star, TurnRole
from core.i18n import t
from core.personas.honesty import RealnessDetector, admits_ai, honest_reply
from core.personas.offline_chat import MEMORY_LIMIT, OfflineChat
from core.personas.prompting import HistoryTurn, Memory, MemoryLine, PersonaCard, PromptBudget, build_prompt
from core.personas.recall_queries import MemoryQueryRewriter, search_rewritten
from core.personas.replies import split_bubbles, typing_pause_s
from core.personas.style import StyleProfile, style_hints
from core.ports import ChatModel, ChatModelError
from core.safety.care import (
    CARE_VERDICTS,
    CareOptions,
    CareState,
    care_state,
    check_in,
    paused_reply,
    safe_ack,
    says_safe,
)
from core.safety.check import SafetyGuard
from core.safety.crisis import CrisisResources, crisis_reply
from core.safety.injection import screen_model_output
from core.safety.star_lines import screen_star_lines
from core.safety.verdict import blocked_message
from core.storage.chat_turns import AlsoWrite, ChatRepository, NewTurns
from core.storage.ids import utcnow
from core.storage.memory import MemoryQuery, MemoryStore, Recollection
from core.storage.moments import conversation_moment
from core.storage.safety_events import SafetyEventRepository
from core.storage.stars import StarRepository

log = logging.getLogger(__name__)


class Unread(Enum):
    """A value the caller did not read."""

    UNREAD = "unread"


UNREAD = Unread.UNREAD


class ReplyOrigin(StrEnum):
    """Who speaks in a reply: the star (through its engine), the safety guard out of character, or an error
    note. Adapters show only the star's own words as the star's bubbles."""

    STAR = "star"
    SAFETY = "safety"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatReply:
    """What a chat turn produced (for the CLI's ``--json``)."""

    bubbles: tuple[str, ...]
    engine: str
    """The engine's name for the log and ``--json`` (``safety`` and ``error`` for those origins)."""
    origin: ReplyOrigin = ReplyOrigin.STAR
    verdict: str = "allow"
    notices: tuple[str, ...] = ()
    """Out-of-character lines sent before the bubbles (the check-in after a crisis pause)."""
    turn_ids: tuple[str, ...] = ()
    """The stored star turn of each bubble (same order), when the bubbles are the star's stored words."""


def guard_reply(text: str, verdict: str = "allow") -> ChatReply:
    """The safety guard speaking out of character (crisis care, a pause, a stopped scam), never the star."""
    return ChatReply(bubbles=(text,), engine="safety", origin=ReplyOrigin.SAFETY, verdict=verdict)


class ChatService:
    """One turn of conversation with a star, the same for every adapter and the CLI."""

    def __init__(
        self,
        *,
        stars: StarRepository,
        chats: ChatRepository,
        memory: MemoryStore,
        safety_events: SafetyEventRepository,
        guard: SafetyGuard,
        offline: OfflineChat,
        model: ChatModel | None = None,
        budget: PromptBudget | None = None,
        history_turns: int = 20,
        crisis_resources: CrisisResources | None = None,
        care: CareOptions | None = None,
        honesty: RealnessDetector | None = None,
        rewriter: MemoryQueryRewriter | None = None,
    ) -> None:
        self.honesty = honesty or RealnessDetector(None)
        self.rewriter = rewriter
        self.crisis_resources = crisis_resources
        self.care = care or CareOptions()
        self.stars = stars
        self.chats = chats
        self.memory = memory
        self.safety_events = safety_events
        self.guard = guard
        self.offline = offline
        self.model = model
        self.budget = budget or PromptBudget(context_tokens=8192, reply_tokens=400)
        self.history_turns = history_turns

    @property
    def engine_name(self) -> str:
        """The reply engine in use."""
        return self.model.name if self.model else self.offline.name

    async def turn(
        self,
        user: User,
        star: Star,
        text: str,
        locale: Locale,
        *,
        history: list[ChatTurn] | None = None,
        export_version: int | None = None,
        memories: Sequence[Recollection] | None = None,
        last_care: tuple[str, datetime] | Unread | None = UNREAD,
        query: MemoryQuery | None = None,
    ) -> ChatReply:
        """Answer one user message. Blocked text never reaches memory; LLM failures keep the message.

        ``history``: the recent turns when the caller already read them (the engine does, in the same
        query that decides the AI notice); ``export_version``: the star's export version when the caller
        read it (caches of the export are keyed by it; otherwise it is read when needed); ``memories``:
        the star's memory search for ``text`` (``MEMORY_LIMIT`` moments) when the caller already ran it;
        ``last_care``: the conversation's latest care event when the caller read it (``None``: none);
        ``query``: ``text`` prepared for memory search (morphemes and the one embedding of this message,
        which the safety classifier reads from the shared query cache) when the caller already prepared it.
        """
        if query is None:
            query = await self.memory.prepare(text)
        if isinstance(last_care, Unread):
            last_care = await self.safety_events.last_of(user.id, star.id, CARE_VERDICTS)
        state = care_state(last_care, utcnow(), self.care)
        if history is None:
            history = await self.chats.recent(user.id, star.id, self.history_turns)
        # The one path to the reply's bubbles; a model drafts while the guard (and the model's classifier)
        # judge the message, the offline engine starts once the message is allowed.
        compose = partial(
            self._compose,
            user,
            star,
            query,
            history,
            locale,
            export_version=export_version,
            memories=memories,
        )
        check = asyncio.ensure_future(
            self.guard.check(text, role="user", locale=locale, conversation=f"{user.id}:{star.id}")
        )
        draft: asyncio.Future[tuple[list[str], str]] | None = None
        try:
            if self.model is not None and state is not CareState.PAUSED:
                draft = asyncio.ensure_future(compose())  # released only after an ``allow`` verdict
            verdict = await check
        except BaseException:
            await _cancel(check, draft)
            raise
        if not verdict.allowed:
            await _cancel(draft)
        if verdict.verdict == "crisis":
            await self.safety_events.log(user.id, star.id, "in", "crisis", verdict.reasons, referral=True)
            return guard_reply(crisis_reply(locale, self.crisis_resources), "crisis")
        if verdict.verdict == "block":
            await self.safety_events.log(user.id, star.id, "in", "block", verdict.reasons)
            return guard_reply(blocked_message(locale), "block")
        if state is CareState.PAUSED:
            if says_safe(text):
                await self.safety_events.log(user.id, star.id, "in", "safe", ())
                return guard_reply(safe_ack(locale, star.name), "safe")
            return guard_reply(paused_reply(locale, star.name, self.crisis_resources), "paused")
        notices: tuple[str, ...] = ()
        if state is CareState.RETURNING:
            await self.safety_events.log(user.id, star.id, "in", "checkin", ())
            notices = (check_in(locale),)
        if draft is None:
            draft = asyncio.ensure_future(compose())
        try:
            reply = await self._answer(
                user,
                star,
                text,
                locale,
                history=history,
                draft=draft,
                query=query,
                export_version=export_version,
            )
        except BaseException:
            await _cancel(draft)
            raise
        return replace(reply, notices=notices) if notices else reply

    async def _answer(
        self,
        user: User,
        star: Star,
        text: str,
        locale: Locale,
        *,
        history: list[ChatTurn],
        draft: asyncio.Future[tuple[list[str], str]],
        query: MemoryQuery,
        export_version: int | None,
    ) -> ChatReply:
        """Store the message, wait for the ``draft``, screen its lines, store the reply."""
        said = NewTurns(role=TurnRole.USER, texts=(text,), at=utcnow())
        # An LLM call can fail or time out: the user's message is stored first so it is never lost. The
        # offline engine cannot fail that way, so its turn writes the message and the reply together.
        deferred: list[NewTurns] = [said] if self.model is None else []
        if not deferred:
            await self.chats.add_many(user.id, star.id, [said])
        try:
            bubbles, engine = await draft
        except ChatModelError as exc:
            await self.chats.add_many(user.id, star.id, deferred)
            log.warning("chat model failed for star=%s: %s", star.id, exc)
            reason = getattr(exc, "reason", "")
            key = {"timeout": "chat.error.timeout", "rate_limited": "chat.error.rate_limited"}.get(
                reason, "chat.error.unavailable"
            )
            return ChatReply(
                bubbles=(t(locale, key, star=star.name),),
                engine="error",
                verdict="error",
                origin=ReplyOrigin.ERROR,
            )
        except Exception:
            await self.chats.add_many(user.id, star.id, deferred)
            raise
        screened = await screen_star_lines(self.guard, bubbles, locale)
        if screened.withheld:
            log.warning(
                "star line withheld (%s); asking again (star=%s)", ",".join(screened.reasons), star.id
            )
            bubbles = await self._compose_again(
                user, star, query, history, screened.withheld, locale=locale, export_version=export_version
            )
            screened = await screen_star_lines(self.guard, bubbles, locale)
        if screened.scam is not None:
            await self.chats.add_many(user.id, star.id, deferred)
            await self.safety_events.log(user.id, star.id, "out", "block", screened.scam.reasons)
            message = blocked_message(locale, role="star", star=star.name)
            return ChatReply(bubbles=(message,), engine=engine, verdict="block")
        if screened.withheld:
            await self.safety_events.log(user.id, star.id, "out", "withheld", screened.reasons)
        safe = list(screened.lines)
        if not safe:
            await self.chats.add_many(user.id, star.id, deferred)
            return guard_reply(t(locale, "chat.offline.nothing_to_say", star=star.name))
        answered = NewTurns(role=TurnRole.STAR, texts=tuple(safe), engine=engine)
        remember = await self._remembering(user, star, query, safe)
        ids = await self.chats.add_many(user.id, star.id, [*deferred, answered], also=remember)
        return ChatReply(bubbles=tuple(safe), engine=engine, turn_ids=tuple(ids[len(ids) - len(safe) :]))

    async def _remembering(
        self, user: User, star: Star, query: MemoryQuery, bubbles: Sequence[str]
    ) -> AlsoWrite:
        """What the user said and the star's answer become the user's searchable memory of the star."""
        moment = conversation_moment(
            user_name=star.user_name or user.display_name or "user",
            star_name=star.name,
            said=query.text,
            answered=bubbles,
            at=utcnow(),
            turn_id=0,
        )
        return await self.memory.remembering(
            user_id=user.id, star_id=star.id, moment=moment, vector=query.vector, embedder=query.embedder
        )

    async def _compose(
        self,
        user: User,
        star: Star,
        query: MemoryQuery,
        history: list[ChatTurn],
        locale: Locale,
        *,
        export_version: int | None,
        memories: Sequence[Recollection] | None,
    ) -> tuple[list[str], str]:
        text = query.text
        rewritten = await self.rewriter.queries(text) if self.rewriter is not None else []
        if rewritten:  # the model named what the memory would hold: search those words too
            memories = await search_rewritten(
                self.memory, star.id, query, rewritten, user_id=user.id, limit=MEMORY_LIMIT
            )
        elif memories is None:
            memories = await self.memory.search(star.id, query, user_id=user.id, limit=MEMORY_LIMIT)
        asks_if_real = await self.honesty.asks(text, (star.name, star.relation, star.participant_name))
        if asks_if_real and self.model is None:
            return await self._honest(star, locale), "honesty"
        if self.model is None:
            recent = [h.text for h in history[-6:] if h.role is TurnRole.STAR]
            bubbles = await self.offline.reply(
                star.id,
                query,
                turn_index=len(history),
                recent=recent,
                export_version=export_version,
                memories=memories,
                user_id=user.id,
            )
            return bubbles, self.offline.name
        quoted = [
            Memory(
                when=memory.time.replace(tzinfo=None),  # export times are naive, local to the chat
                exchange=tuple(
                    MemoryLine(author=star.name if m.is_star else m.author, text=m.text) for m in memory.lines
                ),
                score=memory.score,
            )
            for memory in memories
        ]
        stored = await self.stars.style_profile(star.id)
        profile = StyleProfile.from_dict(stored.profile) if stored else None
        card = PersonaCard(
            asks_if_real=asks_if_real,
            star_name=star.name,
            relation=star.relation,
            user_name=star.user_name or user.display_name,
            address=star.user_address,
            notes=star.notes,
            traits=stored.traits if stored else (),
            style_hints=tuple(style_hints(profile)) if profile else (),
            examples=await self._examples(star.id, export_version),
            locale=locale.value,
            birth=star.birth_date,
            death=star.death_date,
        )
        turns = [
            HistoryTurn(role="star" if h.role is TurnRole.STAR else "user", text=h.text) for h in history
        ]
        prompt = build_prompt(
            card,
            tuple(quoted),
            tuple(turns),
            text,
            budget=self.budget,
            count_tokens=self.model.count_tokens,
        )
        completion = await self.model.complete(prompt.messages, max_tokens=self.budget.reply_tokens)
        # Only the instructions: quoted memories may be repeated, they are the star's own words.
        problem = screen_model_output(completion.text, prompt.instructions)
        if problem is not None:
            log.warning("reply screened out (%s); replaced (star=%s)", problem, star.id)
            return [], self.model.name
        bubbles = split_bubbles(completion.text, names=(star.name, star.participant_name))
        if asks_if_real and not admits_ai(bubbles):
            log.info("the model did not say it is an AI when asked; honest reply used (star=%s)", star.id)
            return await self._honest(star, locale, profile), "honesty"
        return bubbles, self.model.name

    async def _honest(self, star: Star, locale: Locale, profile: StyleProfile | None = None) -> list[str]:
        """The honest answer to "are you real?", in the star's manner."""
        if profile is None:
            stored = await self.stars.style_profile(star.id)
            profile = StyleProfile.from_dict(stored.profile) if stored else None
        found = profile.address_terms[0][0] if profile and profile.address_terms else ""
        address = star.user_address or found
        return honest_reply(locale, star.name, address=address, profile=profile)

    async def _compose_again(
        self,
        user: User,
        star: Star,
        query: MemoryQuery,
        history: list[ChatTurn],
        withheld: tuple[str, ...],
        *,
        locale: Locale,
        export_version: int | None,
    ) -> list[str]:
        """A second reply without the withheld lines: the offline engine picks among the other real lines,
        a model is asked once more; on any failure, nothing (the caller falls back)."""
        try:
            if self.model is None:
                found = await self.memory.search(star.id, query, user_id=user.id, limit=MEMORY_LIMIT)
                others = [m for m in found if not any(line.text.strip() in withheld for line in m.lines)]
                recent = [*(h.text for h in history[-6:] if h.role is TurnRole.STAR), *withheld]
                return await self.offline.reply(
                    star.id,
                    query,
                    turn_index=len(history),
                    recent=recent,
                    export_version=export_version,
                    memories=others,
                    user_id=user.id,
                )
            bubbles, _ = await self._compose(
                user, star, query, history, locale, export_version=export_version, memories=None
            )
            return bubbles
        except ChatModelError as exc:
            log.warning("second reply failed for star=%s: %s", star.id, exc)
            return []

    async def _examples(self, star_id: str, export_version: int | None) -> tuple[str, ...]:
        return await self.offline.style_examples(star_id, export_version=export_version)


async def _cancel(*futures: asyncio.Future[Any] | None) -> None:
    """Cancel and wait for futures that are no longer wanted (their errors do not matter any more)."""
    for future in futures:
        if future is None:
            continue
        future.cancel()
        await asyncio.wait([future])
        if not future.cancelled():
            future.exception()  # retrieved, so it is not reported as never retrieved


def reply_actions(reply: ChatReply) -> AsyncIterator[Action]:
    """Bubbles as separate messages with a short typing pause between them."""

    async def gen() -> AsyncIterator[Action]:
        for notice in reply.notices:
            yield SendText(text=notice, from_star=False)
        from_star = reply.origin is ReplyOrigin.STAR
        turn_ids = reply.turn_ids if len(reply.turn_ids) == len(reply.bubbles) else ()
        for i, bubble in enumerate(reply.bubbles):
            if i:
                yield TypingPause(seconds=typing_pause_s(bubble))
            yield SendText(text=bubble, from_star=from_star, turn_id=turn_ids[i] if turn_ids else "")

    return gen()
