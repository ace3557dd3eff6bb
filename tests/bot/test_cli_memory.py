"""`vos memory search`: the JSON contract the chat's own search answers by."""

from __future__ import annotations

import json
from datetime import datetime

from bot.demo import DEMO_EXPORT
from tests.bot.test_cli import env, invoke  # noqa: F401


def test_memory_search_json_contract(env: dict[str, str]) -> None:  # noqa: F811
    code, out = invoke(
        "star", "create", "--name", "엄마", "--export", str(DEMO_EXPORT), "--participant", "엄마"
    )
    assert code == 0, out
    code, out = invoke("chat", "엄마", "나 다음 달에 결혼해")
    assert code == 0, out
    code, out = invoke("memory", "search", "엄마", "김치찌개 끓여주던 거 기억나?", "--limit", "3", "--json")
    assert code == 0, out
    memories = json.loads(out.strip().splitlines()[-1])["memories"]
    assert 1 <= len(memories) <= 3 and "김치찌개" in memories[0]["text"]
    assert all(set(m) == {"id", "text", "time", "source", "score"} for m in memories)
    assert [m["score"] for m in memories] == sorted((m["score"] for m in memories), reverse=True)
    assert all(isinstance(datetime.fromisoformat(m["time"]), datetime) for m in memories)
    assert memories[0]["source"] == "export" and "\n" in memories[0]["text"]  # the whole moment
    assert memories[0]["id"] == ""  # the export's moments are not the user's to /forget one by one
    code, out = invoke("memory", "search", "엄마", "결혼", "--json")
    told = json.loads(out.strip().splitlines()[-1])["memories"]
    assert told[0]["source"] == "conversation" and told[0]["text"].startswith("local: 나 다음 달에 결혼해")
    assert told[0]["id"].startswith("m") and told[0]["id"][1:].isdigit()  # what /forget takes
    code, out = invoke("memory", "search", "엄마", "결혼", "--user", "someone-else", "--json")
    assert code == 1 and "no star" in out  # another user has no such star, let alone its memories


def test_memory_index_reports_nothing_left_after_an_import(env: dict[str, str]) -> None:  # noqa: F811
    invoke("star", "create", "--name", "엄마", "--export", str(DEMO_EXPORT), "--participant", "엄마")
    code, out = invoke("memory", "index", "엄마", "--json")
    assert code == 0, out
    assert json.loads(out.strip().splitlines()[-1]) | {"seconds": 0} == {
        "moments": 0,
        "embedded": 0,
        "seconds": 0,
    }
