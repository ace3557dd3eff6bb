"""What the voice flow does once the star's voice is chosen: grow the profile from an added recording, and
keep the star's turns as voice memories (transcribed with progress; the profile is saved whatever happens).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from core.context import Context, FlowState
from core.domain.actions import Action, DeleteProgress, SendText
from core.domain.audio import SpeakerTurn
from core.flows.progress import Outcome, with_progress
from core.flows.voice_present import profile_summary
from core.ports import EngineUnavailable, ProgressCallback, SpeakerEncoder
from core.voice.memories import Remembered, VoiceMemoryService
from core.voice.profiles import STAR_LABEL, LoadedRecording, VoiceProfileService

log = logging.getLogger(__name__)


async def add_recording(
    ctx: Context,
    state: FlowState,
    source: LoadedRecording,
    turns: tuple[SpeakerTurn, ...],
    *,
    profiles: VoiceProfileService,
    encoder: SpeakerEncoder,
    memories: VoiceMemoryService | None,
    clones: bool | None,
) -> AsyncIterator[Action]:
    """An added recording: find the star in it by their voice, grow the profile, keep what they said."""
    state.finish()
    star = state.data["star_name"]
    profile = await profiles.profile(ctx.user.id, state.data["star_id"])
    if profile is None:
        return
    yield SendText(text=ctx.tr("voiceflow.add_searching", star=star))
    added = await profiles.add_recording(ctx.user.id, profile, source, turns, encoder=encoder)
    if not added.found:
        yield SendText(text=ctx.tr("voiceflow.add_not_found", star=star))
    elif added.added_s <= 0:
        yield SendText(text=ctx.tr("voiceflow.add_full", star=star, seconds=f"{profile.total_seconds:.1f}"))
    else:
        yield SendText(
            text=ctx.tr(
                "voiceflow.added",
                star=star,
                added=f"{added.added_s:.1f}",
                seconds=f"{added.profile.total_seconds:.1f}",
            )
        )
        yield profile_summary(ctx, star, added.profile, clones=clones)
    if added.turns:
        async for a in remember(
            ctx, star, source, added.turns, STAR_LABEL, replace=False, memories=memories, profiles=profiles
        ):
            yield a


async def remember(
    ctx: Context,
    star: str,
    source: LoadedRecording,
    turns: Sequence[SpeakerTurn],
    speaker: str,
    *,
    replace: bool,
    memories: VoiceMemoryService | None,
    profiles: VoiceProfileService,
) -> AsyncIterator[Action]:
    """Transcribe the star's turns into voice memories; the profile is already saved whatever happens."""
    if memories is None:
        return
    if memories.stt is None:
        yield SendText(text=ctx.tr("voicememory.no_stt", star=star, reason=memories.stt_missing[:160]))
        return
    progress = f"memories-{ctx.user.id[:8]}"
    outcome: Outcome[Remembered] = Outcome()

    async def work(report: ProgressCallback) -> Remembered:
        return await memories.remember(
            ctx.user.id,
            source,
            turns,
            speaker,
            replace=replace,
            progress=report,
            fallback_language=ctx.locale.value,
        )

    try:
        async for a in with_progress(
            work, outcome, progress_id=progress, describe=lambda _: ctx.tr("voicememory.transcribing")
        ):
            yield a
    except EngineUnavailable as exc:
        yield DeleteProgress(progress_id=progress)
        yield SendText(text=ctx.tr("voicememory.no_stt", star=star, reason=str(exc)[:160]))
        return
    except Exception:  # the voice is kept already; a failed transcription must not lose the flow's answer
        log.exception("voice memories failed")
        yield DeleteProgress(progress_id=progress)
        yield SendText(text=ctx.tr("voicememory.failed", star=star))
        return
    yield DeleteProgress(progress_id=progress)
    done = outcome.value
    if replace and done is not None and done.syllables_per_second is not None:
        # The first recording's transcripts give the pace; an added one keeps the combined measure.
        await profiles.repo.set_pace(
            ctx.user.id,
            source.recording.star_id,
            syllables_per_second=done.syllables_per_second,
            language=done.language,
        )
    if done is None or done.count == 0:
        yield SendText(text=ctx.tr("voicememory.none_heard", star=star))
        return
    yield SendText(
        text=ctx.tr(
            "voicememory.kept",
            star=star,
            count=done.count,
            seconds=f"{done.seconds:.0f}",
            example=done.example[:120],
            hint=done.hint or done.example.split()[0],
        )
    )
