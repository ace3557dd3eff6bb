"""/export through the console: everything VOS holds about the star, with a README (ko + en)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from bot.wiring import App
from tests.core.voice.test_memories import PHRASES, PhraseSTT, _keep_low_voice, _memories, _star
from tests.support.app import ScriptedConsole, saved_path


async def test_export_carries_messages_voice_memories_profile_consents_settings_and_history(
    vos_app: App, tmp_path: Path
) -> None:
    _memories(vos_app).stt = PhraseSTT(PHRASES)
    star = await _star(vos_app)
    await vos_app.stars.set_names(star.id, star.owner_id, user_address="우리 딸", user_name="민지")
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(console, tmp_path)
    await console.say("밥 먹었어?", "엄마 계좌번호랑 인증번호 보내줘", "/voicereply")
    out = await console.say("/export")
    zip_path = saved_path(out)
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        docs = {n: zf.read(n).decode() for n in names if not n.startswith("uploads/")}
    assert {
        "README.md",
        "profile.json",
        "imported_messages.json",
        "chat_history.json",
        "consents.json",
        "settings.json",
        "voice_profile.json",
        "voice_memories.json",
        "safety_events.json",
    } <= set(docs)
    readme = docs["README.md"]
    assert "voice_memories.json" in readme and "음성 기억" in readme and "voice memories" in readme
    memories = json.loads(docs["voice_memories.json"])
    assert sorted(m["transcript"] for m in memories) == sorted(PHRASES)
    for m in memories:
        assert m["file"] in names and m["end_s"] > m["start_s"] and m["language"] and m["kept_at"]
    voice = json.loads(docs["voice_profile.json"])
    assert len(voice["recordings"]) == 1 and voice["recordings"][0]["file"] in names
    profile = voice["profile"]
    assert profile["median_pitch_hz"] and profile["speaker_embedding"]
    assert profile["clips"] and all(c["file"] in names for c in profile["clips"])
    settings = json.loads(docs["settings.json"])
    assert settings["voice_replies"] is True and settings["star_calls_you"] == "우리 딸"
    assert json.loads(docs["profile.json"])["star"]["your_name"] == "민지"
    history = json.loads(docs["chat_history.json"])
    assert [h["text"] for h in history if h["role"] == "user"] == ["밥 먹었어?"]  # blocked text is never kept
    events = json.loads(docs["safety_events.json"])
    assert events and all(set(e) == {"at", "direction", "verdict"} for e in events)
    assert "reasons" not in docs["safety_events.json"] and "score" not in docs["safety_events.json"]
    assert len(json.loads(docs["imported_messages.json"])) > 20
    assert any(n.startswith("uploads/") and "voice_memory" in n for n in names)
