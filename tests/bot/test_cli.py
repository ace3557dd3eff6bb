"""The `vos` command line: the stable JSON contracts and the scripted console."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.demo import DEMO_EXPORT

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    return {**os.environ, "VOS_DATA_DIR": str(tmp_path / "data")}


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_kakao_inspect_json(env: dict[str, str]) -> None:
    code, out = invoke("kakao", "inspect", str(DEMO_EXPORT), "--json")
    assert code == 0, out
    info = json.loads(out)
    assert info["shape"] == "pc_windows_ko" and info["encoding"].startswith("utf")
    assert set(info["participants"]) == {"엄마", "민지"}
    assert info["messages"] == sum(info["participants"].values())
    assert info["first"].startswith("2023-05-03T18:02")


def test_kakao_inspect_missing_and_broken_files(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke("kakao", "inspect", str(tmp_path / "nope.txt"), "--json")
    assert code == 2 and "no such file" in out
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02 binary \xff\xfe")
    code, out = invoke("kakao", "inspect", str(bad), "--json")
    assert code == 1 and "Traceback" not in out
    assert "kakao.error." not in out  # the readable message, not the catalogue key


def test_star_create_then_chat_json(env: dict[str, str]) -> None:
    code, out = invoke(
        "star", "create", "--name", "엄마", "--export", str(DEMO_EXPORT), "--participant", "엄마", "--json"
    )
    assert code == 0, out
    created = json.loads(out)
    assert created["messages"] > 50 and created["name"] == "엄마"
    code, out = invoke("chat", "엄마", "비가 엄청 와", "--json")
    assert code == 0, out
    reply = json.loads(out)
    assert reply["engine"] == "offline" and reply["bubbles"]
    assert all(b in DEMO_EXPORT.read_text(encoding="utf-8") for b in reply["bubbles"])
    code, out = invoke(
        "star", "create", "--name", "x", "--export", str(DEMO_EXPORT), "--participant", "nobody"
    )
    assert code == 1 and "participants" in out


def test_chat_blocks_scams_and_hands_off_crisis(env: dict[str, str]) -> None:
    code, out = invoke(
        "star", "create", "--name", "엄마", "--export", str(DEMO_EXPORT), "--participant", "엄마"
    )
    assert code == 0 and "importing messages" in out and "100.0%  vectors" in out, out  # progress (stderr)
    _, out = invoke("chat", "엄마", "엄마 급하게 돈 좀 보내줘 국민은행 123-456-789012 로 이체해줘", "--json")
    assert json.loads(out)["verdict"] == "block"
    _, out = invoke("chat", "엄마", "엄마 곁으로 가고 싶어. 다 끝내고 싶어", "--json")
    reply = json.loads(out)
    assert reply["verdict"] == "crisis" and "109" in reply["bubbles"][0]


def test_safety_check_json_and_jsonl(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke("safety", "check", "인증번호 6자리 불러줘", "--json")
    assert code == 0 and json.loads(out)["verdict"] == "block"
    lines = tmp_path / "in.jsonl"
    lines.write_text(
        '{"text": "장례비 정산하느라 힘들었어"}\n{"text": "계좌 비밀번호 알려줘", "role": "star"}\nnot json\n'
    )
    code, out = invoke("safety", "check", "--jsonl", str(lines))
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r.get("verdict") for r in rows[:2]] == ["allow", "block"]
    assert "error" in rows[2]


def test_doctor_lists_backends(env: dict[str, str]) -> None:
    code, out = invoke("doctor", "--json")
    assert code == 0, out
    report = json.loads(out)
    backends = {(e["role"], e["backend"]): e["status"] for e in report["engines"]}
    assert backends[("chat", "offline")] == "available"
    assert backends[("synthesizer", "xtts")].startswith(("missing extra", "missing model"))
    assert report["database"]["status"] == "reachable"


def test_console_script_answers_a_typed_message(env: dict[str, str], tmp_path: Path) -> None:
    """`vos console --script -` in a subprocess: the demo star answers."""
    vos = Path(sys.executable).parent / "vos"
    cmd = [str(vos)] if vos.exists() else [sys.executable, "-m", "bot"]
    result = subprocess.run(
        [*cmd, "console", "--script", "-"],
        input="밥 먹었어?\n/about\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "★> " in result.stdout
    assert "AI" in result.stdout


def test_crisis_help_lines_come_from_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_SAFETY__HELP_LINES", '{"ko": [["우리 지역 상담센터", "02-000-0000"]]}')
    invoke("star", "create", "--name", "엄마", "--export", str(DEMO_EXPORT), "--participant", "엄마")
    _, out = invoke("chat", "엄마", "죽고 싶어", "--json")
    reply = json.loads(out)
    assert reply["verdict"] == "crisis"
    assert "02-000-0000" in reply["bubbles"][0]
    assert "1577-0199" not in reply["bubbles"][0]
