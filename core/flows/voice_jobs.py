"""The ``voice_separate`` job: speaker separation of a /voice recording, in whichever runner the queue uses.

Separation is the heaviest step of ``/voice`` (minutes of CPU for a long recording), so it runs as a job:
in the bot process by default, on ``vos worker`` processes with ``VOS_JOBS__BACKEND=redis``. The payload
carries references only (user, star, recording, speaker count); the handler loads the stored recording
(its decoded samples when this machine has them, else the blob) and returns the
:meth:`SeparationResult.to_data` of the separation, from which the flow continues.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.domain.actions import ShowProgress
from core.flows.progress import Outcome, with_progress
from core.jobs.registry import JobContext, JobRegistry
from core.ports import EngineUnavailable, ProgressCallback
from core.voice.separation import SeparationResult, separate

if TYPE_CHECKING:
    from core.flows.voice_setup import VoiceSetupFlow

VOICE_SEPARATE = "voice_separate"
_UNAVAILABLE = re.compile(rf"^{EngineUnavailable.__name__}: (?:\[([\w.-]+)\] )?(.*)$", re.DOTALL)


def separation_payload(*, user_id: str, star_id: str, recording_id: str, count: int | None) -> dict[str, Any]:
    """The job payload separating a stored recording (``count=None``: estimate the number of speakers)."""
    return {"user_id": user_id, "star_id": star_id, "recording_id": recording_id, "count": count}


def separation_key(recording_id: str, count: int | None) -> str:
    """The idempotency key: the same answer for the same recording (a redelivered message) is one job."""
    return f"{recording_id}:{count if count is not None else 'auto'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unavailable:
    """A job that failed because an engine cannot run there: what today's ``EngineUnavailable`` said."""

    message: str
    extra: str | None


def unavailable(error: str | None) -> Unavailable | None:
    """The ``EngineUnavailable`` a failed job's error text records, if that is why it failed."""
    match = _UNAVAILABLE.match(error or "")
    if match is None:
        return None
    return Unavailable(message=match.group(2), extra=match.group(1))


def register_voice_jobs(registry: JobRegistry, flow: VoiceSetupFlow) -> None:
    """Register ``voice_separate``; its handler uses the flow's speaker engines as they are when it runs."""

    async def voice_separate(ctx: JobContext, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        engines = flow.engines
        if engines is None:
            raise EngineUnavailable("speaker separation is not installed", extra="voice")
        user_id, star_id = str(payload["user_id"]), str(payload["star_id"])
        recording_id = str(payload["recording_id"])
        loaded = flow.loaded_here(recording_id)
        if loaded is None or loaded.recording.owner_id != user_id:
            cache = flow.decoded_path(star_id, recording_id)
            # The decoded samples are kept where the flow runs; a worker elsewhere decodes the blob and
            # keeps nothing (no flow there deletes a cache file when it ends).
            kept = await asyncio.to_thread(cache.is_file)
            loaded = await flow.profiles.recording_audio(user_id, recording_id, cache=cache if kept else None)
        if loaded is None:
            raise LookupError(f"recording {recording_id} does not exist (deleted?)")
        count = payload.get("count")
        diarizer = engines.diarizer

        async def work(report: ProgressCallback) -> SeparationResult:
            return await separate(
                loaded.audio, loaded.sample_rate, diarizer, int(count) if count else None, report
            )

        # ``with_progress`` takes the diarizer's reports whether or not it awaits them.
        outcome: Outcome[SeparationResult] = Outcome()
        try:
            steps = with_progress(work, outcome, progress_id=ctx.job_id, describe=str)
            async with aclosing(steps):
                async for action in steps:
                    if isinstance(action, ShowProgress):
                        await ctx.progress(action.fraction or 0.0, action.text)
        except EngineUnavailable as exc:
            # The error text is all a watcher gets: keep the extra the user is told to install.
            raise EngineUnavailable(f"[{exc.extra or 'voice'}] {exc}", extra=exc.extra) from exc
        assert outcome.value is not None
        return outcome.value.to_data()

    registry.register(VOICE_SEPARATE, voice_separate)
