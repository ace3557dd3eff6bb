"""`/forget ID` in the console: one message or memory of the user's own, never another user's."""

from __future__ import annotations

import json
import zipfile

from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.domain.identity import Locale
from core.domain.stars import TurnRole
from tests.support.app import ScriptedConsole, saved_path


async def _exported(console: ScriptedConsole, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(saved_path(await console.say("/export"))) as zf:
        return list(json.loads(zf.read(name)))


async def test_forget_id_deletes_one_message_of_ones_own_and_says_which(vos_app: App) -> None:
    alice = await local_user(vos_app, "local", Locale.KO)
    await ensure_demo_star(vos_app, alice)
    (star,) = await vos_app.stars.list_owned(alice.id)
    console = ScriptedConsole(vos_app)
    await console.say("엄마 김치찌개 생각난다", "오늘 회사에서 발표 잘 끝났어")
    history = await _exported(console, "chat_history.json")
    said = next(row for row in history if row["role"] == "user" and "김치찌개" in row["text"])

    bob = await local_user(vos_app, "bob", Locale.EN)
    await ensure_demo_star(vos_app, bob)
    out = await ScriptedConsole(vos_app, "bob", Locale.EN).say(f"/forget {said['id']}")
    assert "nothing was deleted" in out and "never another user's" in out, out
    assert "김치찌개" not in out  # nothing of Alice's conversation is shown to Bob

    out = await console.say(f"/forget {said['id']}")
    assert f"메시지 {said['id']}번을 삭제했어요" in out and "“엄마 김치찌개 생각난다”" in out, out
    assert "그 대화로 만든 기억도 함께 지웠어요" in out
    assert "[1]" not in out  # one message: no "delete the whole star?" question
    turns = await vos_app.chat.chats.all_turns(alice.id, star.id)
    assert not any("김치찌개" in t.text and t.role is TurnRole.USER for t in turns)
    assert any("발표" in t.text for t in turns)  # the other message stays
    remembered = await vos_app.memory.conversation_memories(alice.id, star.id)
    assert not any("김치찌개 생각난다" in m.text for m in remembered)
    assert any("발표" in m.text for m in remembered)
    assert [s.id for s in await vos_app.stars.list_owned(alice.id)] == [star.id]  # the star stays


async def test_forget_m_id_deletes_one_memory_and_refuses_what_is_not_ones_own(vos_app: App) -> None:
    alice = await local_user(vos_app, "local", Locale.EN)
    await ensure_demo_star(vos_app, alice)
    (star,) = await vos_app.stars.list_owned(alice.id)
    console = ScriptedConsole(vos_app, locale=Locale.EN)
    await console.say("mom I passed the driving test", "the cherry blossoms are out")
    memories = await _exported(console, "conversation_memory.json")
    driving = next(m for m in memories if "driving test" in m["text"])
    assert driving["id"].startswith("m")

    bob = await local_user(vos_app, "bob", Locale.KO)
    await ensure_demo_star(vos_app, bob)
    out = await ScriptedConsole(vos_app, "bob").say(f"/forget {driving['id']}")
    assert "아무것도 지우지 않았어요" in out and "다른 사람의 것은 지울 수 없어요" in out, out

    out = await console.say(f"/forget {driving['id']}", "/forget banana")
    assert f"Deleted memory {driving['id']} of your conversation with" in out and "driving test" in out, out
    assert "“banana”, so nothing was deleted" in out
    left = await vos_app.memory.conversation_memories(alice.id, star.id)
    assert [m.text for m in left if "driving" in m.text] == [] and any("cherry" in m.text for m in left)
    assert any("driving test" in t.text for t in await vos_app.chat.chats.all_turns(alice.id, star.id))


async def test_help_explains_forget_with_an_id(vos_app: App) -> None:
    out = await ScriptedConsole(vos_app, locale=Locale.EN).say("/help")
    line = next(line for line in out.splitlines() if "/forget " in line and "forget_me" not in line)
    assert "[ID]" in line and "one message or memory" in line, line
