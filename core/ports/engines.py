"""Engine Protocols: chat models, speech, embeddings, blobs, and the engine as adapters see it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from core.domain.actions import Action
from core.domain.audio import Diarization, Transcript
from core.domain.events import Event

Audio = npt.NDArray[np.float32]
"""Mono float32 samples in [-1, 1]; the sample rate travels beside it."""

ProgressCallback = Callable[[float, str], Awaitable[None] | None]
"""Called with a fraction in [0, 1] and a short status word."""


class EngineUnavailable(RuntimeError):
    """An engine cannot run here: its extra is not installed or its model is missing.

    ``extra`` names the extra that would provide it; ``core.extras.install_hint`` says how to install it.
    """

    def __init__(self, message: str, *, extra: str | None = None) -> None:
        super().__init__(message)
        self.extra = extra


# --- Chat -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptMessage:
    """One message of a chat-completion prompt."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatUsage:
    """Token usage of one completion, when the backend reports it."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatCompletion:
    """A chat model's answer."""

    text: str
    model: str
    usage: ChatUsage = field(default_factory=ChatUsage)


class ChatModelError(RuntimeError):
    """The chat model failed (timeout, rate limit after retries, server error)."""


@runtime_checkable
class ChatModel(Protocol):
    """A large language model behind a chat-completion interface."""

    name: str

    async def complete(
        self, messages: Sequence[PromptMessage], *, max_tokens: int = 512, temperature: float = 0.8
    ) -> ChatCompletion:
        """Return one completion for the messages."""
        ...

    def stream(
        self, messages: Sequence[PromptMessage], *, max_tokens: int = 512, temperature: float = 0.8
    ) -> AsyncIterator[str]:
        """Yield the completion text in chunks as it is generated."""
        ...

    def count_tokens(self, text: str) -> int:
        """Count (or conservatively estimate) the tokens of ``text``."""
        ...

    async def aclose(self) -> None:
        """Release connections or models."""
        ...


# --- Speech ---------------------------------------------------------------------------------------


def language_code(language: str) -> str:
    """``ko-KR``, ``ko_KR`` and ``KO`` are all ``ko``."""
    return language.replace("_", "-").split("-", 1)[0].lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechCapabilities:
    """What a speech engine declares it handles (as Home Assistant's wyoming STT and TTS engines do), so
    the core asks the engine instead of guessing."""

    languages: frozenset[str]
    """ISO 639-1 codes the engine hears (STT) or speaks (TTS)."""
    sample_rates: tuple[int, ...] = ()
    """STT: the rate it recognises at (audio at another rate is resampled to the first); TTS: the rates
    its speech comes out at. Empty: not known before the model loads."""

    def supports(self, language: str) -> bool:
        """Whether ``language`` (any regional form) is one of the engine's."""
        return language_code(language) in self.languages


