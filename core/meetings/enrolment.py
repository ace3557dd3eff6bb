"""Speaker enrolment: a member records their voice once, and later meetings name them instead of "화자 1".

Enrolment takes a short recording (at least :data:`MIN_VOICED_S` of speech), embeds it with the
``SpeakerEncoder`` (resemblyzer offline, the same model the diarizer clusters with) and stores the vector
with the consent wording and time. After diarizing a mixed recording, each speaker cluster's embedding is
compared with the scope's enrolled voices by cosine similarity; a cluster takes an enrolled name when the
similarity reaches the threshold, one name per cluster and one cluster per name (best pairs first).

Threshold: with resemblyzer, an enrolment against the cluster of the same espeak voice in a later
meeting scores 0.93-0.96, voices of different registers 0.55-0.80, and espeak's male variants 0.85-0.96
with each other (one synthesiser: the tests use voices of different registers). Published resemblyzer
figures put real same-speaker pairs across sessions around 0.75-0.9. 0.80 is a compromise that is not
calibrated on real people's voices: two similar voices can still be confused, so a wrong name is
corrected with ``vos meeting rename``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from core.domain.meetings import EnrolledVoice, MeetingScope
from core.ports import EngineUnavailable, SpeakerEncoder
from core.speech.chunking import speech_chunks
from core.storage.ids import utcnow
from core.storage.voice_enrolment_repository import VoiceEnrolmentRepository
from core.voice.audio import AudioError, decode_audio

log = logging.getLogger(__name__)
MIN_VOICED_S = 4.0
MAX_ENROL_S = 120.0
MATCH_THRESHOLD = 0.80
RATE = 16000


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity (0.0 when either vector is empty, zero or of another size)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.size == 0 or x.shape != y.shape:
        return 0.0
    norm = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / norm if norm else 0.0


def match_speakers(
    clusters: Mapping[str, Sequence[float]],
    voices: Sequence[EnrolledVoice],
    threshold: float = MATCH_THRESHOLD,
) -> dict[str, str]:
    """Speaker label → enrolled name for the clusters that match a voice (one-to-one, best pairs first)."""
    pairs = sorted(
        (
            (score, label, voice.name)
            for label, embedding in clusters.items()
            for voice in voices
            if (score := cosine(embedding, voice.embedding)) >= threshold
        ),
        reverse=True,
    )
    names: dict[str, str] = {}
    for _score, label, name in pairs:
        if label not in names and name not in names.values():
            names[label] = name
    return names


def _voiced(path: Path) -> tuple[np.ndarray, float]:
    decoded = decode_audio(path, max_seconds=MAX_ENROL_S)
    chunks = speech_chunks(decoded.samples, decoded.sample_rate)
    voiced = sum(end - start for start, end in chunks) / decoded.sample_rate
    return decoded.samples, voiced


class VoiceEnrolment:
    """Enrol, match, list and forget members' voices; the encoder is built on first use."""

    def __init__(
        self,
        repo: VoiceEnrolmentRepository,
        encoder_factory: Callable[[], SpeakerEncoder] | None,
        *,
        threshold: float = MATCH_THRESHOLD,
    ) -> None:
        self.repo = repo
        self.encoder_factory = encoder_factory
        self.threshold = threshold
        self._encoder: SpeakerEncoder | None = None

    @property
    def available(self) -> bool:
        """Whether voices can be enrolled here (the voice extra is installed)."""
        return self.encoder_factory is not None

    def _encoder_or_raise(self) -> SpeakerEncoder:
        if self.encoder_factory is None:
            raise EngineUnavailable("speaker enrolment needs the voice extra", extra="voice")
        if self._encoder is None:
            self._encoder = self.encoder_factory()
        return self._encoder

    async def enrol(
        self,
        *,
        owner_user_id: str,
        name: str,
        path: Path,
        consent_text: str,
        guild_id: str | None = None,
        platform_user_id: str | None = None,
        consented_at: datetime | None = None,
    ) -> EnrolledVoice:
        """Embed the member's recording and store it; ``AudioError`` for a recording that cannot serve."""
        clean = " ".join(name.split())[:100]
        if not clean:
            raise ValueError("an enrolled voice needs a name")
        encoder = self._encoder_or_raise()
        samples, voiced = await asyncio.to_thread(_voiced, path)
        if voiced < MIN_VOICED_S:
            raise AudioError(
                "enrol.too_short", f"{voiced:.1f} s of speech", seconds=round(voiced, 1), needed=MIN_VOICED_S
            )
        vector = await asyncio.to_thread(encoder.embed, samples, sample_rate=RATE)
        voice = await self.repo.enrol(
            owner_user_id=owner_user_id,
            guild_id=guild_id,
            platform_user_id=platform_user_id,
            name=clean,
            embedding=tuple(float(v) for v in vector),
            engine=encoder.name,
            seconds=round(voiced, 2),
            consent_text=consent_text,
            consented_at=consented_at or utcnow(),
        )
        log.info("voice enrolled (%s, %.1f s of speech)", "guild" if guild_id else "personal", voiced)
        return voice

    async def names_for(self, scope: MeetingScope, clusters: Mapping[str, Sequence[float]]) -> dict[str, str]:
        """Speaker label → enrolled name, for a meeting of ``scope`` (empty when nobody matches)."""
        if not clusters:
            return {}
        voices = await self.repo.for_scope(scope)
        return match_speakers(clusters, voices, self.threshold) if voices else {}

    async def of_user(self, user_id: str) -> list[EnrolledVoice]:
        """The user's enrolments (``/export``)."""
        return await self.repo.of_user(user_id)

    async def export_records(self, user_id: str) -> list[dict[str, object]]:
        """What ``/export`` lists of the user's enrolments."""
        return [export_record(v) for v in await self.repo.of_user(user_id)]

    async def forget_user(self, user_id: str) -> int:
        """Delete every enrolment of a user (``/forget_me``)."""
        return await self.repo.delete_user(user_id)

    async def forget_member(self, guild_id: str, platform_user_id: str) -> int:
        """Delete a guild member's enrolment (``/optout``)."""
        return await self.repo.delete_member(guild_id, platform_user_id)


def export_record(voice: EnrolledVoice) -> dict[str, object]:
    """What ``/export`` lists of an enrolment (not the vector: it identifies, and serves nobody to read)."""
    return {
        "name": voice.name,
        "scope": f"guild:{voice.guild_id}" if voice.guild_id else "personal",
        "engine": voice.engine,
        "speech_seconds": voice.seconds,
        "consent": voice.consent_text,
        "consented_at": voice.consented_at.isoformat(),
    }


__all__ = ["MATCH_THRESHOLD", "VoiceEnrolment", "cosine", "export_record", "match_speakers"]
