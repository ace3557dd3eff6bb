"""The voice setup flow (``/voice``): voice-cloning consent, a recording, separation, "which one is them?".

Steps: ``consent`` (a separate, explicit consent, stored with its wording) → ``mode`` (only when a profile
exists: add a recording or start over) → ``recording`` → ``count`` (how many people speak) → separation with
progress → ``pick`` (new profile) or matching by embedding (added recording). Heavy work runs in threads;
separation runs as a ``voice_separate`` job (:mod:`core.flows.voice_jobs`), on a worker when there are any.

The recording is decoded once, when it arrives: its samples wait on disk (``decoded_path``) for the later
steps, since the user may answer minutes later or after a restart, and are deleted when the flow ends,
is cancelled or replaced. Without that file (another machine, a cleaned cache) the stored blob is decoded.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.context import Context, FlowState
from core.domain.actions import Action, AskChoice, DeleteProgress, FileKind, SendText, ShowProgress
from core.domain.audio import SpeakerTurn
from core.domain.events import FileUploaded, VoiceMessage
from core.flows.answers import Answer, answer_text, yes_or_no
from core.flows.base import StepTable, flow_choice
from core.flows.progress import Outcome
from core.flows.voice_jobs import VOICE_SEPARATE, separation_key, separation_payload, unavailable
from core.flows.voice_keep import add_recording, remember
from core.flows.voice_present import audible_speakers, present_speakers, profile_summary
from core.jobs.ports import JobQueue, JobStatus, JobUpdate
from core.ports import ConsentStore, Diarizer, SpeakerEncoder
from core.voice.audio import AudioError, decode_audio, save_samples
from core.voice.listen import VoiceService
from core.voice.memories import VoiceMemoryService
from core.voice.profile import NotEnoughSpeech
from core.voice.profiles import LoadedRecording, VoiceProfileService
from core.voice.separation import SeparationResult

log = logging.getLogger(__name__)
CONSENT_KIND = "voice_clone"
MAX_COUNT = 6


@dataclass(slots=True)
class SpeakerEngines:
    """The speaker-separation backend and the encoder whose embeddings profiles keep."""

    diarizer: Diarizer
    encoder: SpeakerEncoder


def _progress_text(ctx: Context) -> Callable[[str], str]:
    def describe(word: str) -> str:
        if word in {"vad", "embed", "cluster"}:
            return ctx.tr(f"voice.separation.progress_{word}")
        return ctx.tr("voiceflow.separating")

    return describe


def _ask_recording(ctx: Context, star: str) -> SendText:
    return SendText(text=ctx.tr("voiceflow.ask_recording", star=star), expects_file=FileKind.AUDIO)


class VoiceStep(StrEnum):
    """The steps of ``/voice``; the values are what stored dialogs hold (keep them when renaming)."""

    CONSENT = "consent"
    MODE = "mode"
    RECORDING = "recording"
    COUNT = "count"
    PICK = "pick"


class VoiceSetupFlow:
    """Keeps the active star's voice from a recording the user sends; any adapter renders the same steps."""

    kind = "voice_setup"

    def __init__(
        self,
        *,
        profiles: VoiceProfileService,
        consents: ConsentStore,
        engines: SpeakerEngines | None,
        voice: VoiceService | None,
        work_root: Path,
        max_audio_seconds: float,
        max_audio_bytes: int,
        jobs: JobQueue,
        memories: VoiceMemoryService | None = None,
    ) -> None:
        self.profiles = profiles
        self.jobs = jobs
        self._loaded: dict[str, LoadedRecording] = {}
        self.consents = consents
        self.engines = engines
        self.voice = voice
        self.work_root = work_root
        self.max_audio_seconds = max_audio_seconds
        self.max_audio_bytes = max_audio_bytes
        self.memories = memories
        self.steps = StepTable(
            VoiceStep,
            {
                VoiceStep.CONSENT: self._step_consent,
                VoiceStep.MODE: self._step_mode,
                VoiceStep.RECORDING: self._step_recording,
                VoiceStep.COUNT: self._step_count,
                VoiceStep.PICK: self._step_pick,
            },
        )

    def loaded_here(self, recording_id: str) -> LoadedRecording | None:
        """The recording's samples when this process's flow holds them while its separation job runs."""
        return self._loaded.get(recording_id)

    def work_dir(self, star_id: str) -> Path:
        """Where a star's speaker samples and timeline go (inside its voice cache, deleted by /forget)."""
        return self.work_root / star_id / "setup"

    def decoded_path(self, star_id: str, recording_id: str) -> Path:
        """Where a recording's decoded samples wait between the flow's steps (float32 ``.npy``)."""
        return self._decoded_dir(star_id) / f"{recording_id}.npy"

    def _decoded_dir(self, star_id: str) -> Path:
        # Beside ``work_dir``, not inside it: presenting the speakers empties ``work_dir`` first.
        return self.work_root / star_id / "decoded"

    def forget(self, star_id: str) -> None:
        """Delete a star's speaker samples, timeline and decoded recording (part of /forget)."""
        shutil.rmtree(self.work_root / star_id / "setup", ignore_errors=True)
        shutil.rmtree(self._decoded_dir(star_id), ignore_errors=True)
        if self.memories is not None:
            self.memories.forget(star_id)

    async def abandon(self, state: FlowState) -> None:
        """Delete the decoded recording, the speaker samples shown and the recording itself (unless a
        voice clip or memory was made from it) of a flow that /cancel, another command or expiry ends
        unfinished."""
        await self._drop_decoded(state)
        star_id = state.data.get("star_id")
        if isinstance(star_id, str) and star_id:
            await asyncio.to_thread(shutil.rmtree, self.work_dir(star_id), ignore_errors=True)
        recording_id = state.data.get("recording_id")
        if isinstance(recording_id, str) and recording_id:  # the upload nothing was made from
            await self.profiles.drop_unused_recording(recording_id)

    async def _drop_decoded(self, state: FlowState) -> None:
        star_id = state.data.get("star_id")
        if isinstance(star_id, str) and star_id:
            await asyncio.to_thread(shutil.rmtree, self._decoded_dir(star_id), ignore_errors=True)

    async def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Ask the voice-cloning consent unless given; offer to add a recording when a profile exists."""
        if self.engines is None:
            state.finish()
            yield SendText(
                text=ctx.tr("common.not_available", feature=ctx.tr("voiceflow.feature"), extra="voice")
            )
            return
        star_id, star = state.data["star_id"], state.data["star_name"]
        if not await self.consents.has(ctx.user.id, CONSENT_KIND, star_id):
            state.goto(VoiceStep.CONSENT)
            yield AskChoice(
                prompt=ctx.tr("voiceflow.consent", star=star),
                options=(flow_choice("yes", ctx.tr("common.yes")), flow_choice("no", ctx.tr("common.no"))),
            )
            return
        async for a in self._offer(ctx, state):
            yield a

    async def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Advance one step; a finished flow's decoded recording is deleted."""
        async for action in self.steps.dispatch(ctx, state):
            yield action
        if state.finished:
            await self._drop_decoded(state)

    async def _offer(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        star = state.data["star_name"]
        profile = await self.profiles.profile(ctx.user.id, state.data["star_id"])
        if profile is None:
            state.data["mode"] = "new"
            state.goto(VoiceStep.RECORDING)
            yield _ask_recording(ctx, star)
            return
        state.goto(VoiceStep.MODE)
        yield AskChoice(
            prompt=ctx.tr("voiceflow.profile_exists", star=star, seconds=f"{profile.total_seconds:.1f}"),
            options=(
                flow_choice("add", ctx.tr("voiceflow.add_recording")),
                flow_choice("new", ctx.tr("voiceflow.replace")),
            ),
        )

    async def _step_consent(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        answer, star = yes_or_no(ctx.event), state.data["star_name"]
        if answer is Answer.YES:
            wording = ctx.tr("voiceflow.consent", star=star)
            await self.consents.record(ctx.user.id, CONSENT_KIND, wording, star_id=state.data["star_id"])
            async for a in self._offer(ctx, state):
                yield a
        elif answer is Answer.NO:
            state.finish()
            yield SendText(text=ctx.tr("voiceflow.consent_declined", star=star))
        else:
            async for a in self.start(ctx, state):
                yield a

    async def _step_mode(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        answer = answer_text(ctx.event)
        if answer not in {"add", "new"}:
            async for a in self._offer(ctx, state):
                yield a
            return
        state.data["mode"] = answer
        state.goto(VoiceStep.RECORDING)
        yield _ask_recording(ctx, state.data["star_name"])

    async def _step_recording(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        if not isinstance(ctx.event, FileUploaded | VoiceMessage):
            yield _ask_recording(ctx, state.data["star_name"])
            return
        upload = ctx.event.file
        if upload.size > self.max_audio_bytes:
            limit = f"{self.max_audio_bytes / 1e6:.0f}"
            yield SendText(
                text=ctx.tr("voiceflow.too_large", size_mb=f"{upload.size / 1e6:.1f}", limit_mb=limit)
            )
            return
        try:
            decoded = await asyncio.to_thread(decode_audio, upload.path, max_seconds=self.max_audio_seconds)
        except AudioError as exc:
            log.info("voice recording rejected: %s", exc)
            yield SendText(text=exc.message(ctx.locale))
            return
        star_id = state.data["star_id"]
        recording = await self.profiles.store_recording(
            ctx.user.id, star_id, upload.path, upload.filename, decoded.duration_s
        )
        await self._drop_decoded(state)  # one recording at a time: a crashed flow's file goes too
        try:
            await asyncio.to_thread(save_samples, decoded.samples, self.decoded_path(star_id, recording.id))
        except OSError:  # a full disk costs a decode later, not the recording
            log.warning("could not keep the decoded recording", exc_info=True)
        state.data["recording_id"] = recording.id
        state.goto(VoiceStep.COUNT)
        options = [flow_choice(f"n{n}", str(n)) for n in range(1, MAX_COUNT + 1)]
        yield AskChoice(
            prompt=ctx.tr("voiceflow.ask_count"),
            options=(*options, flow_choice("auto", ctx.tr("voiceflow.count_unknown"))),
        )

    async def _step_count(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        answer = answer_text(ctx.event).removeprefix("n")
        count = int(answer) if answer.isdigit() and 1 <= int(answer) <= MAX_COUNT else None
        assert self.engines is not None
        loaded = await self._recording(ctx, state)
        if loaded is None:
            state.finish()
            return
        audio, sr = loaded.audio, loaded.sample_rate
        progress = f"voice-{ctx.user.id[:8]}"
        yield SendText(text=ctx.tr("voiceflow.separating"))
        outcome: Outcome[SeparationResult] = Outcome()
        self._loaded[loaded.recording.id] = loaded  # a job run by this process needs no second load
        try:
            async for a in self._separate(ctx, state, count, progress, outcome):
                yield a
        finally:
            self._loaded.pop(loaded.recording.id, None)
        if outcome.value is None:  # the engine cannot run: said, and the flow ended
            return
        yield DeleteProgress(progress_id=progress)
        result = outcome.value
        turns = [t for t in result.turns if t.speaker in set(audible_speakers(result))]
        if not turns:
            state.finish()
            yield SendText(text=ctx.tr("voice.separation.no_speech"))
            return
        if state.data.get("mode") == "add":
            assert self.engines is not None
            added = add_recording(
                ctx,
                state,
                loaded,
                result.turns,
                profiles=self.profiles,
                encoder=self.engines.encoder,
                memories=self.memories,
                clones=self._clones(),
            )
            async for a in added:
                yield a
            return
        async for a in present_speakers(ctx, result, audio, sr, self.work_dir(state.data["star_id"])):
            yield a
        state.data["turns"] = [[t.start, t.end, t.speaker] for t in result.turns]
        state.data["speakers"] = audible_speakers(result)
        state.goto(VoiceStep.PICK)
        yield self._pick_question(ctx, state)

    async def _separate(
        self,
        ctx: Context,
        state: FlowState,
        count: int | None,
        progress: str,
        outcome: Outcome[SeparationResult],
    ) -> AsyncIterator[Action]:
        """Run the ``voice_separate`` job and edit one progress message until it ends.

        The job runs wherever the queue runs it (this process, or a worker). A failure other than a
        missing engine raises, as the separation itself did before it was a job: the flow stays at this
        step, and answering again re-runs the failed job.
        """
        recording_id = state.data["recording_id"]
        job_id = await self.jobs.submit(
            VOICE_SEPARATE,
            separation_payload(
                user_id=ctx.user.id, star_id=state.data["star_id"], recording_id=recording_id, count=count
            ),
            owner_id=ctx.user.id,
            chat_id=ctx.event.chat_id,
            idempotency_key=separation_key(recording_id, count),
        )
        describe = _progress_text(ctx)
        shown = (-1.0, "\0")
        final: JobUpdate | None = None
        async for update in self.jobs.watch(job_id):
            if update.final:  # the watch ends after its final update
                final = update
                continue
            # One edit per stage change or 10 %, so chats are not flooded (Telegram allows ~1/s).
            if update.text != shown[1] or update.fraction - shown[0] >= 0.1:
                shown = (update.fraction, update.text)
                yield ShowProgress(progress_id=progress, text=describe(update.text), fraction=update.fraction)
        if final is not None and final.status is JobStatus.DONE and final.result is not None:
            outcome.value = SeparationResult.from_data(final.result)
            return
        missing = unavailable(final.error if final is not None else None)
        if missing is None:
            status = final.status.value if final is not None else "lost"
            raise RuntimeError(f"voice separation job {job_id} {status}: {final.error if final else ''}")
        state.finish()
        yield DeleteProgress(progress_id=progress)
        yield SendText(
            text=ctx.tr("common.not_available", feature=missing.message[:120], extra=missing.extra or "voice")
        )

    async def _recording(self, ctx: Context, state: FlowState) -> LoadedRecording | None:
        recording_id = state.data["recording_id"]
        cache = self.decoded_path(state.data["star_id"], recording_id)
        return await self.profiles.recording_audio(ctx.user.id, recording_id, cache=cache)

    def _pick_question(self, ctx: Context, state: FlowState) -> AskChoice:
        options = [
            flow_choice(f"s{i}", ctx.tr("voice.separation.speaker_label", number=i))
            for i in range(1, len(state.data["speakers"]) + 1)
        ]
        return AskChoice(
            prompt=ctx.tr("voiceflow.ask_pick", star=state.data["star_name"]),
            options=(*options, flow_choice("none", ctx.tr("voiceflow.none_of_them"))),
        )

    async def _step_pick(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        answer, star = answer_text(ctx.event).removeprefix("s"), state.data["star_name"]
        speakers: list[str] = state.data["speakers"]
        if answer == "none":
            state.finish()
            yield SendText(text=ctx.tr("voiceflow.none_picked", star=star))
            return
        if not (answer.isdigit() and 1 <= int(answer) <= len(speakers)):
            yield self._pick_question(ctx, state)
            return
        assert self.engines is not None
        loaded = await self._recording(ctx, state)
        if loaded is None:
            state.finish()
            return
        turns = [SpeakerTurn(start=s, end=e, speaker=lab) for s, e, lab in state.data["turns"]]
        yield SendText(text=ctx.tr("voiceflow.building", star=star))
        try:
            profile = await self.profiles.create(
                ctx.user.id, loaded, turns, speakers[int(answer) - 1], encoder=self.engines.encoder
            )
        except NotEnoughSpeech as exc:
            yield SendText(
                text=ctx.tr(
                    "voice.profile.not_enough_speech",
                    seconds=f"{exc.seconds:.1f}",
                    minimum=f"{exc.minimum:.0f}",
                )
            )
            yield self._pick_question(ctx, state)
            return
        state.finish()
        yield profile_summary(ctx, star, profile, clones=self._clones())
        kept = remember(
            ctx,
            star,
            loaded,
            turns,
            speakers[int(answer) - 1],
            replace=True,
            memories=self.memories,
            profiles=self.profiles,
        )
        async for a in kept:
            yield a

    def _clones(self) -> bool | None:
        return None if self.voice is None else self.voice.synthesizer.clones_voice
