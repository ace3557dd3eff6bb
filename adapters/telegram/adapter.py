"""The Telegram adapter's lifecycle: PTB inside the caller's TaskGroup, updates to the engine and back.

``await TelegramAdapter(config, engine).run()`` initialises PTB (``async with application``), registers the
command menu, starts long polling (or the webhook server with secret-token verification) and serves until
:meth:`TelegramAdapter.stop` is called or the task is cancelled; shutdown stops fetching first and then
waits for replies in flight. ``run_polling()`` is never used: it owns the event loop.

One process is bound to one core (the GIL). To use more, the bot runs as several processes, one shard of
the chats each (:mod:`adapters.telegram.shards`): the first receives every update, keeps its own shard's and
hands the others to their processes, where :meth:`TelegramAdapter.run_fed` handles them and replies.
Each update's way through (queued per chat, converted, run by the core runner, rendered) is
:class:`~adapters.telegram.updates.Updates`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram._utils.types import JSONDict
from telegram.error import Conflict, NetworkError, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import BaseRequest, HTTPXRequest

from adapters.telegram.commands import register_commands
from adapters.telegram.config import TelegramAdapterConfig
from adapters.telegram.logs import protect_token
from adapters.telegram.ratelimit import ChatRateLimiter
from adapters.telegram.request import AiohttpRequest
from adapters.telegram.shards import RoutingQueue, UpdateSink, shard_of
from adapters.telegram.updates import Updates
from core.ports import EventHandler

__all__ = ["ALLOWED_UPDATES", "TelegramAdapter", "UpdateSink", "shard_of"]

log = logging.getLogger(__name__)

# ``my_chat_member``: a user blocked (or unblocked) the bot; replies to them then fail with 403.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def _http_request(cfg: TelegramAdapterConfig, *, get_updates: bool) -> BaseRequest:
    """PTB's transport for Bot API calls, or for long polling (one connection, a longer read)."""
    timeouts: dict[str, Any] = (
        # Long polls outlast the default read timeout.
        {"connection_pool_size": 1, "read_timeout": cfg.poll_timeout_s + 10.0}
        if get_updates
        # Uploads of up to 50 MB need time too.
        else {"connection_pool_size": cfg.connection_pool_size, "read_timeout": 30.0, "write_timeout": 60.0}
    )
    if cfg.http_client == "httpx":
        return HTTPXRequest(**timeouts)
    return AiohttpRequest(**timeouts)


