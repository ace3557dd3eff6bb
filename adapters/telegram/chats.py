"""Updates handled in order per chat, concurrently across chats, without holding PTB's update slots.

PTB runs a handler per update in one of ``concurrent_updates`` slots. Waiting on a per-chat lock inside
the handler kept a slot per waiting update: one user's burst of hundreds of messages took every slot and
another user's message waited behind all of them (35.8 s after a burst of 600). Here the handler only
queues the update for its chat and returns; one worker per chat with pending updates handles them in
order, and at most ``concurrency`` chats are being handled at a time, each holding one slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class ChatQueues(Generic[T]):
    """Per-chat FIFO queues drained by one task each, inside a TaskGroup the caller owns."""

    def __init__(
        self, handle: Callable[[T], Awaitable[None]], *, concurrency: int, max_pending_per_chat: int
    ) -> None:
        """``handle`` must not raise (it logs and apologises itself); ``max_pending_per_chat`` bounds a
        flooding chat's memory: beyond it, updates of that chat are dropped (logged once per burst)."""
        self._handle = handle
        self._slots = asyncio.Semaphore(concurrency)
        self._max_pending = max_pending_per_chat
        self._pending: dict[int, deque[T]] = {}
        self._dropping: set[int] = set()
        self._group: asyncio.TaskGroup | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def bind(self, group: asyncio.TaskGroup | None) -> None:
        """Run workers in ``group`` (None: no longer accepting)."""
        self._group = group

    @property
    def pending(self) -> int:
        """Updates queued or being handled, all chats together."""
        return sum(len(queue) for queue in self._pending.values())

    def submit(self, chat_id: int, item: T) -> bool:
        """Queue ``item`` behind the chat's earlier ones; False when it was dropped."""
        if self._group is None:
            raise RuntimeError("telegram: chat queues are not running")
        queue = self._pending.get(chat_id)
        if queue is None:
            queue = self._pending[chat_id] = deque()
            self._idle.clear()
            self._group.create_task(self._drain(chat_id, queue))
        elif len(queue) >= self._max_pending:
            if chat_id not in self._dropping:
                self._dropping.add(chat_id)
                log.warning("telegram: chat %s has %d updates pending; dropping more", chat_id, len(queue))
            return False
        queue.append(item)
        return True

    async def _drain(self, chat_id: int, queue: deque[T]) -> None:
        try:
            while queue:
                async with self._slots:
                    await self._handle(queue[0])
                queue.popleft()
        finally:
            self._pending.pop(chat_id, None)
            self._dropping.discard(chat_id)
            if not self._pending:
                self._idle.set()

    async def drained(self) -> None:
        """Wait until every queued update has been handled."""
        await self._idle.wait()
