"""Talking to a star by voice: a voice note → decode → transcribe → "what I heard" → the normal chat turn.

The transcript goes through exactly the same chat turn as typed text (the scam guard, crisis hand-off and
history all apply). With voice replies on (``/voicereply``), the star's answer also comes back as a voice
note through :class:`~core.voice.listen.VoiceService`: the same speech guard and cache as ``/listen``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from core.command_table import CommandSpec, Feature, Section
from core.context import Context
from core.domain.actions import Action, DeleteProgress, SendText, SendVoice, ShowProgress, TypingPause
from core.domain.audio import Transcript
from core.domain.events import CommandInvoked, VoiceMessage
from core.domain.identity import Locale
from core.domain.stars import Star, StarStatus
from core.personas.chat import ChatService
from core.ports import EngineUnavailable, SpeechToText, UserStore
from core.voice.audio import SAMPLE_RATE, AudioError, DecodedAudio, decode_audio
from core.voice.listen import VoiceService

log = logging.getLogger(__name__)

ChatTurn = Callable[[Context, str], AsyncIterator[Action]]
"""The engine's typed-text path: active star checks, disclosure, ``ChatService.turn``, bubbles."""

CHAT_LANGUAGES = frozenset({"ko", "en"})
_ON = {"on", "켜기", "켬", "1", "yes"}
_OFF = {"off", "끄기", "끔", "0", "no"}


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceChatOptions:
    """Limits of voice chat: the longest note accepted and how long recognition may take."""

    max_audio_seconds: float = 7200.0
    timeout_base_s: float = 120.0
    timeout_per_audio_s: float = 3.0
    fixed_language: str | None = None
    """The operator's ``stt.language``; when set, it wins over the user's locale and detection."""


def language_hint(locale: Locale, *, explicit: bool, supported: frozenset[str]) -> str | None:
    """The language to ask the recogniser for, or ``None`` to let it detect.

    An English-only model gets its one language. A language the user chose with ``/language`` is a firm
    hint; a locale guessed from the platform is not, so Whisper detects (a Korean speaker with an English
    phone still gets Korean).
    """
    if len(supported) == 1:
        return next(iter(supported))
    if explicit and locale.value in supported:
        return locale.value
    return None


def transcript_text(transcript: Transcript) -> str:
    """The spoken words, or ``""`` when nothing intelligible is left (no letters, only punctuation)."""
    text = " ".join(seg.text.strip() for seg in transcript.segments if seg.text.strip())
    return text if any(ch.isalnum() for ch in text) else ""


