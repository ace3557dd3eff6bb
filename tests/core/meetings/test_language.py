"""Which language a meeting is recognised in, and imports that recognise nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.domain.audio import Transcript, TranscriptSegment
from core.domain.meetings import MeetingStatus
from core.meetings.pipeline import PipelineOptions, choose_language
from core.ports import Audio, ProgressCallback
from core.storage.db import Database
from tests.core.meetings.conftest import make_service, make_user
from tests.core.meetings.fakes import FakeSTT, write_wav
from tests.support.stt import ScriptedRecogniser


class UnsureSTT(ScriptedRecogniser):
    """Hears ``heard`` with probability ``p`` when asked to detect; records the languages it was asked for."""

    name = "unsure"

    def __init__(self, heard: str, p: float, text: str = "안녕하세요 여러분") -> None:
        super().__init__(languages=frozenset({"en", "ko", "ja"}))
        self.heard, self.p, self.text = heard, p, text

    @property
    def asked(self) -> list[str | None]:
        """The language of each call (``None``: asked to detect)."""
        return [call.language for call in self.calls]

    async def hear(
        self, audio: Audio, sample_rate: int, language: str | None, progress: ProgressCallback | None
    ) -> Transcript:
        seg = TranscriptSegment(start=0.0, end=1.0, text=self.text)
        return Transcript(
            language=language or self.heard,
            duration_s=audio.size / sample_rate,
            segments=(seg,),
            language_probability=1.0 if language else self.p,
        )


def speechlike(seconds: float) -> np.ndarray:
    audio = np.zeros(int(seconds * 16000), np.float32)
    rng = np.random.default_rng(0)
    for start in range(0, audio.size - 16000, 32000):  # a second of sound, a second of silence
        audio[start : start + 16000] = rng.standard_normal(16000) * 0.1
    return audio


async def test_an_unsure_detection_follows_the_users_locale() -> None:
    stt = UnsureSTT("en", 0.25)
    options = PipelineOptions(language_hint="ko")
    assert await choose_language(stt, speechlike(60), options) == "ko"
    assert stt.asked == [None]  # one probe on the first half minute of speech


async def test_a_sure_detection_wins_over_the_locale() -> None:
    assert (
        await choose_language(UnsureSTT("en", 0.95), speechlike(60), PipelineOptions(language_hint="ko"))
        == "en"
    )


async def test_a_given_language_needs_no_probe() -> None:
    stt = UnsureSTT("en", 0.25)
    assert (
        await choose_language(stt, speechlike(60), PipelineOptions(language="ja", language_hint="ko")) == "ja"
    )
    assert stt.asked == []


async def test_speech_with_no_words_recognised_fails_and_says_so(sqlite_db: Database, tmp_path: Path) -> None:
    service = make_service(sqlite_db, tmp_path, stt=FakeSTT(()))
    service.diarizer_factory = None  # type: ignore[assignment]
    scope = await make_user(sqlite_db, "alice")
    meeting = await service.import_file(scope, write_wav(tmp_path / "talk.wav", 20))
    assert meeting.status is MeetingStatus.FAILED
    assert meeting.error is not None
    assert meeting.error.startswith("transcribe: ")
    assert "20" in meeting.error
