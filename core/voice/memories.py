"""Voice memories: the star's own words, transcribed from recordings and kept as clips of their real voice.

After the user picks the star's voice in a recording (``/voice``), only the star's turns are transcribed (any
``SpeechToText``); each recognised stretch becomes a memory: its text, where it was said, and an OGG/Opus
clip cut from the recording, not tagged as AI-generated because it is not. ``/memories 김치찌개`` finds them
again by full text (``core.storage.fulltext``), so the user hears what the star really said.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.blob_release import release_blobs
from core.domain.audio import SpeakerTurn, Transcript
from core.ports import Audio, BlobStore, EngineUnavailable, ProgressCallback, SpeechToText
from core.speech.transcription import report
from core.storage.blob_references import BlobReferenceRepository
from core.storage.fulltext import idf_scores, query_terms
from core.storage.voice_memory_repository import NewVoiceMemory, VoiceMemory, VoiceMemoryRepository
from core.voice.analysis import speaking_seconds
from core.voice.audio import encode_voice_note
from core.voice.language import language_of_texts, written_in
from core.voice.profiles import LoadedRecording
from core.voice.syllables import text_syllables

log = logging.getLogger(__name__)
StarTexts = Callable[[str], Awaitable[list[str]]]
"""The star's own text messages, by star id (``MemoryStore.star_texts``)."""
MAX_SPAN_S = 28.0  # one span stays inside Whisper's 30 s window
MERGE_GAP_S = 0.8  # the star's turns this close, with nobody else between, are one stretch of speech
MIN_TURN_S = 0.4  # shorter turns are breaths and clicks, not words
PAD_S = 0.15  # a little air around a recognised segment, never past the star's own turn


@dataclass(frozen=True, slots=True, kw_only=True)
class Remembered:
    """What one recording added: how many memories, how many seconds, and one of the phrases."""

    count: int
    seconds: float
    example: str = ""
    hint: str = ""
    syllables_per_second: float | None = None
    """The star's pace from the transcripts: their syllables over the speaking time of the clips."""
    language: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryHit:
    """A memory found for a query; ``score`` in [0, 1] is the share of the query's weighted terms it holds."""

    memory: VoiceMemory
    score: float


def star_spans(turns: Sequence[SpeakerTurn], speaker: str) -> list[tuple[float, float]]:
    """The stretches of ``speaker``'s speech to transcribe: close turns merged, none over ``MAX_SPAN_S``."""
    own = sorted((t for t in turns if t.speaker == speaker and t.end - t.start >= MIN_TURN_S), key=_start)
    others = [t for t in turns if t.speaker != speaker]
    spans: list[tuple[float, float]] = []
    for turn in own:
        if spans:
            start, end = spans[-1]
            between = any(o.start < turn.start and o.end > end for o in others)
            if turn.start - end <= MERGE_GAP_S and turn.end - start <= MAX_SPAN_S and not between:
                spans[-1] = (start, turn.end)
                continue
        position = turn.start
        while turn.end - position > MAX_SPAN_S:  # a long monologue: cut it into windows
            spans.append((position, position + MAX_SPAN_S))
            position += MAX_SPAN_S
        spans.append((position, turn.end))
    return spans


def _transcript_rate(source: LoadedRecording, memories: Sequence[NewVoiceMemory]) -> float | None:
    """Syllables (Hangul blocks for Korean) of the transcripts over the speaking time of their clips."""
    sr = source.sample_rate
    syllables = sum(text_syllables(m.text) for m in memories)
    seconds = sum(
        speaking_seconds(source.audio[round(m.start * sr) : round(m.end * sr)], sr) for m in memories
    )
    return syllables / seconds if syllables and seconds >= 1.0 else None


def _start(turn: SpeakerTurn) -> float:
    return turn.start


