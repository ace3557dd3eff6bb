"""Prompt assembly for chatting with a star: persona, quoted memories, recent history, a token budget.

Everything imported (the star's old messages, traits extracted from them, notes the user typed) is quoted
as DATA between fences whose id is a hash of the quoted content, so text inside cannot close a fence it
cannot know the id of; fence-like character runs are also neutralized. Prose lives in ``prompts/``.

The prompt never exceeds ``context_tokens - reply_tokens``. The user's notes and the style examples are first
capped at ``1/8`` of that budget each (so a pasted essay cannot push out the conversation); then, while the
prompt is too long, parts are dropped in this order:
1. history turns older than the last ``keep_recent_turns``;
2. memories, lowest score first;
3. the remaining history, oldest first;
4. style examples, last first;
5. the user's notes, truncated;
6. the new message itself, truncated (only for a message longer than the whole context).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Literal

from core.personas.tokens import MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS, estimate_tokens
from core.ports import PromptMessage
from core.prompt_library import render_text
from core.safety.injection import inline_data, looks_like_injection

MAX_QUOTED_CHARS = 600
"""One quoted message longer than this is cut: a single memory should not crowd out the others."""

TokenCounter = Callable[[str], int]

SHARE_DIVISOR = 8
"""Notes and style examples may each take at most 1/8 of the prompt budget."""


class PromptTooLarge(ValueError):
    """Even the fixed part of the persona prompt does not fit the context budget."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonaCard:
    """Who the star is, as the prompt describes them."""

    star_name: str
    relation: str
    """The star's relation to the user, in the user's words: "엄마", "grandfather"."""
    user_name: str
    """The user's own name (as they gave it, else the platform's display name)."""
    address: str = ""
    """How the star addressed the user (아들, 민준아, honey), as the user confirmed it."""
    notes: str = ""
    """Characteristics the user typed when creating the star."""
    traits: tuple[str, ...] = ()
    style_hints: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    """Messages the star typically sent, most characteristic first (style examples)."""
    locale: str = "ko"
    birth: date | None = None
    death: date | None = None
    asks_if_real: bool = False
    """The new message sincerely asks whether the star is real, alive or an AI (``core.personas.honesty``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryLine:
    """One message of a remembered exchange."""

    author: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Memory:
    """A retrieved piece of the imported conversation, with its retrieval score (higher is more relevant)."""

    when: datetime | None
    exchange: tuple[MemoryLine, ...]
    score: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryTurn:
    """One message of the recent conversation in VOS (one bubble)."""

    role: Literal["user", "star"]
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptBudget:
    """How many tokens the prompt may use: the model's context minus room for the reply."""

    context_tokens: int
    reply_tokens: int
    keep_recent_turns: int = 6

    @property
    def prompt_tokens(self) -> int:
        """The most tokens the prompt may take."""
        return self.context_tokens - self.reply_tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltPrompt:
    """An assembled prompt and what the budget cost it."""

    messages: tuple[PromptMessage, ...]
    used_tokens: int
    dropped_memories: int
    dropped_history: int
    dropped_examples: int = 0
    notes_truncated: bool = False
    message_truncated: bool = False
    fence_id: str = ""
    instructions: str = ""
    """The system message's own words without any quoted data (what a reply must never leak), kept apart
    so no caller has to cut the rendered prompt at a fence."""


def render_prompt(name: str, /, **variables: Any) -> str:
    """Render ``prompts/<name>`` with ``variables``; a missing variable is an error (StrictUndefined)."""
    return render_text(name, **variables)


# --- Quoting ----------------------------------------------------------------------------------------

_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029\x85]+\s*")
_NEEDS_QUOTING = re.compile(
    r"[\x00-\x1f\x7f\x85\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
    r"<>\uff1c\uff1e\ufe64\ufe65\u2039\u203a\u00ab\u00bb]"
)
_OPEN_RUN = re.compile(r"[<\uff1c\ufe64\u2039\u00ab]{2,}")
_CLOSE_RUN = re.compile(r"[>\uff1e\ufe65\u203a\u00bb]{2,}")


def quote(text: str, *, limit: int = MAX_QUOTED_CHARS) -> str:
    """Make ``text`` safe to quote on one line inside a data fence.

    Line breaks become `` / `` (so no quoted line can start like a fence or a new speaker), invisible and
    bidi-control characters go, and runs of angle brackets (the fence's shape) become single guillemets.
    """
    s = text.strip()
    if _NEEDS_QUOTING.search(s):  # most chat lines are plain: skip the substitutions for them
        s = _INVISIBLE.sub("", s)
        s = _LINE_BREAKS.sub(" / ", s.strip())
        s = _OPEN_RUN.sub("‹", s)
        s = _CLOSE_RUN.sub("›", s)
    if len(s) > limit:
        s = s[: limit - 1].rstrip() + "…"
    return s


def memory_lines(memory: Memory) -> list[str]:
    """A memory as quoted lines: a date header, then ``author: text`` per message."""
    lines = [f"# {memory.when.date().isoformat()}" if memory.when else "# (date unknown)"]
    lines.extend(f"{quote(line.author, limit=40)}: {quote(line.text)}" for line in memory.exchange)
    return lines


