"""The star's voice profile as a service: store recordings, build or extend the profile, and speak with it.

Numbers come from ``core.voice.profile`` (clips, embedding) and ``core.voice.analysis`` (pitch, pace); this
module runs them off the event loop, keeps clips as WAV blobs and rows through ``VoiceRepository``, and
deletes blobs an older profile no longer needs.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from core.blob_release import release_blobs
from core.domain.audio import SpeakerTurn
from core.domain.voice import VoiceProfile, VoiceRecording
from core.ports import Audio, BlobStore, SpeakerEncoder, VoiceSpec
from core.storage.blob_references import BlobReferenceRepository
from core.storage.voice_repository import NewVoiceClip, VoiceMeasures, VoiceRepository
from core.voice.analysis import voice_traits
from core.voice.audio import SAMPLE_RATE, decode_audio, encode_audio, load_samples, save_samples
from core.voice.profile import (
    MAX_PROFILE_S,
    NotEnoughSpeech,
    VoiceProfileData,
    build_voice_profile,
    find_voice_segments,
    mean_embedding,
)
from core.voice.syllables import rate_over_turns, syllables_per_second

log = logging.getLogger(__name__)
STAR_LABEL = "\x00star"  # the label matched turns get when a new recording is added to a profile


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedRecording:
    """A stored recording and its samples (mono float32 at ``sample_rate``)."""

    recording: VoiceRecording
    audio: Audio
    sample_rate: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AddedVoice:
    """The outcome of adding a recording to a profile: ``added_s`` of new clips (0 when none).

    ``turns`` are the recording's turns found to be the profile's voice (relabelled ``STAR_LABEL``).
    """

    profile: VoiceProfile
    added_s: float
    found: bool
    turns: tuple[SpeakerTurn, ...] = ()


def _gender(value: str | None) -> Literal["female", "male"] | None:
    return "female" if value == "female" else "male" if value == "male" else None


def _measures(
    engine: str, embedding: npt.NDArray[np.float32], clips: Sequence[Audio], sr: int, rate: float | None
) -> VoiceMeasures:
    """``rate``: syllables per second measured over the star's stretches of speech in the recording (the
    clips alone are cut tight around speech and would make the star sound faster than they spoke)."""
    audio = np.concatenate(list(clips))
    traits = voice_traits(audio, sr)
    return VoiceMeasures(
        engine=engine,
        embedding=tuple(float(v) for v in embedding),
        median_f0_hz=traits.median_f0_hz,
        words_per_minute=traits.words_per_minute,
        syllables_per_second=rate if rate is not None else syllables_per_second(audio, sr),
        gender_hint=traits.gender_hint,
        total_seconds=sum(c.size for c in clips) / sr,
    )


class VoiceProfileService:
    """Recordings and voice profiles of stars, always through their owner."""

    def __init__(self, repo: VoiceRepository, references: BlobReferenceRepository, blobs: BlobStore) -> None:
        self.repo = repo
        self.references = references
        self.blobs = blobs

    async def store_recording(
        self, owner_id: str, star_id: str, path: Path, filename: str, duration_s: float
    ) -> VoiceRecording:
        """Keep an uploaded recording in the blob store (it is exported and deleted with the star)."""
        key = await self.blobs.put_file(path)
        size = (await asyncio.to_thread(path.stat)).st_size
        return await self.repo.add_recording(
            owner_id=owner_id,
            star_id=star_id,
            blob_key=key,
            filename=filename,
            duration_s=duration_s,
            size=size,
        )

    async def recording_audio(
        self, owner_id: str, recording_id: str, *, cache: Path | None = None
    ) -> LoadedRecording | None:
        """A stored recording decoded to 16 kHz mono, or ``None`` when it is not the owner's.

        ``cache`` is where a flow keeps these samples between its steps (see ``save_samples``): read when it
        holds this recording, else the blob is decoded (after a restart on another machine, or once the cache
        was cleaned) and the cache written again for the next step.
        """
        recording = await self.repo.get_recording(owner_id, recording_id)
        if recording is None:
            return None
        samples = None
        if cache is not None:
            expected = round(recording.duration_s * SAMPLE_RATE)
            samples = await asyncio.to_thread(load_samples, cache, expected_size=expected)
        if samples is None:
            source = await self.blobs.fetch_local(recording.blob_key)
            samples = (await asyncio.to_thread(decode_audio, source, sample_rate=SAMPLE_RATE)).samples
            if cache is not None:
                try:
                    await asyncio.to_thread(save_samples, samples, cache)
                except OSError:  # the next step decodes again
                    log.warning("could not keep the decoded recording", exc_info=True)
        return LoadedRecording(recording=recording, audio=samples, sample_rate=SAMPLE_RATE)

    async def profile(self, owner_id: str, star_id: str) -> VoiceProfile | None:
        """The star's profile (only for its owner)."""
        return await self.repo.get_profile(owner_id, star_id)

    async def voice_spec(self, owner_id: str, star_id: str) -> VoiceSpec | None:
        """What the synthesizer needs to speak as the star, or ``None`` without a profile."""
        profile = await self.repo.get_profile(owner_id, star_id)
        if profile is None:
            return None
        return VoiceSpec(
            profile_id=profile.cache_id,
            reference_clips=tuple([await self.blobs.fetch_local(c.blob_key) for c in profile.clips]),
            median_f0_hz=profile.median_f0_hz,
            words_per_minute=profile.words_per_minute,
            syllables_per_second=profile.syllables_per_second,
            gender_hint=_gender(profile.gender_hint),
        )

    async def create(
        self,
        owner_id: str,
        source: LoadedRecording,
        turns: Sequence[SpeakerTurn],
        speaker: str,
        *,
        encoder: SpeakerEncoder,
    ) -> VoiceProfile:
        """Make ``speaker`` the star's voice, replacing an older profile; ``NotEnoughSpeech`` if too short."""
        recording, audio, sample_rate = source.recording, source.audio, source.sample_rate

        def compute() -> tuple[VoiceProfileData, VoiceMeasures]:
            data = build_voice_profile(audio, sample_rate, turns, speaker, encoder)
            rate = rate_over_turns(audio, sample_rate, turns, speaker)
            return data, _measures(encoder.name, data.embedding, data.clips, data.sample_rate, rate)

        data, measures = await asyncio.to_thread(compute)
        clips = await self._store_clips(data, recording.id)
        profile, released = await self.repo.replace_profile(
            owner_id=owner_id, star_id=recording.star_id, measures=measures, clips=clips
        )
        await self._collect(released)
        return profile

    async def add_recording(
        self,
        owner_id: str,
        profile: VoiceProfile,
        source: LoadedRecording,
        turns: Sequence[SpeakerTurn],
        *,
        encoder: SpeakerEncoder,
    ) -> AddedVoice:
        """Find the profile's voice in another recording (embedding similarity) and append its clips."""
        recording, audio, sample_rate = source.recording, source.audio, source.sample_rate
        room = MAX_PROFILE_S - profile.total_seconds
        existing = await self.clips_audio(profile)
        target = (
            np.asarray(profile.embedding, dtype=np.float32)
            if profile.engine == encoder.name and profile.embedding
            else await asyncio.to_thread(mean_embedding, existing, sample_rate, encoder)
        )
        found = await asyncio.to_thread(find_voice_segments, audio, sample_rate, turns, target, encoder)
        matches = set(found)
        if not matches:
            return AddedVoice(profile=profile, added_s=0.0, found=False)
        relabelled = tuple(
            SpeakerTurn(start=t.start, end=t.end, speaker=STAR_LABEL if t in matches else f"o:{t.speaker}")
            for t in turns
        )
        if room < 1.0:  # the profile is full; the matched turns still say where the star speaks
            return AddedVoice(profile=profile, added_s=0.0, found=True, turns=relabelled)

        def compute() -> tuple[VoiceProfileData, VoiceMeasures]:
            data = build_voice_profile(
                audio, sample_rate, relabelled, STAR_LABEL, encoder, min_total_s=0.5, max_total_s=room
            )
            old_s, new_s = profile.total_seconds, data.total_seconds
            mixed = target * old_s + data.embedding * new_s
            embedding = np.asarray(mixed / (np.linalg.norm(mixed) or 1.0), dtype=np.float32)
            rate = rate_over_turns(audio, sample_rate, relabelled, STAR_LABEL)
            if rate is not None and profile.syllables_per_second is not None:
                rate = (profile.syllables_per_second * old_s + rate * new_s) / (old_s + new_s)
            return data, _measures(encoder.name, embedding, [*existing, *data.clips], sample_rate, rate)

        try:
            data, measures = await asyncio.to_thread(compute)
        except NotEnoughSpeech:
            return AddedVoice(profile=profile, added_s=0.0, found=True, turns=relabelled)
        clips = await self._store_clips(data, recording.id)
        updated = await self.repo.append_clips(
            owner_id=owner_id, profile_id=profile.id, measures=measures, clips=clips
        )
        return AddedVoice(
            profile=updated or profile, added_s=data.total_seconds, found=True, turns=relabelled
        )

    async def clips_audio(self, profile: VoiceProfile) -> list[Audio]:
        """The profile's reference clips, decoded (16 kHz mono)."""

        paths = [await self.blobs.fetch_local(c.blob_key) for c in profile.clips]

        def load() -> list[Audio]:
            return [decode_audio(path).samples for path in paths]

        return await asyncio.to_thread(load)

    async def _store_clips(self, data: VoiceProfileData, recording_id: str) -> list[NewVoiceClip]:
        stored = []
        with tempfile.TemporaryDirectory(prefix="vos-clips-") as tmp:
            for i, (clip, (start, end)) in enumerate(zip(data.clips, data.spans, strict=True)):
                path = await asyncio.to_thread(encode_audio, clip, data.sample_rate, Path(tmp) / f"{i}.wav")
                stored.append(
                    NewVoiceClip(
                        blob_key=await self.blobs.put_file(path),
                        seconds=clip.size / data.sample_rate,
                        size=path.stat().st_size,
                        recording_id=recording_id,
                        start=start,
                        end=end,
                    )
                )
        return stored

    async def drop_unused_recording(self, recording_id: str) -> bool:
        """Delete a recording nothing was made from (an abandoned ``/voice``), blob included when nothing
        else names the same content; whether it went."""
        key = await self.repo.delete_unused_recording(recording_id)
        if key is None:
            return False
        await self._collect([key])
        return True

    async def _collect(self, keys: Sequence[str]) -> None:
        await release_blobs(self.references, self.blobs, keys)