class VoiceChat:
    """Answers voice messages and keeps the voice-replies setting."""

    def __init__(
        self,
        *,
        users: UserStore,
        chat: ChatService,
        stt: SpeechToText | None,
        voice: VoiceService | None = None,
        options: VoiceChatOptions = VoiceChatOptions(),
        stt_missing: str = "",
    ) -> None:
        self.users = users
        self.chat = chat
        self.stt = stt
        self.voice = voice
        self.options = options
        self.stt_missing = stt_missing  # why no recogniser could be built (for the user-facing note)

    async def _active_star(self, ctx: Context) -> Star | None:
        star_id = await self.users.active_star_id(ctx.user.id)
        return await self.chat.stars.get_owned(star_id, ctx.user.id) if star_id else None

    async def answer(self, ctx: Context, chat_turn: ChatTurn) -> AsyncIterator[Action]:
        """Hear the voice message in ``ctx.event`` and answer it like typed text."""
        event = ctx.event
        assert isinstance(event, VoiceMessage)
        star = await self._active_star(ctx)
        if star is None or star.status is StarStatus.RETIRED:
            # Nobody to talk to: the chat path says why, without recognising anything first.
            async for action in chat_turn(ctx, ""):
                yield action
            return
        if self.stt is None:  # refused before anything is downloaded or decoded, in the user's language
            log.info("voice message refused: %s", self.stt_missing[:120])
            yield SendText(
                text=ctx.tr("common.not_available", feature=ctx.tr("voicechat.feature"), extra="speech")
            )
            return
        progress = f"hear-{ctx.user.id[:8]}"
        yield ShowProgress(progress_id=progress, text=ctx.tr("voicechat.listening"))
        try:
            text = await self._hear(ctx, event)
        except AudioError as exc:
            yield DeleteProgress(progress_id=progress)
            yield SendText(text=exc.message(ctx.locale))
            return
        except EngineUnavailable as exc:
            log.warning("speech recognition unavailable: %s", exc)
            yield DeleteProgress(progress_id=progress)
            yield SendText(
                text=ctx.tr(
                    "common.not_available", feature=ctx.tr("voicechat.feature"), extra=exc.extra or "speech"
                )
            )
            return
        except TimeoutError:
            log.warning("transcription timed out for user=%s", ctx.user.id)
            yield DeleteProgress(progress_id=progress)
            yield SendText(text=ctx.tr("voicechat.too_slow"))
            return
        yield DeleteProgress(progress_id=progress)
        if not text:
            yield SendText(text=ctx.tr("voicechat.not_heard"))
            return
        yield SendText(text=ctx.tr("voicechat.heard", text=text))
        bubbles: list[str] = []
        async for action in chat_turn(ctx, text):
            if isinstance(action, SendText) and action.from_star:
                bubbles.append(action.text)
            yield action
        if bubbles and self.voice is not None and await self.users.voice_replies(ctx.user.id):
            async for action in self._speak(ctx, star, "\n".join(bubbles)):
                yield action

    async def _hear(self, ctx: Context, event: VoiceMessage) -> str:
        assert self.stt is not None
        # Decoded at the rate the recogniser declares it works at: it has nothing left to resample.
        rates = self.stt.capabilities.sample_rates
        decoded: DecodedAudio = await asyncio.to_thread(
            decode_audio,
            event.file.path,
            max_seconds=self.options.max_audio_seconds,
            sample_rate=rates[0] if rates else SAMPLE_RATE,
        )
        opts = self.options
        hint = opts.fixed_language or language_hint(
            ctx.locale, explicit=ctx.user.locale_is_explicit, supported=self.stt.capabilities.languages
        )
        async with asyncio.timeout(opts.timeout_base_s + opts.timeout_per_audio_s * decoded.duration_s):
            transcript = await self.stt.transcribe(
                decoded.samples, sample_rate=decoded.sample_rate, language=hint
            )
            if hint is None and transcript.language not in CHAT_LANGUAGES and transcript.segments:
                # Short notes fool language detection (Korean heard as Japanese); the user's locale decides.
                log.info("detected %r, retrying in %s", transcript.language, ctx.locale.value)
                transcript = await self.stt.transcribe(
                    decoded.samples, sample_rate=decoded.sample_rate, language=ctx.locale.value
                )
        log.info("heard %.1f s (%s) for user=%s", decoded.duration_s, transcript.language or "?", ctx.user.id)
        return transcript_text(transcript)

    async def _speak(self, ctx: Context, star: Star, text: str) -> AsyncIterator[Action]:
        assert self.voice is not None
        yield TypingPause(seconds=1.0, recording=True)
        try:
            spoken = await self.voice.speak(star, text, ctx.locale)
        except EngineUnavailable as exc:
            log.warning("speech synthesis unavailable: %s", exc)
            yield SendText(
                text=ctx.tr(
                    "common.not_available",
                    feature=ctx.tr("voicechat.voice_feature"),
                    extra=exc.extra or "voice",
                )
            )
            return
        if spoken.path is None:
            yield SendText(text=spoken.caption)  # the speech guard said no: tell the user, as /listen does
            return
        yield SendVoice(path=spoken.path, caption=spoken.caption, duration_s=spoken.duration_s)

    def feature(self) -> Feature:
        """``/voicereply``."""
        return Feature(commands=(CommandSpec(name="voicereply", handler=self.toggle, section=Section.VOICE),))

    async def toggle(self, ctx: Context) -> AsyncIterator[Action]:
        """``/voicereply`` (optionally ``on``/``off``): answer voice messages with a voice note too."""
        args = ctx.event.args.strip().lower() if isinstance(ctx.event, CommandInvoked) else ""
        current = await self.users.voice_replies(ctx.user.id)
        wanted = True if args in _ON else False if args in _OFF else not current
        if wanted and self.voice is None:
            yield SendText(
                text=ctx.tr("common.not_available", feature=ctx.tr("voicechat.voice_feature"), extra="voice")
            )
            return
        await self.users.set_voice_replies(ctx.user.id, wanted)
        yield SendText(text=ctx.tr("voicechat.replies_on" if wanted else "voicechat.replies_off"))
