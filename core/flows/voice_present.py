"""What the voice setup shows: each separated speaker's real sample, the timeline picture, the results."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from core.context import Context
from core.domain.actions import Action, SendFile, SendText, SendVoice
from core.domain.voice import VoiceProfile
from core.ports import Audio
from core.voice.audio import encode_voice_note
from core.voice.separation import SeparationResult, extract_clip
from core.voice.timeline import render_timeline_png

MIN_SAMPLE_S = 0.3


def audible_speakers(result: SeparationResult) -> list[str]:
    """Labels of the speakers with a sample long enough to recognise by ear."""
    return [s.label for s in result.speakers if s.sample_end - s.sample_start >= MIN_SAMPLE_S]


def _fresh_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


async def present_speakers(
    ctx: Context, result: SeparationResult, audio: Audio, sample_rate: int, work_dir: Path
) -> AsyncIterator[Action]:
    """One voice note per speaker (their real voice, not tagged AI) and one timeline PNG."""
    await asyncio.to_thread(_fresh_dir, work_dir)
    labels = audible_speakers(result)
    names = {label: ctx.tr("voice.separation.speaker_label", number=i) for i, label in enumerate(labels, 1)}
    for number, label in enumerate(labels, 1):
        summary = result.speaker(label)
        clip = extract_clip(audio, sample_rate, (summary.sample_start, summary.sample_end))
        path = await asyncio.to_thread(
            encode_voice_note,
            clip,
            sample_rate,
            work_dir / f"speaker-{number}.ogg",
            ai_generated=False,  # a cut of the user's own recording, not synthetic speech
            title=names[label],
        )
        yield SendVoice(
            path=path,
            caption=ctx.tr("voiceflow.speaker_caption", number=number, seconds=f"{summary.seconds:.1f}"),
            duration_s=clip.size / sample_rate,
        )
    # Without a Hangul font the timeline falls back to "#1" and seconds; the caption is localized either way.
    png = await asyncio.to_thread(
        render_timeline_png,
        [t for t in result.turns if t.speaker in names],
        result.duration_s,
        work_dir / "timeline.png",
        names,
        axis_label=ctx.tr("voice.timeline.axis_time"),
    )
    yield SendFile(path=png, filename="timeline.png", caption=ctx.tr("voiceflow.timeline_caption"))


def _measure(ctx: Context, value: float | None, unit: str, digits: int = 0) -> str:
    return f"{value:.{digits}f} {unit}" if value is not None else ctx.tr("voiceflow.unmeasured")


def profile_summary(ctx: Context, star: str, profile: VoiceProfile, *, clones: bool | None) -> SendText:
    """The result in plain words: seconds kept, pitch and pace, and which voice /listen will now use."""
    done = ctx.tr(
        "voiceflow.done",
        star=star,
        seconds=f"{profile.total_seconds:.1f}",
        clips=len(profile.clips),
        f0=_measure(ctx, profile.median_f0_hz, "Hz"),
        wpm=_measure(ctx, profile.syllables_per_second, ctx.tr("voiceflow.wpm_unit"), 1),
    )
    key = (
        "voiceflow.done_no_synth"
        if clones is None
        else "voiceflow.done_clone"
        if clones
        else "voiceflow.done_basic"
    )
    return SendText(text=f"{done}\n{ctx.tr(key, star=star)}")
