"""`vos safety check` runs the bot's guard with the configured engines (model included); `vos admin safety`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.support.openai_server import OpenAIServer, Reply

# No rule flags this message (checked below), so only a model can call it a crisis.
UNFLAGGED = "요즘은 모든 게 조용해졌으면 해"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


@pytest.fixture
def model_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: OpenAIServer) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOS_LLM__BASE_URL", server.base_url)
    monkeypatch.setenv("VOS_LLM__MODEL", "test-model")
    monkeypatch.setenv("VOS_LLM__API_KEY", "sk-test")
    monkeypatch.setenv("VOS_SAFETY__SEMANTIC", "false")  # rules + model: what the model adds is visible


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_the_rules_do_not_flag_the_message() -> None:
    from core.safety.check import SafetyGuard

    assert SafetyGuard().check_sync(UNFLAGGED).allowed


def test_safety_check_reflects_the_models_verdict(model_env: None, server: OpenAIServer) -> None:
    server.push_safety("crisis", Reply(text='{"label": "crisis", "reasons": ["indirect"]}'))
    code, out = invoke("safety", "check", UNFLAGGED, "--json")
    assert code == 0, out
    assert json.loads(out) == {"verdict": "crisis", "reasons": ["classifier"]}
    asked = [r for r in server.safety_requests if UNFLAGGED in json.dumps(r.body, ensure_ascii=False)]
    assert len(asked) == 2  # the crisis and the scam prompt, though no rule flagged it
    code, out = invoke("safety", "check", UNFLAGGED, "--json")  # the model now says safe (its default)
    assert json.loads(out) == {"verdict": "allow", "reasons": []}


def test_jsonl_rows_keep_their_fields_with_the_model(
    model_env: None, server: OpenAIServer, tmp_path: Path
) -> None:
    server.push_safety("crisis", Reply(text='{"label": "safe"}'))
    server.push_safety("scam", Reply(text='{"label": "scam", "reasons": ["gift_card"]}'))
    rows = tmp_path / "in.jsonl"
    rows.write_text(
        json.dumps({"id": 7, "text": "편의점 카드 좀 사다 줄래? 뒤에 숫자 찍어서"}, ensure_ascii=False) + "\n"
    )
    code, out = invoke("safety", "check", "--jsonl", str(rows))
    assert code == 0, out
    row = json.loads(out.splitlines()[0])
    assert row["id"] == 7 and row["verdict"] == "block" and "classifier" in row["reasons"]


def test_a_failing_model_leaves_the_offline_verdict(model_env: None, server: OpenAIServer) -> None:
    from tests.support.openai_server import Status

    server.push_safety("crisis", Status(500), Status(500))
    server.push_safety("scam", Status(500), Status(500))
    code, out = invoke("safety", "check", "죽고 싶어", "--json")
    assert code == 0 and json.loads(out)["verdict"] == "crisis"
    code, out = invoke("safety", "check", UNFLAGGED, "--json")
    assert code == 0 and json.loads(out)["verdict"] == "allow"


def test_moderation_self_harm_makes_a_crisis(
    model_env: None, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOS_SAFETY__MODERATION", "on")
    server.moderation_flags = {"self-harm/intent"}
    _code, out = invoke("safety", "check", UNFLAGGED, "--json")
    assert json.loads(out) == {"verdict": "crisis", "reasons": ["moderation"]}
    assert any(r.path.endswith("/moderations") for r in server.requests)


def test_admin_safety_counts_referrals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.demo import DEMO_EXPORT

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    invoke("star", "create", "--name", "엄마", "--export", str(DEMO_EXPORT), "--participant", "엄마")
    invoke("chat", "엄마", "엄마 곁으로 가고 싶어")
    invoke("chat", "엄마", "I wrote my goodbye letter")
    code, out = invoke("admin", "safety", "--json")
    assert code == 0, out
    counts = json.loads(out)
    assert counts["crisis_referrals_total"] == 2 and counts["crisis_referrals_7d"] == 2
    assert set(counts) == {"crisis_referrals_total", "crisis_referrals_30d", "crisis_referrals_7d"}
