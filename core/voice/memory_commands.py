"""``/memories [QUERY]``: hear what the active star really said, as clips of their own recorded voice.

With a query (``/memories 김치찌개``) the best matching clips are sent as voice notes with their transcript;
without one, how many memories there are and a few of the phrases. Only the owner's active star is searched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from core.command_table import CommandSpec, Feature, Section
from core.context import Context
from core.domain.actions import Action, SendText, SendVoice
from core.domain.events import CommandInvoked
from core.domain.stars import Star
from core.ports import StarStore, UserStore
from core.storage.fulltext import query_terms
from core.storage.voice_memory_repository import VoiceMemory
from core.voice.memories import VoiceMemoryService

_MAX_QUERY = 200
_MAX_CAPTION_TEXT = 800  # Telegram captions hold 1024 characters


def clock(seconds: float) -> str:
    """``mm:ss`` (``h:mm:ss`` past an hour) of a position in a recording."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class VoiceMemoryCommands:
    """The ``/memories`` command; :meth:`feature` declares it."""

    def __init__(
        self, service: VoiceMemoryService, *, users: UserStore, stars: StarStore, limit: int = 3
    ) -> None:
        self.service = service
        self.users = users
        self.stars = stars
        self.limit = limit

    def feature(self) -> Feature:
        """``/memories``."""
        return Feature(commands=(CommandSpec(name="memories", handler=self.memories, section=Section.VOICE),))

    async def _active_star(self, ctx: Context) -> Star | None:
        star_id = await self.users.active_star_id(ctx.user.id)
        return await self.stars.get_owned(star_id, ctx.user.id) if star_id else None

    async def memories(self, ctx: Context) -> AsyncIterator[Action]:
        """Search the active star's voice memories, or say what there is."""
        star = await self._active_star(ctx)
        if star is None:
            yield SendText(text=ctx.tr("common.choose_star_first"))
            return
        query = ctx.event.args.strip()[:_MAX_QUERY] if isinstance(ctx.event, CommandInvoked) else ""
        if not query:
            async for a in self._overview(ctx, star):
                yield a
            return
        hits = await self.service.search(ctx.user.id, star.id, query, limit=self.limit)
        if not hits:
            total = await self.service.count(ctx.user.id, star.id)
            key = "voicememory.not_found" if total else "voicememory.empty"
            yield SendText(text=ctx.tr(key, star=star.name, query=query))
            return
        yield SendText(text=ctx.tr("voicememory.found", star=star.name, query=query, count=len(hits)))
        for hit in hits:
            yield await self._clip(ctx, star, hit.memory)

    async def _clip(self, ctx: Context, star: Star, memory: VoiceMemory) -> SendVoice:
        text = memory.text if len(memory.text) <= _MAX_CAPTION_TEXT else memory.text[:_MAX_CAPTION_TEXT] + "…"
        caption = ctx.tr("voicememory.caption", star=star.name, time=clock(memory.start), text=text)
        path = await self.service.clip_file(memory)
        return SendVoice(path=path, caption=caption, duration_s=memory.seconds)

    async def _overview(self, ctx: Context, star: Star) -> AsyncIterator[Action]:
        total = await self.service.count(ctx.user.id, star.id)
        if total == 0:
            yield SendText(text=ctx.tr("voicememory.empty", star=star.name, query=""))
            return
        examples = await self.service.examples(ctx.user.id, star.id)
        lines = [ctx.tr("voicememory.example", time=clock(m.start), text=m.text[:80]) for m in examples]
        terms = [term for m in examples for term in query_terms(m.text)]
        hint = max(terms, key=len) if terms else examples[0].text.split()[0]
        yield SendText(
            text=ctx.tr(
                "voicememory.overview", star=star.name, count=total, examples="\n".join(lines), hint=hint
            )
        )
