"""Wiring per feature: the voice features, then every feature's declaration merged into the one router.

Each feature module declares its commands, choices, flows and user-data erasers once (``feature()``);
:func:`command_router` builds them and merges the declarations with :func:`core.command_table.build_router`.
Nothing is patched afterwards: no feature holds the engine (flows start through ``ctx.start_flow``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engines import (
    build_disclosure,
    build_speaker_engines,
    build_speech_to_text,
    build_synthesizer,
    build_voice_service,
)
from bot.settings import Settings
from core.command_table import Feature, Router, build_router
from core.commands import Commands
from core.flows.create_star import CreateStarFlow
from core.flows.names import NameChoices, NameOptions
from core.flows.voice_setup import SpeakerEngines, VoiceSetupFlow
from core.jobs.ports import JobQueue
from core.meetings.commands import MeetingCommands
from core.meetings.enrol_commands import EnrolCommands
from core.meetings.enrolment import VoiceEnrolment
from core.meetings.service import MeetingService
from core.personas.chat import ChatService
from core.personas.stars import StarService
from core.personas.voice_chat import VoiceChat, VoiceChatOptions
from core.ports import BlobStore, ChatModel, SpeechToText
from core.privacy.rights import DataRightsService
from core.safety.check import SafetyGuard
from core.storage.blob_references import BlobReferenceRepository
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.outbox import Outbox
from core.storage.repositories import ConsentRepository, StarRepository, UserRepository
from core.storage.voice_enrolment_repository import VoiceEnrolmentRepository
from core.storage.voice_memory_repository import VoiceMemoryRepository
from core.storage.voice_repository import VoiceRepository
from core.voice.listen import VoiceService
from core.voice.memories import VoiceMemoryService
from core.voice.memory_commands import VoiceMemoryCommands
from core.voice.profiles import VoiceProfileService
from core.voice.provenance import ProvenanceLog
from core.voice.verify_commands import VerifyCommands


@dataclass(slots=True, kw_only=True)
class VoiceFeatures:
    """The star's voice: synthesis, voice chat, voice setup and voice memories (one recogniser for all)."""

    profiles: VoiceProfileService
    issued: ProvenanceLog
    voice: VoiceService | None
    stt: SpeechToText | None
    chat: VoiceChat
    engines: SpeakerEngines | None
    memories: VoiceMemoryService
    setup: VoiceSetupFlow


@dataclass(slots=True, kw_only=True)
class Stores:
    """The storage the features read (built once by the composition root)."""

    db: Database
    blobs: BlobStore
    users: UserRepository
    stars: StarRepository
    consents: ConsentRepository
    references: BlobReferenceRepository
    memory: MemoryStore


def build_voice_features(
    settings: Settings,
    stores: Stores,
    *,
    chat: ChatService,
    guard: SafetyGuard,
    jobs: JobQueue,
    stt: SpeechToText | None,
) -> VoiceFeatures:
    """``/listen``, voice replies, ``/voice`` and ``/memories``; ``stt``: the app's recogniser, if given."""
    data = settings.data_dir
    profiles = VoiceProfileService(VoiceRepository(stores.db), stores.references, stores.blobs)
    issued = ProvenanceLog(data / "provenance")
    voice = build_voice_service(settings, build_synthesizer(settings), guard, profiles, issued)
    stt_missing = ""
    if stt is None:
        stt, stt_missing = build_speech_to_text(settings)
    voice_chat = VoiceChat(
        users=stores.users,
        chat=chat,
        stt=stt,
        voice=voice,
        options=VoiceChatOptions(
            max_audio_seconds=settings.limits.max_audio_seconds, fixed_language=settings.stt.language
        ),
        stt_missing=stt_missing,
    )
    memories = VoiceMemoryService(
        VoiceMemoryRepository(stores.db),
        stores.references,
        stores.blobs,
        stt=stt,
        cache_root=data / "voice_cache",
        stt_missing=stt_missing,
        star_texts=stores.memory.star_texts,
    )
    engines = build_speaker_engines(settings)
    setup = VoiceSetupFlow(
        profiles=profiles,
        jobs=jobs,
        consents=stores.consents,
        engines=engines,
        voice=voice,
        work_root=data / "voice_cache",
        max_audio_seconds=settings.limits.max_audio_seconds,
        max_audio_bytes=int(settings.limits.max_audio_mb * 1_000_000),
        memories=memories,
    )
    return VoiceFeatures(
        profiles=profiles,
        issued=issued,
        voice=voice,
        stt=stt,
        chat=voice_chat,
        engines=engines,
        memories=memories,
        setup=setup,
    )


def meeting_enrolment(meetings: MeetingService) -> VoiceEnrolment:
    """The meetings' voice enrolment, shared by ``/enroll`` and ``/export`` (without the voice extra it
    refuses to enrol, yet still lists and erases what was enrolled)."""
    return meetings.enrolment or VoiceEnrolment(VoiceEnrolmentRepository(meetings.repo.db), None)


def command_router(
    settings: Settings,
    stores: Stores,
    *,
    voice: VoiceFeatures,
    chat: ChatService,
    star_service: StarService,
    rights: DataRightsService,
    model: ChatModel | None,
    meetings: MeetingService,
    enrolment: VoiceEnrolment,
    jobs: JobQueue,
    outbox: Outbox,
) -> tuple[Router, Commands]:
    """Every feature's declaration, merged once; also the core commands (whose ``forget_user`` the admin
    CLI runs)."""
    max_audio_bytes = int(settings.limits.max_audio_mb * 1_000_000)
    names = NameChoices(stores.users, stores.stars, NameOptions(stores.stars, star_service))
    disclosure = build_disclosure(model)
    create_flow = CreateStarFlow(star_service, stores.blobs, stores.users, names, disclosure)
    meeting_commands = MeetingCommands(
        meetings,
        jobs=jobs,
        outbox=outbox,
        max_upload_bytes=max_audio_bytes,
        processes_here=settings.jobs.backend == "local",
    )
    others: list[Feature] = [
        voice.chat.feature(),
        VoiceMemoryCommands(voice.memories, users=stores.users, stars=stores.stars).feature(),
        VerifyCommands(voice.issued, max_bytes=max_audio_bytes).feature(),
        names.feature(),
        meeting_commands.feature(),
        # ``/enroll``'s feature declares the eraser ``/forget_me`` runs (``MeetingCommands`` the meetings').
        EnrolCommands(enrolment, max_upload_bytes=max_audio_bytes).feature(),
    ]
    commands = Commands(
        users=stores.users,
        chat=chat,
        star_service=star_service,
        rights=rights,
        create_flow=create_flow,
        disclosure=disclosure,
        engine_note=(chat.engine_name, settings.llm.model if model else ""),
        voice=voice.voice,
        voice_setup=voice.setup,
        voice_profiles=voice.profiles,
        erasers=[erase for feature in others for erase in feature.erasers],
    )
    return build_router([commands.feature(), *others]), commands
