"""`vos voice separate` and `vos transcribe`: the stable JSON contracts, through the real engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from core.voice.audio import encode_audio
from tests.support.extras import need
from tests.support.speech import SyntheticVoice, conversation, requires_espeak, speak

pytestmark = [requires_espeak, pytest.mark.ml, pytest.mark.slow]

VOICES = (
    SyntheticVoice(voice="en-us", pitch=35, speed=150, variant="boris"),
    SyntheticVoice(voice="en-us", pitch=50, variant="klatt"),
    SyntheticVoice(voice="en-us", pitch=85, variant="f2"),
)


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOS_STT__MODEL", "packaged:tiny.en")


def test_voice_separate_json(tmp_path: Path) -> None:
    need("resemblyzer")
    lines = [
        (0, "Good morning everyone, let us begin the meeting now."),
        (1, "Thank you. I have the report ready."),
        (2, "Great, please share the numbers with the team."),
        (0, "The budget looks fine to me this quarter."),
        (1, "I agree, we can move forward with the plan."),
        (2, "Then we are done for today, thank you all."),
    ]
    audio, _ = conversation(lines, voices=VOICES)
    path = encode_audio(audio, 16000, tmp_path / "meeting.flac")
    result = CliRunner().invoke(app, ["voice", "separate", str(path), "--speakers", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(data["speakers"]) == 3
    assert {"label", "seconds", "sample"} <= set(data["speakers"][0])
    assert all(t["end"] > t["start"] for t in data["turns"])
    assert {t["speaker"] for t in data["turns"]} == {s["label"] for s in data["speakers"]}


def test_transcribe_json(tmp_path: Path) -> None:
    need("faster_whisper")
    audio = speak("Hello, this is a test of the meeting recorder.", SyntheticVoice(speed=140))
    path = encode_audio(audio, 16000, tmp_path / "hello.ogg")
    result = CliRunner().invoke(
        app, ["transcribe", str(path), "--language", "en", "--speakers", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    segments = json.loads(result.stdout.strip().splitlines()[-1])
    assert segments and set(segments[0]) == {"start", "end", "speaker", "text"}
    words = " ".join(s["text"].lower() for s in segments)
    assert "hello" in words and "meeting" in words


def test_broken_audio_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp3"
    bad.write_text("not audio at all")
    result = CliRunner().invoke(app, ["voice", "separate", str(bad), "--json"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.output.startswith("vos: ")
