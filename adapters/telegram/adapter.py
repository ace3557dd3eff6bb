"""The Telegram adapter's lifecycle: PTB inside the caller's TaskGroup, updates to the engine and back.

``await TelegramAdapter(config, engine).run()`` initialises PTB (``async with application``), registers the
command menu, starts long polling (or the webhook server with secret-token verification) and serves until
:meth:`TelegramAdapter.stop` is called or the task is cancelled; shutdown stops fetching first and then
waits for replies in flight. ``run_polling()`` is never used: it owns the event loop.

One process is bound to one core (the GIL). To use more, the bot runs as several processes, one shard of
the chats each (:func:`shard_of`): the first receives every update, keeps its own shard's and hands the
others to their processes, where :meth:`TelegramAdapter.run_fed` handles them and replies to Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from telegram import CallbackQuery, ChatMember, Update
from telegram._utils.types import JSONDict
from telegram.error import Conflict, Forbidden, NetworkError, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import BaseRequest, HTTPXRequest

from adapters.telegram import convert
from adapters.telegram.chats import ChatQueues
from adapters.telegram.commands import register_commands
from adapters.telegram.config import MB, TelegramAdapterConfig
from adapters.telegram.files import FileTooBig, TelegramFiles
from adapters.telegram.logs import protect_token
from adapters.telegram.ratelimit import ChatRateLimiter
from adapters.telegram.render import TelegramRenderer
from adapters.telegram.request import AiohttpRequest
from core.domain.events import Event
from core.domain.identity import Locale
from core.flows.base import FLOW_KEY
from core.i18n import t
from core.ports import EventHandler

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


class UpdateSink(Protocol):
    """Where the receiving process hands another shard an update (as Bot API JSON)."""

    async def send(self, data: JSONDict) -> None:
        """Deliver ``data``; waits while the shard is behind (back-pressure), raises once it is gone.

        ``data`` is on its way once ``send`` is called: cancelling the wait does not take it back.
        """
        ...


def shard_of(update: Update, shards: int) -> int:
    """The shard that owns ``update``: by chat (private chats: the user), so a chat stays in one process."""
    chat = update.effective_chat
    user = update.effective_user
    key = chat.id if chat is not None else user.id if user is not None else update.update_id
    return key % shards


class _RoutingQueue(asyncio.Queue[object]):
    """PTB's update queue in the receiving process: updates of other shards go to them instead.

    PTB's updater puts every received update here and the application handles what it gets from here, so
    routing at ``put`` hands other shards' updates over (waiting while a shard is behind) and keeps this
    shard's own updates as they are: no copy, no serialisation.
    """

    def __init__(self, peers: Sequence[UpdateSink | None]) -> None:
        super().__init__()
        self._peers = peers
        self.interrupted_at: int | None = None
        """The update whose hand-over a stop cancelled (it and those before it are on their way)."""
        self.failure: Exception | None = None
        """Why a hand-over failed (a shard gone or stuck): the receiver stops and raises it."""
        self.broken = asyncio.Event()

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            peer = self._peers[shard_of(item, len(self._peers))]
            if peer is not None:
                try:
                    await peer.send(item.to_dict())
                except asyncio.CancelledError:
                    self.interrupted_at = item.update_id
                    raise
                except Exception as exc:
                    # PTB's polling loop would log this and poll on, leaving a shard's chats unanswered.
                    # This update did not get through: after the restart Telegram sends it again.
                    self.interrupted_at = item.update_id - 1
                    self.failure = exc
                    self.broken.set()
                    raise
                return
        await super().put(item)


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
        self._engine = engine
        self._files = TelegramFiles(config)
        self._chats: ChatQueues[Update] = ChatQueues(
            self._handle_queued,
            concurrency=config.concurrent_updates,
            max_pending_per_chat=config.max_pending_per_chat,
        )
        self.blocked: set[int] = set()
        """Chats whose user blocked the bot (``my_chat_member`` or a 403): nothing is sent to them."""
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        """Set once updates are being received (tests and wiring wait on it)."""
        self.application = self._build()
        self.renderer = TelegramRenderer(self.application.bot, config)

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
            builder = builder.update_queue(_RoutingQueue(self._peers))
        application = builder.build()
        application.add_handler(TypeHandler(Update, self._on_update))
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
            await register_commands(application.bot)
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
        if isinstance(routing, _RoutingQueue) and routing.failure is not None:
            raise routing.failure

    async def _until_stopped(self) -> None:
        """Wait for :meth:`stop`, or for a failed hand-over to another shard."""
        routing = self.application.update_queue
        if not isinstance(routing, _RoutingQueue):
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
        if self.config.mode != "polling" or not isinstance(queue, _RoutingQueue):
            return
        if queue.interrupted_at is None:
            return
        try:
            await self.application.bot.get_updates(
                offset=queue.interrupted_at + 1, timeout=0, allowed_updates=ALLOWED_UPDATES
            )
        except TelegramError as exc:
            log.warning("telegram: could not confirm the updates handed over before stopping: %s", exc)

    # --- updates --------------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Queue the update for its chat and return: PTB's slot is not held while earlier ones run."""
        locale = convert.locale_of(update)
        try:
            if update.my_chat_member is not None:
                self._membership_changed(update)
                return
            if update.callback_query is not None:
                await self._answer(update.callback_query)
            chat = update.effective_chat
            if chat is None or update.effective_user is None:
                return
            if not convert.is_private(update):
                await self._outside_private_chat(update, locale)
                return
            self.blocked.discard(chat.id)  # they wrote: whatever blocked us is over
            self._chats.submit(chat.id, update)
        except Exception:
            await self._apologise(update, locale)

    async def _handle_queued(self, update: Update) -> None:
        """One update of a chat, its turn come; every failure ends in an apology with a reference id."""
        locale = convert.locale_of(update)
        chat = update.effective_chat
        assert chat is not None
        try:
            async with asyncio.timeout(self.config.event_timeout_s):
                await self._handle(update, str(chat.id), locale)
        except Forbidden as exc:
            # The user blocked the bot (or deleted their account) meanwhile: no traceback, no apology.
            self._mark_blocked(chat.id, exc.message)
        except Exception:
            await self._apologise(update, locale)

    def _membership_changed(self, update: Update) -> None:
        member = update.my_chat_member
        assert member is not None
        chat_id = member.chat.id
        if member.new_chat_member.status in {ChatMember.BANNED, ChatMember.LEFT}:
            self._mark_blocked(chat_id, "blocked by the user")
        elif chat_id in self.blocked:
            self.blocked.discard(chat_id)
            log.info("telegram: chat %s unblocked the bot", chat_id)

    def _mark_blocked(self, chat_id: int, why: str) -> None:
        if chat_id not in self.blocked:
            self.blocked.add(chat_id)
            log.info("telegram: chat %s is unreachable (%s); replies to it are dropped", chat_id, why)

    async def _answer(self, query: CallbackQuery) -> None:
        # Always answer, so the client stops its spinner; a stale query is not worth an apology.
        try:
            await query.answer()
        except TelegramError as exc:
            log.info("telegram: answerCallbackQuery failed: %s", exc)

    async def _close_keyboard(self, query: CallbackQuery) -> None:
        """Remove the buttons of an answered (or stale) question, so no later tap can answer it again."""
        message = query.message
        if message is None:
            return
        try:
            await self.application.bot.edit_message_reply_markup(message.chat.id, message.message_id)
        except TelegramError as exc:  # too old, deleted, or already without buttons: nothing to remove
            log.info("telegram: could not remove an answered keyboard: %s", exc)

    async def _outside_private_chat(self, update: Update, locale: Locale) -> None:
        """In groups VOS only says where it works, and only when addressed with a command."""
        message = update.message
        username = self.application.bot.username
        if message is not None and message.text and convert.parse_command(message.text, username):
            await message.reply_text(t(locale, "telegram.private_only"))

    async def _handle(self, update: Update, chat_id: str, locale: Locale) -> None:
        bot = self.application.bot
        choice_key = None
        if update.callback_query is not None:
            choice_key = update.callback_query.data or ""
            if not choice_key:
                await bot.send_message(chat_id, t(locale, "telegram.button_expired"))
                return
            if choice_key.startswith(FLOW_KEY):
                await self._close_keyboard(update.callback_query)
        ref = convert.file_ref(update)
        if ref is None:
            event = convert.to_event(update, bot_username=bot.username, choice_key=choice_key)
            await self._dispatch(event, chat_id, locale)
            return
        async with self._files.scope() as folder:
            try:
                incoming = await self._files.download(bot, ref, folder)
            except FileTooBig as exc:
                size_mb = f"{exc.size / MB:.1f}" if exc.size else "?"
                text = t(locale, "telegram.file_too_big", size_mb=size_mb, limit_mb=exc.limit // MB)
                await bot.send_message(chat_id, text)
                return
            event = convert.to_event(update, bot_username=bot.username, file=incoming)
            # The folder (and the file) is removed once the engine has finished with the event.
            await self._dispatch(event, chat_id, locale)

    async def _dispatch(self, event: Event | None, chat_id: str, locale: Locale) -> None:
        """Hand the event to the engine and render each action as soon as it arrives."""
        if event is None:
            return
        actions = self._engine.handle(event)
        try:
            async for action in actions:
                await self.renderer.render(chat_id, action, locale)
        finally:
            aclose = getattr(actions, "aclose", None)
            if aclose is not None:
                await aclose()
        await self.renderer.flush(chat_id)

    async def _apologise(self, update: Update, locale: Locale) -> None:
        ref = uuid.uuid4().hex[:8]
        log.exception("telegram: update %s failed (ref %s)", update.update_id, ref)
        chat = update.effective_chat
        if chat is None or chat.id in self.blocked:
            return
        try:
            await self.application.bot.send_message(chat.id, t(locale, "telegram.apology", ref=ref))
        except Forbidden as exc:
            self._mark_blocked(chat.id, exc.message)
        except Exception:
            log.warning("telegram: could not send the apology for ref %s", ref, exc_info=True)

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
