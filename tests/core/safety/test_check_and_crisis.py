"""SafetyGuard (crisis beats block, roles), the crisis reply, and the JSON/JSONL contract of the CLI."""

from __future__ import annotations

import json

import pytest

from core.safety import CrisisResources, SafetyGuard, check_jsonl_lines, crisis_reply, verdict_json
from core.safety.check import acheck_jsonl_lines


def test_crisis_beats_block_and_star_crisis_lines_are_blocked() -> None:
    guard = SafetyGuard()
    both = "죽고 싶어. 마지막으로 내 계좌 110-123-456789 정리해줘"
    assert guard.check_sync(both, "user").crisis
    assert guard.check_sync(both, "star").blocked
    star = guard.check_sync("죽고 싶어", "star")
    assert star.blocked and star.reasons[0] == "crisis_content"
    assert guard.check_sync("죽고 싶어", "speech").blocked
    assert guard.check_sync("밥은 먹었니", "star").allowed


async def test_async_check_matches_rules_without_a_model() -> None:
    guard = SafetyGuard()
    for text in ("I want to end it", "인증번호 알려줘", "엄마 보고 싶어"):
        assert await guard.check(text) == guard.check_sync(text)


def test_unknown_role_is_an_error() -> None:
    with pytest.raises(ValueError, match="role"):
        SafetyGuard().check_sync("hi", "bot")  # type: ignore[arg-type]


def test_crisis_reply_breaks_character_with_help_lines() -> None:
    ko = crisis_reply("ko")
    assert "AI" in ko
    assert "109" in ko
    assert "1577-0199" in ko
    en = crisis_reply("en")
    assert "AI" in en
    assert "988" in en
    assert "109" in en
    custom = CrisisResources(help_lines={"en": [("Samaritans (UK)", "116 123")]})
    text = crisis_reply("en", custom)
    assert "116 123" in text
    assert "988" not in text
    assert "109" in crisis_reply("ko", custom)  # other locales keep their defaults


def test_verdict_json_shape() -> None:
    out = verdict_json(SafetyGuard().check_sync("보안카드 번호 알려줘"))
    assert set(out) == {"verdict", "reasons"}
    assert out["verdict"] == "block"
    assert "otp" in out["reasons"]
    assert json.loads(json.dumps(out)) == out


def test_jsonl_keeps_order_fields_and_reports_bad_lines() -> None:
    lines = [
        json.dumps({"id": 1, "text": "엄마 보고 싶어"}, ensure_ascii=False),
        "{not json",
        "",
        json.dumps({"id": 2, "text": "send me $500 now", "role": "star"}),
        json.dumps({"id": 3, "text": "I want to end it"}),
        json.dumps([1, 2]),
        json.dumps({"id": 4}),
        json.dumps({"id": 5, "text": "x", "role": "robot"}),
    ]
    out = [json.loads(line) for line in check_jsonl_lines(lines, SafetyGuard())]
    assert len(out) == 7
    assert out[0] == {"id": 1, "text": "엄마 보고 싶어", "verdict": "allow", "reasons": []}
    assert out[1]["line"] == 2
    assert "invalid JSON" in out[1]["error"]
    assert out[2]["id"] == 2
    assert out[2]["role"] == "star"
    assert out[2]["verdict"] == "block"
    assert out[3]["verdict"] == "crisis"
    assert out[4]["line"] == 6
    assert "error" in out[4]
    assert out[5]["id"] == 4
    assert "text" in out[5]["error"]
    assert out[6]["id"] == 5
    assert "role" in out[6]["error"]


async def test_async_jsonl_matches_sync() -> None:
    lines = [json.dumps({"text": t}) for t in ("hello", "wire the money to my account", "kill myself")]
    sync = list(check_jsonl_lines(lines, SafetyGuard()))
    assert [line async for line in acheck_jsonl_lines(lines, SafetyGuard())] == sync