class VoiceMemoryService:
    """Transcribes the star's turns into memories and finds them again, always for their owner."""

    def __init__(
        self,
        repo: VoiceMemoryRepository,
        references: BlobReferenceRepository,
        blobs: BlobStore,
        *,
        stt: SpeechToText | None,
        cache_root: Path,
        stt_missing: str = "",
        star_texts: StarTexts | None = None,
    ) -> None:
        self.star_texts = star_texts
        self.repo = repo
        self.references = references
        self.blobs = blobs
        self.stt = stt
        self.stt_missing = stt_missing
        self.cache_root = cache_root

    async def remember(
        self,
        owner_id: str,
        source: LoadedRecording,
        turns: Sequence[SpeakerTurn],
        speaker: str,
        *,
        replace: bool = False,
        progress: ProgressCallback | None = None,
        fallback_language: str | None = None,
    ) -> Remembered:
        """Transcribe ``speaker``'s turns of ``source`` and keep each recognised stretch as a memory.

        The recogniser is told the star's language (``star_language``); what comes back in another script
        is dropped. ``replace`` first drops the star's older memories (the user started the voice over).
        Raises ``EngineUnavailable`` when no recogniser can run; nothing is stored then.
        """
        if self.stt is None:
            raise EngineUnavailable(self.stt_missing or "speech recognition is not installed", extra="speech")
        stt, star_id = self.stt, source.recording.star_id
        spans = star_spans(turns, speaker)
        language = await self.star_language(star_id, fallback_language)
        if language is not None and not stt.capabilities.supports(language):
            # An English-only model would write Korean speech down as English-sounding words.
            raise EngineUnavailable(
                f"the installed recogniser ({stt.name}) cannot transcribe {language}", extra="speech"
            )
        transcripts = await self._transcribe(stt, source, spans, progress, language)
        new = await self._store_clips(source, spans, transcripts)
        if replace:
            await self._release(await self.repo.delete_all(owner_id, star_id))
            self.forget(star_id)
        kept = await self.repo.add(owner_id, star_id, new)
        await report(progress, 1.0, "done")
        example = max((m.text for m in kept), key=len, default="")
        hint = max(query_terms(example), key=len, default="")
        return Remembered(
            count=len(kept),
            seconds=sum(m.seconds for m in kept),
            example=example,
            hint=hint,
            syllables_per_second=await asyncio.to_thread(_transcript_rate, source, new),
            language=language,
        )

    async def star_language(self, star_id: str, fallback: str | None) -> str | None:
        """The language the star wrote in (their export's script), else ``fallback`` (the user's)."""
        if self.star_texts is None:
            return fallback
        return language_of_texts(await self.star_texts(star_id), fallback or "") or None

    async def _transcribe(
        self,
        stt: SpeechToText,
        source: LoadedRecording,
        spans: Sequence[tuple[float, float]],
        progress: ProgressCallback | None,
        star_language: str | None = None,
    ) -> dict[int, Transcript]:
        sr = source.sample_rate
        english_only = stt.capabilities.languages == frozenset({"en"})
        language: str | None = "en" if english_only else star_language
        # The longest stretch first: its language is kept for the rest, so a two-word clip is not misread.
        order = sorted(range(len(spans)), key=lambda i: spans[i][0] - spans[i][1])
        out: dict[int, Transcript] = {}
        for done, index in enumerate(order):
            await report(progress, done / max(1, len(spans)), "transcribe")
            start, end = spans[index]
            clip = source.audio[round(start * sr) : round(end * sr)]
            transcript = await stt.transcribe(clip, sample_rate=sr, language=language)
            if language is None and transcript.segments and transcript.language:
                language = transcript.language
            out[index] = transcript
        return out

    async def _store_clips(
        self,
        source: LoadedRecording,
        spans: Sequence[tuple[float, float]],
        transcripts: dict[int, Transcript],
    ) -> list[NewVoiceMemory]:
        sr, audio = source.sample_rate, source.audio
        pieces: list[tuple[float, float, str, str]] = []
        for index, (span_start, span_end) in enumerate(spans):
            transcript = transcripts[index]
            for seg in transcript.segments:
                words = " ".join(seg.text.split())
                if not words:
                    continue
                if transcript.language and not written_in(words, transcript.language):
                    log.info(
                        "a segment not written in %s was dropped (%d chars)", transcript.language, len(words)
                    )
                    continue
                start = max(span_start, span_start + seg.start - PAD_S)
                end = min(span_end, span_start + seg.end + PAD_S)
                if end - start >= MIN_TURN_S:
                    pieces.append((start, end, words, transcript.language))
        stored: list[NewVoiceMemory] = []
        with tempfile.TemporaryDirectory(prefix="vos-memories-") as tmp:
            for i, (start, end, words, language) in enumerate(sorted(pieces)):
                clip: Audio = audio[round(start * sr) : round(end * sr)]
                path = await asyncio.to_thread(
                    encode_voice_note, clip, sr, Path(tmp) / f"{i}.ogg", ai_generated=False
                )
                stored.append(
                    NewVoiceMemory(
                        recording_id=source.recording.id,
                        start=round(start, 2),
                        end=round(end, 2),
                        text=words[:2000],
                        language=language,
                        blob_key=await self.blobs.put_file(path),
                        size=(await asyncio.to_thread(path.stat)).st_size,
                    )
                )
        return stored

    async def count(self, owner_id: str, star_id: str) -> int:
        """How many memories the owner keeps of the star."""
        return await self.repo.count(owner_id, star_id)

    async def examples(self, owner_id: str, star_id: str, *, limit: int = 3) -> list[VoiceMemory]:
        """A few memories spread over everything kept (the longest phrase of each part)."""
        memories = await self.repo.listed(owner_id, star_id, limit=200)
        if not memories:
            return []
        size = -(-len(memories) // limit)
        parts = [memories[i : i + size] for i in range(0, len(memories), size)]
        return [max(part, key=lambda m: len(m.text)) for part in parts][:limit]

    async def search(self, owner_id: str, star_id: str, query: str, *, limit: int = 3) -> list[MemoryHit]:
        """The owner's memories of the star best matching ``query``, best first (none when nothing does)."""
        terms = query_terms(query) or [w for w in query.lower().split() if w][:1]
        if not terms:
            return []
        total = await self.repo.count(owner_id, star_id)
        if total == 0:
            return []
        hits = [await self.repo.term_hits(owner_id, star_id, term) for term in terms]
        scores, possible = idf_scores(hits, total)
        best = sorted(scores, key=lambda k: (-scores[k], k))[:limit]
        by_id = {m.id: m for m in await self.repo.by_ids(owner_id, star_id, best)}
        return [MemoryHit(memory=by_id[k], score=scores[k] / possible) for k in best if k in by_id]

    async def clip_file(self, memory: VoiceMemory) -> Path:
        """The memory's clip as a named ``.ogg`` file (adapters send the file name along)."""
        # Named by content: ids can be reused after a deletion, blob keys never name other audio.
        target = self.cache_root / memory.star_id / "memories" / f"{memory.blob_key[:24]}.ogg"
        if not target.is_file():
            source = await self.blobs.fetch_local(memory.blob_key)
            target.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(shutil.copyfile, source, target)
        return target

    def forget(self, star_id: str) -> None:
        """Delete the star's named clip copies (part of /forget; rows and blobs go with the star)."""
        shutil.rmtree(self.cache_root / star_id / "memories", ignore_errors=True)

    async def _release(self, keys: Sequence[str]) -> None:
        await release_blobs(self.references, self.blobs, keys)
