"""Each update's way through: queued per chat, turned into an event, run by the core, rendered.

:meth:`Updates.on_update` is PTB's handler: it answers callback queries, notes who blocked the bot, and
queues private-chat updates per chat (:class:`~adapters.telegram.chats.ChatQueues`). Each update's turn
runs through :class:`core.event_runner.EventRunner` (in order per user, within the deadline, an apology
with a reference id on failure); this module only translates (``convert``, files, ``render``).
"""

from __future__ import annotations

import logging

from telegram import Bot, CallbackQuery, ChatMember, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from adapters.telegram import convert
from adapters.telegram.chats import ChatQueues
from adapters.telegram.config import MB, TelegramAdapterConfig
from adapters.telegram.files import FileTooBig, TelegramFiles
from adapters.telegram.render import TelegramRenderer
from core.domain.actions import Action
from core.domain.events import Event
from core.domain.identity import Locale
from core.event_runner import EventRunner, report_failure
from core.flows.base import FLOW_KEY
from core.i18n import t
from core.ports import EventHandler

log = logging.getLogger(__name__)


class Updates:
    """Handles one bot's updates; :meth:`attach` gives it the bot once PTB has built it."""

    def __init__(self, config: TelegramAdapterConfig, engine: EventHandler) -> None:
        self.config = config
        self.runner = EventRunner(engine, deadline_s=config.event_timeout_s, name="telegram", logger=log)
        self._files = TelegramFiles(config)
        self.chats: ChatQueues[Update] = ChatQueues(
            self._handle_queued,
            concurrency=config.concurrent_updates,
            max_pending_per_chat=config.max_pending_per_chat,
        )
        self.blocked: set[int] = set()
        """Chats whose user blocked the bot (``my_chat_member`` or a 403): nothing is sent to them."""
        self._bot: Bot | None = None
        self._renderer: TelegramRenderer | None = None

    def attach(self, bot: Bot) -> None:
        """The bot to reply with (and the renderer over it)."""
        self._bot = bot
        self._renderer = TelegramRenderer(bot, self.config)

    @property
    def bot(self) -> Bot:
        """The bot replies go through."""
        assert self._bot is not None, "telegram: Updates.attach was not called"
        return self._bot

    @property
    def renderer(self) -> TelegramRenderer:
        """Actions to Bot API calls."""
        assert self._renderer is not None, "telegram: Updates.attach was not called"
        return self._renderer

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
            self.chats.submit(chat.id, update)
        except Exception:
            await self._apologise(update, locale)

    async def _handle_queued(self, update: Update) -> None:
        """One update of a chat, its turn come, through the core runner (in order per user, within the
        deadline); every failure ends in an apology with a reference id."""
        locale = convert.locale_of(update)
        chat = update.effective_chat
        user = update.effective_user
        assert chat is not None

        def blocked_meanwhile(exc: BaseException) -> None:
            # The user blocked the bot (or deleted their account) meanwhile: no traceback, no apology.
            self._mark_blocked(chat.id, exc.message if isinstance(exc, Forbidden) else str(exc))

        await self.runner.run(
            user.id if user is not None else None,
            lambda: self._handle(update, str(chat.id), locale),
            apologise=lambda ref: self._send_apology(chat.id, locale, ref),
            what=f"update {update.update_id}",
            quiet=(Forbidden,),
            on_quiet=blocked_meanwhile,
        )

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
            await self.bot.edit_message_reply_markup(message.chat.id, message.message_id)
        except TelegramError as exc:  # too old, deleted, or already without buttons: nothing to remove
            log.info("telegram: could not remove an answered keyboard: %s", exc)

    async def _outside_private_chat(self, update: Update, locale: Locale) -> None:
        """In groups VOS only says where it works, and only when addressed with a command."""
        message = update.message
        username = self.bot.username
        if message is not None and message.text and convert.parse_command(message.text, username):
            await message.reply_text(t(locale, "telegram.private_only"))

    async def _handle(self, update: Update, chat_id: str, locale: Locale) -> None:
        bot = self.bot
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
                size_mb = exc.size_mb(MB)
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

        async def render(action: Action) -> None:
            await self.renderer.render(chat_id, action, locale)

        await self.runner.stream(event, render)
        await self.renderer.flush(chat_id)

    async def _apologise(self, update: Update, locale: Locale) -> None:
        """For a failure outside an update's turn (while queueing it)."""
        ref = report_failure(log, "telegram: update %s failed", update.update_id)
        chat = update.effective_chat
        if chat is not None:
            await self.runner.apologise(lambda r: self._send_apology(chat.id, locale, r), ref)

    async def _send_apology(self, chat_id: int, locale: Locale, ref: str) -> None:
        if chat_id in self.blocked:
            return
        try:
            await self.bot.send_message(chat_id, t(locale, "telegram.apology", ref=ref))
        except Forbidden as exc:
            self._mark_blocked(chat_id, exc.message)