@runtime_checkable
class SpeechToText(Protocol):
    """Speech recognition."""

    name: str
    capabilities: SpeechCapabilities

    async def transcribe(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        """Transcribe mono audio; ``language=None`` detects it."""
        ...


@runtime_checkable
class Diarizer(Protocol):
    """Speaker separation: who spoke when."""

    name: str

    async def diarize(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Diarization:
        """Split audio into speaker turns; ``num_speakers=None`` estimates the count."""
        ...


@runtime_checkable
class SpeakerEncoder(Protocol):
    """Speaker embeddings (a fixed-size vector per utterance)."""

    name: str

    def embed(self, audio: Audio, *, sample_rate: int = 16000) -> npt.NDArray[np.float32]:
        """Return an L2-normalised embedding of the speaker in ``audio``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceSpec:
    """What a synthesizer needs to speak in a star's voice."""

    profile_id: str
    reference_clips: tuple[Path, ...] = ()
    # What is said in the first reference clip, when known (cloning engines use it to align the voice).
    reference_text: str | None = None
    median_f0_hz: float | None = None
    words_per_minute: float | None = None
    gender_hint: Literal["female", "male"] | None = None
    syllables_per_second: float | None = None
    """The star's speaking rate in syllables per second (preferred over ``words_per_minute``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthesizedSpeech:
    """Synthesized audio with a flag telling users whether it is a voice clone."""

    audio: Audio
    sample_rate: int
    engine: str
    is_clone: bool

    @property
    def duration_s(self) -> float:
        """How long the speech lasts."""
        return self.audio.size / self.sample_rate if self.sample_rate else 0.0


@runtime_checkable
class SpeechSynthesizer(Protocol):
    """Text to speech, optionally in a cloned voice."""

    name: str
    capabilities: SpeechCapabilities
    clones_voice: bool

    async def synthesize(
        self, text: str, *, language: str, voice: VoiceSpec | None = None
    ) -> SynthesizedSpeech:
        """Speak ``text`` in ``language`` with ``voice``."""
        ...


# --- Storage and jobs -----------------------------------------------------------------------------


class Embedder(Protocol):
    """Sentence embeddings shared by memory search, meeting search and the safety classifier.

    Vectors are L2-normalised rows of ``dim`` floats. ``query`` embeds a question or a user's message (the
    safety head is trained on these vectors, so one ``query`` call per turn serves both); ``passages``
    embeds the text searched. Blocking calls: run them in a worker thread.
    """

    name: str
    dim: int

    def query(self, text: str) -> npt.NDArray[np.float32]:
        """The vector of a question or message."""
        ...

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text searched."""
        ...


@dataclass(frozen=True, slots=True)
class EngineRecipe:
    """How to build an engine again in another process: a picklable constructor and its arguments."""

    build: Callable[..., object]
    args: tuple[object, ...] = ()


@runtime_checkable
class RebuildableEmbedder(Embedder, Protocol):
    """An ``Embedder`` that a child process can build again (a large import embeds there, off this
    process's GIL: ``core.text.embedder_process``)."""

    def recipe(self, *, batch_threads: int = 0) -> EngineRecipe | None:
        """The constructor and arguments of an equal embedder (same vectors) whose ``passages`` run on
        ``batch_threads`` threads (0: as here); None when it has none (a wrapper around an embedder that
        cannot be built elsewhere)."""
        ...


class Moderator(Protocol):
    """A moderation endpoint's self-harm opinion (OpenAI ``/v1/moderations``)."""

    async def self_harm(self, text: str) -> bool:
        """Whether ``text`` is flagged in a self-harm category; raises on any failure."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredBlob:
    """One blob as its store lists it.

    ``modified`` (timezone-aware) is when its content was last stored: a put of content already there
    refreshes it, so a blob being uploaded right now always looks young to the garbage collector.
    """

    key: str
    size: int
    modified: datetime


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed storage for uploads and audio; the database keeps only keys."""

    async def put_file(self, path: Path) -> str:
        """Store a file's bytes and return its key (a sha256 hex digest)."""
        ...

    async def put_bytes(self, data: bytes) -> str:
        """Store bytes and return their key."""
        ...

    async def get_bytes(self, key: str) -> bytes:
        """Return the bytes stored under ``key``."""
        ...

    def local_path(self, key: str) -> Path:
        """A local filesystem path for ``key`` (for engines that read files; may block to download)."""
        ...

    async def fetch_local(self, key: str) -> Path:
        """``local_path`` from async code: a remote store downloads off the event loop."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        ...

    async def delete(self, key: str) -> None:
        """Delete ``key``; deleting a missing key is not an error."""
        ...

    def keys(self) -> AsyncIterator[str]:
        """Every stored key."""
        ...

    def list_blobs(self) -> AsyncIterator[StoredBlob]:
        """Every stored blob with its size and last-modified time, a page at a time (never all at once)."""
        ...

    async def sweep_incoming(self) -> int:
        """Delete the temporary files of writes that crashed (no live writer holds them); how many."""
        ...


@runtime_checkable
class EventHandler(Protocol):
    """The engine as adapters see it: one inbound event in, a stream of actions out.

    Actions are yielded as they become ready (progress updates, then reply bubbles), so an adapter renders
    each one as soon as it arrives: ``async for action in engine.handle(event): await render(action)``.
    """

    def handle(self, event: Event) -> AsyncIterator[Action]:
        """Process one event."""
        ...