def _fence_id(*parts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        for line in part:
            digest.update(line.encode("utf-8", "surrogatepass"))
            digest.update(b"\n")
    return digest.hexdigest()[:12]


def _block(kind: str, fence_id: str, lines: Sequence[str]) -> str:
    if not lines:
        return ""
    return render_prompt("persona_data.j2", kind=kind, fence_id=fence_id, lines=list(lines))


def fenced_card(card: PersonaCard) -> PersonaCard:
    """The card with the names and relation users typed made safe for the instructions they appear in.

    They are the only user text outside a DATA fence, so each becomes one short line with nothing that can
    open a heading, a role line, a tag or a fence (``inline_data``); a value that still reads as an
    instruction ("ignore your rules") is replaced by a neutral word rather than repeated to the model.
    """
    # The instructions are English whatever the reply language, so are the neutral words.
    star = _name(card.star_name, 40, "the star")
    relation = _name(card.relation, 40, "family member")
    user = _name(card.user_name, 40, "the user")
    if (star, relation, user) == (card.star_name, card.relation, card.user_name):
        return card
    return replace(card, star_name=star, relation=relation, user_name=user)


def _name(value: str, limit: int, neutral: str) -> str:
    clean = inline_data(value, limit=limit)
    return neutral if not clean or looks_like_injection(value) or looks_like_injection(clean) else clean


# --- Budget -----------------------------------------------------------------------------------------


class _Plan:
    """What is kept so far, with an additive estimate of its tokens; ``reduce`` drops the next part."""

    def __init__(
        self,
        card: PersonaCard,
        *,
        memories: Sequence[Memory],
        history: Sequence[HistoryTurn],
        user_message: str,
        budget: PromptBudget,
        count: TokenCounter,
    ) -> None:
        self.count = count
        self.keep_recent = max(0, budget.keep_recent_turns)
        self.history = list(history)
        self.history_start = 0
        self.history_costs = [count(t.text) + MESSAGE_OVERHEAD_TOKENS for t in self.history]
        # Kept memories with their quoted lines, best first, so the lowest score is always at the end.
        self.memories = sorted(
            ((m, memory_lines(m)) for m in memories), key=lambda p: p[0].score, reverse=True
        )
        self.memory_costs = [sum(count(line) + 1 for line in lines) for _, lines in self.memories]
        share = max(0, budget.prompt_tokens // SHARE_DIVISOR)
        self.examples: list[str] = []
        self.example_costs: list[int] = []
        for example in (quote(e) for e in card.examples if e.strip()):
            cost = count(example) + 1
            if sum(self.example_costs) + cost > share:
                break
            self.examples.append(example)
            self.example_costs.append(cost)
        self.dropped_examples = sum(1 for e in card.examples if e.strip()) - len(self.examples)
        self.notes = quote(card.notes, limit=3 * len(card.notes) + 16)
        self.notes_full = len(self.notes)
        while self.notes and count(self.notes) > share:
            self.notes = self.notes[: len(self.notes) * 3 // 4].rstrip()
        self.user_message = user_message
        self.user_full = len(user_message)
        self.dropped_memories = 0
        # Running totals: a huge input is reduced one part at a time, so nothing is summed twice.
        self.history_total = sum(self.history_costs)
        self.memory_total = sum(self.memory_costs)
        self.example_total = sum(self.example_costs)
        self.notes_cost = count(self.notes)
        self.user_cost = count(user_message) + MESSAGE_OVERHEAD_TOKENS

    def estimate(self, fixed: int) -> int:
        """Upper-bound estimate of the prompt's tokens given the fixed part's tokens."""
        return (
            fixed
            + self.history_total
            + self.memory_total
            + self.example_total
            + self.notes_cost
            + self.user_cost
        )

    def reduce(self) -> bool:
        """Drop or shorten the next part in the documented order; False when nothing is left to drop."""
        kept_history = len(self.history) - self.history_start
        if kept_history > self.keep_recent or (kept_history > 0 and not self.memories):
            self.history_total -= self.history_costs[self.history_start]
            self.history_start += 1
        elif self.memories:
            self.memories.pop()
            self.memory_total -= self.memory_costs.pop()
            self.dropped_memories += 1
        elif self.examples:
            self.examples.pop()
            self.example_total -= self.example_costs.pop()
            self.dropped_examples += 1
        elif self.notes:
            self.notes = self.notes[: len(self.notes) // 2].rstrip() if len(self.notes) > 16 else ""
            self.notes_cost = self.count(self.notes)
        elif len(self.user_message) > 1:
            self.user_message = self.user_message[: len(self.user_message) // 2]
            self.user_cost = self.count(self.user_message) + MESSAGE_OVERHEAD_TOKENS
        else:
            return False
        return True


def _history_messages(turns: Sequence[HistoryTurn], user_message: str) -> tuple[list[PromptMessage], int]:
    """History as alternating user/assistant messages ending with the new user message.

    Consecutive bubbles of one side are joined with a blank line (which also shows the model the bubble
    format); leading star turns are skipped because strict chat templates require the user to speak first.
    Returns the messages and how many turns were skipped.
    """
    skipped = 0
    merged: list[tuple[str, list[str]]] = []
    for turn in turns:
        role = "user" if turn.role == "user" else "assistant"
        if not merged and role == "assistant":
            skipped += 1
            continue
        if merged and merged[-1][0] == role:
            merged[-1][1].append(turn.text)
        else:
            merged.append((role, [turn.text]))
    if merged and merged[-1][0] == "user":
        merged[-1][1].append(user_message)
    else:
        merged.append(("user", [user_message]))
    messages = [
        PromptMessage(role="user" if role == "user" else "assistant", content="\n\n".join(texts))
        for role, texts in merged
    ]
    return messages, skipped


def _count_messages(messages: Sequence[PromptMessage], count: TokenCounter) -> int:
    return sum(count(m.content) + MESSAGE_OVERHEAD_TOKENS for m in messages) + REPLY_PRIMING_TOKENS


def _system_prompt(card: PersonaCard, plan: _Plan, fence_id: str, max_bubbles: int) -> str:
    profile = [f"notes: {plan.notes}"] if plan.notes else []
    profile += [f"trait: {quote(t)}" for t in card.traits if t.strip()]
    profile += [f"style: {quote(s)}" for s in card.style_hints if s.strip()]
    # Shown in time order: a conversation reads better forwards; the score only decided what was kept.
    kept = sorted(plan.memories, key=lambda p: (p[0].when is None, p[0].when or datetime.min))
    memories = [line for _, lines in kept for line in lines]
    return render_prompt(
        "persona_system.j2",
        card=card,
        max_bubbles=max_bubbles,
        profile=_block("profile", fence_id, profile),
        examples=_block("examples", fence_id, plan.examples),
        memories=_block("memories", fence_id, memories),
    )


@lru_cache(maxsize=256)
def _bare_system_tokens(card: PersonaCard, max_bubbles: int, count_tokens: TokenCounter) -> int:
    """Tokens of the instructions alone (no data blocks); the same for every turn with this star."""
    empty = _Plan(card, memories=(), history=(), user_message="", budget=_NO_BUDGET, count=count_tokens)
    empty.examples, empty.notes = [], ""
    return count_tokens(_system_prompt(card, empty, "0" * 12, max_bubbles))


@lru_cache(maxsize=256)
def _instructions(card: PersonaCard, max_bubbles: int) -> str:
    """The system prompt's own words, with no quoted block at all (the same for every turn with this star)."""
    return render_prompt(
        "persona_system.j2", card=card, max_bubbles=max_bubbles, profile="", examples="", memories=""
    )


_NO_BUDGET = PromptBudget(context_tokens=0, reply_tokens=0)


def build_prompt(
    card: PersonaCard,
    memories: Sequence[Memory],
    history: Sequence[HistoryTurn],
    user_message: str,
    *,
    budget: PromptBudget,
    count_tokens: TokenCounter = estimate_tokens,
    max_bubbles: int = 5,
) -> BuiltPrompt:
    """Assemble the chat prompt for ``user_message`` within ``budget`` (see the module doc for the order).

    ``history`` is the recent conversation in time order, without the new message. Raises
    ``PromptTooLarge`` when not even the persona's fixed instructions fit.
    """
    limit = budget.prompt_tokens
    card = fenced_card(card)
    plan = _Plan(
        card, memories=memories, history=history, user_message=user_message, budget=budget, count=count_tokens
    )
    fence_id = _fence_id(
        [card.notes, *card.traits, *card.style_hints], plan.examples, *(lines for _, lines in plan.memories)
    )
    bare_tokens = _bare_system_tokens(card, max_bubbles, count_tokens)
    # The fixed part: instructions, the three block headers and fences, role markers, reply priming.
    fixed = bare_tokens + 3 * 40 + MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS
    if bare_tokens + 2 * MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS + 1 > limit:
        raise PromptTooLarge(f"the persona instructions alone need more than {limit} tokens")
    while plan.estimate(fixed) > limit and plan.reduce():
        pass
    # The estimate is additive and errs high, but a real tokenizer is not additive: check the real thing.
    while True:
        turns = plan.history[plan.history_start :]
        chat, skipped = _history_messages(turns, plan.user_message)
        system = PromptMessage(role="system", content=_system_prompt(card, plan, fence_id, max_bubbles))
        messages = (system, *chat)
        used = _count_messages(messages, count_tokens)
        if used <= limit:
            break
        if not plan.reduce():
            raise PromptTooLarge(f"the prompt cannot be reduced below {limit} tokens")
    return BuiltPrompt(
        messages=messages,
        used_tokens=used,
        dropped_memories=plan.dropped_memories,
        dropped_history=plan.history_start + skipped,
        dropped_examples=plan.dropped_examples,
        notes_truncated=len(plan.notes) < plan.notes_full,
        message_truncated=len(plan.user_message) < plan.user_full,
        fence_id=fence_id,
        instructions=_instructions(card, max_bubbles),
    )
