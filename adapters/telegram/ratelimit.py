"""Bot API rate limiting per chat: a 429 in one chat pauses that chat only.

PTB's ``AIORateLimiter`` stops every request of the bot while any one of them waits out a ``retry_after``:
one chat's flood control then delays every other user's reply. Telegram's flood control is per chat
(about one message a second in a private chat, 20 a minute in a group) plus about 30 a second overall, so
this limiter keeps the overall and group budgets, and on a 429 pauses only the chat it came from (or
everything, when the failed call named no chat).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

_ANY = "*"  # the key of a pause that holds every chat


def retry_after_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds, whether PTB gives an int or (PTB 22) a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ChatRateLimiter(BaseRateLimiter[int]):
    """Overall and group budgets, at most ``slots`` calls in flight, and 429 pauses per chat."""

    def __init__(
        self,
        *,
        slots: int,
        overall_max_rate: float = 30.0,
        group_max_rate: float = 20.0,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # httpcore wakes every waiting request whenever a pooled connection frees up; with hundreds of
        # concurrent handlers that costs more CPU than the requests themselves, so requests queue here.
        self._slots = asyncio.Semaphore(slots)
        self._overall = AsyncLimiter(overall_max_rate, 1) if overall_max_rate > 0 else None
        self._group_rate = group_max_rate
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._clock = clock
        self._paused_until: dict[int | str, float] = {}
        self.pauses = 0
        """How many 429s paused a chat (or, naming none, everything)."""

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def paused_for(self, chat: int | str) -> float:
        """Seconds until ``chat`` may be sent to again (0 when it may now)."""
        now = self._clock()
        until = max(self._paused_until.get(chat, 0.0), self._paused_until.get(_ANY, 0.0))
        return max(0.0, until - now)

    async def _wait_pause(self, chat: int | str) -> None:
        # A pause only ever grows while waited on (a later 429 in the same chat): sleep until it is over.
        wait = self.paused_for(chat)
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self.paused_for(chat)
        self._paused_until.pop(chat, None)

    @contextlib.asynccontextmanager
    async def _budget(self, chat: int | str | None) -> AsyncIterator[None]:
        group = chat if chat is not None and (isinstance(chat, str) or chat < 0) else None
        async with contextlib.AsyncExitStack() as stack:
            if group is not None and self._group_rate > 0:
                limiter = self._groups.get(group)
                if limiter is None:
                    limiter = self._groups[group] = AsyncLimiter(self._group_rate, 60)
                await stack.enter_async_context(limiter)
            if chat is not None and self._overall is not None:
                await stack.enter_async_context(self._overall)
            await stack.enter_async_context(self._slots)
            yield

    async def process_request(  # noqa: PLR0917 (the signature is PTB's)
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if endpoint == "getUpdates":  # the long poll: never queued behind replies
            return await callback(*args, **kwargs)
        chat = _chat_key(data.get("chat_id"))
        retries = rate_limit_args or self._max_retries
        for attempt in range(retries + 1):
            await self._wait_pause(chat if chat is not None else _ANY)
            try:
                async with self._budget(chat):
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    log.warning("telegram: flood control in chat %s outlasted %d retries", chat, retries)
                    raise
                seconds = retry_after_seconds(exc) + 0.1
                key = chat if chat is not None else _ANY
                self._paused_until[key] = max(self._paused_until.get(key, 0.0), self._clock() + seconds)
                self.pauses += 1
                log.info("telegram: flood control: chat %s paused for %.1f s", key, seconds)
        raise AssertionError("unreachable")  # pragma: no cover


def _chat_key(chat_id: object) -> int | str | None:
    if chat_id is None:
        return None
    text = str(chat_id)
    try:
        return int(text)
    except ValueError:
        return text  # @channelusername
