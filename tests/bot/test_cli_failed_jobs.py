"""Failed work says so: a meeting whose processing failed leaves a ``failed`` job naming its stage, which
``vos admin jobs retry`` queues again; features whose extra is missing refuse before asking for a file."""

from __future__ import annotations

import json
import math
import struct
import sys
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.support.extras import need


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def invoke(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def console(tmp_path: Path, *lines: str, locale: str = "en") -> tuple[int, list[str]]:
    script = tmp_path / "script.txt"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return invoke("console", "--script", str(script), "--locale", locale)


def tone(path: Path) -> Path:
    samples = (int(8000 * math.sin(i * 0.06)) for i in range(32000))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"".join(struct.pack("<h", x) for x in samples))
    return path


def test_a_failed_meeting_is_a_failed_job_with_its_stage_and_can_be_retried(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("faster_whisper")
    monkeypatch.setenv("VOS_STT__MODEL", "large-v3")  # a model name that is not cached: the hub is offline
    code, lines = console(env, "/meeting", f"/file {tone(env / 'standup.wav')}")
    assert code == 0
    (failed,) = [line for line in lines if line.startswith("VOS> Processing failed")]
    assert failed.startswith("VOS> Processing failed at transcribe: cannot load Whisper model 'large-v3'")
    assert "send it again" not in failed and "Traceback" not in "\n".join(lines)

    code, out = invoke("admin", "jobs", "--json")
    (job,) = json.loads(out[0])
    assert (job["kind"], job["status"]) == ("meeting_import", "failed")
    assert job["error"].startswith("transcribe: cannot load Whisper model")
    code, lines = invoke("admin", "jobs", "retry", job["id"])
    assert (code, lines) == (0, [f"job {job['id']}: queued"])


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_meeting_without_the_speech_extra_refuses_before_asking_for_a_file(
    env: Path, monkeypatch: pytest.MonkeyPatch, locale: str
) -> None:
    from core.domain.identity import Locale
    from core.i18n import t

    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    code, lines = console(env, "/meeting", locale=locale)
    loc = Locale(locale)
    feature = t(loc, "lines.meeting_feature")
    assert (code, lines[-1]) == (
        0,
        "VOS> " + t(loc, "common.not_available", feature=feature, extra="speech"),
    )
    assert not any(t(loc, "meetingflow.ask_file")[:20] in line for line in lines)


def test_voice_without_the_voice_extra_refuses_before_asking_for_a_file(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.domain.identity import Locale
    from core.i18n import t

    monkeypatch.setitem(sys.modules, "resemblyzer", None)
    code, lines = console(env, "/voice")
    expected = t(Locale.EN, "common.not_available", feature=t(Locale.EN, "voiceflow.feature"), extra="voice")
    assert (code, lines[-1]) == (0, "VOS> " + expected)


def test_voice_message_without_the_speech_extra_is_refused_in_the_users_language(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.domain.identity import Locale
    from core.i18n import t

    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    code, lines = console(env, "hello", f"/voice {tone(env / 'note.wav')}", locale="ko")
    expected = t(Locale.KO, "common.not_available", feature=t(Locale.KO, "voicechat.feature"), extra="speech")
    assert (code, lines[-1]) == (0, "VOS> " + expected)
