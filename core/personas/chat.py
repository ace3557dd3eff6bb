"""Chatting with a star: safety in, memories and history, a reply engine, safety out, bubbles."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from core.domain.actions import Action, SendText, TypingPause
from core.domain.identity import Locale, User
from core.domain.stars import ChatTurn, Star, TurnRole
from core.i18n import t
from core.personas.offline_chat import MEMORY_LIMIT, OfflineChat
from core.personas.prompting import HistoryTurn, Memory, MemoryLine, PersonaCard, PromptBudget, build_prompt
from core.personas.replies import split_bubbles, typing_pause_s
from core.personas.style import StyleProfile, style_hints
from core.ports import ChatModel, ChatModelError
from core.safety.check import SafetyGuard
from core.safety.crisis import CrisisResources, crisis_reply
from core.safety.injection import leaks_system_prompt
from core.safety.verdict import blocked_message
from core.storage.ids import utcnow
from core.storage.memory import MemoryQuery, MemoryStore, Recollection
from core.storage.moments import conversation_moment
from core.storage.repositories import ChatRepository, NewTurns, SafetyEventRepository, StarRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatReply:
    """What a chat turn produced (for the CLI's ``--json``)."""

    bubbles: tuple[str, ...]
    engine: str
    verdict: str = "allow"


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
    ) -> None:
        self.crisis_resources = crisis_resources
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
        query: MemoryQuery | None = None,
    ) -> ChatReply:
        """Answer one user message. Blocked text never reaches memory; LLM failures keep the message.

        ``history``: the recent turns when the caller already read them (the engine does, in the same
        query that decides the AI notice); ``export_version``: the star's export version when the caller
        read it (caches of the export are keyed by it; otherwise it is read when needed); ``memories``:
        the star's memory search for ``text`` (``MEMORY_LIMIT`` moments) when the caller already ran it;
        ``query``: ``text`` prepared for memory search (morphemes and the one embedding of this message,
        also the safety classifier's input) when the caller already prepared it.
        """
        if query is None:
            query = await self.memory.prepare(text)
        # query.vector is this message's one embedding: the safety classifier reads the same vector.
        verdict = await self.guard.check(text, role="user", locale=locale)
        if verdict.verdict == "crisis":
            await self.safety_events.log(user.id, star.id, "in", "crisis", verdict.reasons)
            return ChatReply(
                bubbles=(crisis_reply(locale, self.crisis_resources),), engine="safety", verdict="crisis"
            )
        if verdict.verdict == "block":
            await self.safety_events.log(user.id, star.id, "in", "block", verdict.reasons)
            return ChatReply(bubbles=(blocked_message(locale),), engine="safety", verdict="block")
        if history is None:
            history = await self.chats.recent(user.id, star.id, self.history_turns)
        said = NewTurns(role=TurnRole.USER, texts=(text,), at=utcnow())
        # An LLM call can fail or time out: the user's message is stored first so it is never lost. The
        # offline engine cannot fail that way, so its turn writes the message and the reply together.
        deferred: list[NewTurns] = [said] if self.model is None else []
        if not deferred:
            await self.chats.add_many(user.id, star.id, [said])
        try:
            bubbles, engine = await self._compose(
                user, star, query, history, locale=locale, export_version=export_version, memories=memories
            )
        except ChatModelError as exc:
            await self.chats.add_many(user.id, star.id, deferred)
            log.warning("chat model failed for star=%s: %s", star.id, exc)
            reason = getattr(exc, "reason", "")
            key = {"timeout": "chat.error.timeout", "rate_limited": "chat.error.rate_limited"}.get(
                reason, "chat.error.unavailable"
            )
            return ChatReply(bubbles=(t(locale, key, star=star.name),), engine="error", verdict="error")
        except Exception:
            await self.chats.add_many(user.id, star.id, deferred)
            raise
        safe: list[str] = []
        for bubble in bubbles:
            out = await self.guard.check(bubble, role="star", locale=locale)
            if out.verdict == "block":
                await self.chats.add_many(user.id, star.id, deferred)
                await self.safety_events.log(user.id, star.id, "out", "block", out.reasons)
                return ChatReply(bubbles=(blocked_message(locale),), engine=engine, verdict="block")
            safe.append(bubble)
        if not safe:
            await self.chats.add_many(user.id, star.id, deferred)
            return ChatReply(
                bubbles=(t(locale, "chat.offline.nothing_to_say", star=star.name),), engine="safety"
            )
        answered = NewTurns(role=TurnRole.STAR, texts=tuple(safe), engine=engine)
        remember = self._remembering(user, star, query, safe)
        await self.chats.add_many(user.id, star.id, [*deferred, answered], also=remember)
        return ChatReply(bubbles=tuple(safe), engine=engine)

    def _remembering(
        self, user: User, star: Star, query: MemoryQuery, bubbles: Sequence[str]
    ) -> Callable[[Connection], None]:
        """What the user said and the star's answer become the user's searchable memory of the star."""
        moment = conversation_moment(
            user_name=user.display_name or "user",
            star_name=star.name,
            said=query.text,
            answered=bubbles,
            at=utcnow(),
            turn_id=0,
        )
        return self.memory.remembering(
            user_id=user.id, star_id=star.id, moment=moment, vector=query.vector, embedder=query.embedder
        )

    async def _compose(
        self,
        user: User,
        star: Star,
        query: MemoryQuery,
        history: list[ChatTurn],
        *,
        locale: Locale,
        export_version: int | None,
        memories: Sequence[Recollection] | None,
    ) -> tuple[list[str], str]:
        text = query.text
        if memories is None:
            memories = await self.memory.search(star.id, query, user_id=user.id, limit=MEMORY_LIMIT)
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
        profile = StyleProfile.from_json(json.dumps(stored[0])) if stored else None
        card = PersonaCard(
            star_name=star.name,
            relation=star.relation,
            user_name=user.display_name,
            notes=star.notes,
            traits=tuple(stored[1]) if stored else (),
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
        instructions = prompt.messages[0].content.split("<<<DATA", 1)[0]  # quoted memories may be repeated
        if leaks_system_prompt(completion.text, instructions):
            log.warning("reply leaked the system prompt; replaced (star=%s)", star.id)
            return [], self.model.name
        return split_bubbles(completion.text, names=(star.name, star.participant_name)), self.model.name

    async def _examples(self, star_id: str, export_version: int | None) -> tuple[str, ...]:
        return await self.offline.style_examples(star_id, export_version=export_version)


def reply_actions(reply: ChatReply) -> AsyncIterator[Action]:
    """Bubbles as separate messages with a short typing pause between them."""

    async def gen() -> AsyncIterator[Action]:
        for i, bubble in enumerate(reply.bubbles):
            if i:
                yield TypingPause(seconds=typing_pause_s(bubble))
            yield SendText(text=bubble, from_star=reply.engine not in {"safety", "error"})

    return gen()