class TelegramAdapter:
    """Serves one bot: Telegram updates in, engine actions out."""

    def __init__(
        self,
        config: TelegramAdapterConfig,
        engine: EventHandler,
        *,
        peers: Sequence[UpdateSink | None] = (),
    ) -> None:
        """``peers``: with several shard processes, one entry per shard: None for this process's own
        shard, a sink for each other one (see :meth:`run` and :meth:`run_fed`)."""
        if peers and sum(peer is None for peer in peers) != 1:
            raise ValueError("telegram: exactly one shard (None) must be this process's own")
        self._peers = peers
        self.config = config
        self.updates = Updates(config, engine)
        self._chats = self.updates.chats
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        """Set once updates are being received (tests and wiring wait on it)."""
        self.application = self._build()
        self.updates.attach(self.application.bot)
        self.renderer = self.updates.renderer

    @property
    def blocked(self) -> set[int]:
        """Chats whose user blocked the bot: nothing is sent to them."""
        return self.updates.blocked

    def _build(self) -> Application:  # type: ignore[type-arg]
        cfg = self.config
        builder = (
            Application.builder()
            .token(cfg.token)
            .rate_limiter(
                ChatRateLimiter(
                    slots=cfg.connection_pool_size,
                    overall_max_rate=cfg.overall_max_rate,
                    group_max_rate=cfg.group_max_rate,
                    max_retries=cfg.max_retries,
                )
            )
            .concurrent_updates(cfg.concurrent_updates)
            .job_queue(None)  # VOS schedules its own jobs (bot/jobs.py)
            .request(_http_request(cfg, get_updates=False))
            .get_updates_request(_http_request(cfg, get_updates=True))
        )
        if cfg.base_url:
            builder = builder.base_url(cfg.base_url)
        if cfg.base_file_url:
            builder = builder.base_file_url(cfg.base_file_url)
        if self._peers:
            builder = builder.update_queue(RoutingQueue(self._peers))
        application = builder.build()
        application.add_handler(TypeHandler(Update, self.updates.on_update))
        application.add_error_handler(self._on_error)
        return application

    def stop(self) -> None:
        """Ask :meth:`run` to shut down gracefully."""
        self._stop.set()

    async def run(self) -> None:
        """Serve until :meth:`stop` (or cancellation), then shut down, finishing replies in flight.

        With ``peers``, this process receives every update and hands other shards theirs as they arrive.
        """
        protect_token(self.config.token)
        application = self.application
        await _initialize(application)
        async with self._serving(), application:
            await register_commands(application.bot, self.config.menu)
            await application.start()
            try:
                async with self._receiving():
                    self.ready.set()
                    await self._until_stopped()
            finally:
                self.ready.clear()
                await self._finish(application)
                log.info("telegram: stopped")
        routing = application.update_queue
        if isinstance(routing, RoutingQueue) and routing.failure is not None:
            raise routing.failure

    async def _until_stopped(self) -> None:
        """Wait for :meth:`stop`, or for a failed hand-over to another shard."""
        routing = self.application.update_queue
        if not isinstance(routing, RoutingQueue):
            await self._stop.wait()
            return
        waits = {asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(routing.broken.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def run_fed(self, feed: AsyncIterator[JSONDict]) -> None:
        """Serve as one shard of several processes: updates arrive as Bot API JSON from ``feed``.

        The receiving process (:meth:`run` with ``peers``) gets them from Telegram; this process only
        handles and replies. Ends when the feed ends (or :meth:`stop`), after the replies in flight are sent.
        """
        protect_token(self.config.token)
        application = self.application
        await _initialize(application)
        async with self._serving(), application:
            await application.start()
            self.ready.set()
            try:
                async for data in feed:
                    try:
                        update = Update.de_json(data, application.bot)
                    except Exception:
                        # PTB would skip an update it cannot read; one bad update must not end the shard.
                        log.exception("telegram: dropped an update that could not be read")
                        continue
                    await application.update_queue.put(update)
                    if self._stop.is_set():
                        break
            finally:
                self.ready.clear()
                await self._finish(application)
                log.info("telegram: shard stopped")

    @asynccontextmanager
    async def _serving(self) -> AsyncIterator[None]:
        """The TaskGroup of the per-chat workers (outlives PTB's application, which feeds them)."""
        failure: Exception | None = None
        async with asyncio.TaskGroup() as group:
            self._chats.bind(group)
            try:
                yield
            except Exception as exc:  # raised as itself below, not wrapped in the group's ExceptionGroup
                failure = exc
            finally:
                self._chats.bind(None)
        if failure is not None:
            raise failure

    async def _finish(self, application: Application) -> None:  # type: ignore[type-arg]
        """Handle what was received (replies in flight included), then stop PTB."""
        await application.update_queue.join()
        await self._chats.drained()
        await application.stop()

    @asynccontextmanager
    async def _receiving(self) -> AsyncIterator[None]:
        """Long polling or the webhook server, feeding ``application.update_queue``; stopped on exit."""
        updater = self.application.updater
        assert updater is not None
        if self.config.mode == "webhook":
            await updater.start_webhook(
                listen=self.config.webhook_listen,
                port=self.config.webhook_port,
                url_path=self.config.webhook_path,
                webhook_url=self.config.webhook_url,
                secret_token=self.config.webhook_secret_token,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=self.config.drop_pending_updates,
            )
        else:
            await updater.start_polling(
                error_callback=_polling_error,
                poll_interval=self.config.poll_interval_s,
                timeout=self.config.poll_timeout_s,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=self.config.drop_pending_updates,
            )
        log.info("telegram: receiving as @%s (%s)", self.application.bot.username, self.config.mode)
        try:
            yield
        finally:
            if updater.running:
                await updater.stop()
            await self._confirm_interrupted_batch()

    async def _confirm_interrupted_batch(self) -> None:
        """Confirm the updates handed over from a batch whose hand-over a stop cut short.

        PTB confirms a polled batch once all of it is queued. A stop while a shard is behind cancels that
        midway, and after a restart the batch's updates already handed over would be handled again.
        """
        queue = self.application.update_queue
        if self.config.mode != "polling" or not isinstance(queue, RoutingQueue):
            return
        if queue.interrupted_at is None:
            return
        try:
            await self.application.bot.get_updates(
                offset=queue.interrupted_at + 1, timeout=0, allowed_updates=ALLOWED_UPDATES
            )
        except TelegramError as exc:
            log.warning("telegram: could not confirm the updates handed over before stopping: %s", exc)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Errors outside update handling (polling hiccups): logged, the bot keeps running."""
        log.error("telegram: %s", context.error, exc_info=context.error)


async def _initialize(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Start PTB; when Telegram refuses (a rejected token), close the HTTP sessions the attempt opened
    (PTB leaves them open, and the interpreter then complains about them at exit)."""
    try:
        await application.initialize()
    except BaseException:
        await application.bot.shutdown()
        raise


def _polling_error(exc: TelegramError) -> None:
    """A failed long poll (PTB retries it): one clear line, a traceback only for the unexpected."""
    if isinstance(exc, Conflict):
        log.warning(
            "telegram: 409 Conflict: another process is receiving updates with this bot token "
            "(only one may poll, and not while a webhook is set): %s",
            exc.message,
        )
    elif isinstance(exc, NetworkError):
        log.warning("telegram: polling failed, retrying: %s", exc.message)
    else:
        log.error("telegram: polling failed: %s", exc, exc_info=exc)
