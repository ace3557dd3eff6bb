"""Voice memories are transcribed in the star's language (their export's script, else the user's), and a
transcript in another script is dropped: through the console, with a recogniser that records what it was
asked."""

from __future__ import annotations

from pathlib import Path

from bot.runner import local_user
from bot.wiring import App
from core.domain.identity import Locale
from core.personas.stars import NewStar
from core.storage.voice_repository import VoiceRepository
from core.voice.language import language_of_texts, written_in
from tests.core.voice.test_memories import PhraseSTT, _keep_low_voice, _memories, _star
from tests.support.app import ScriptedConsole


def test_the_language_of_the_export_and_the_check() -> None:
    assert language_of_texts(["밥 먹었어?", "우리 딸 사랑해", "ok ㅋㅋ"], "en") == "ko"
    assert language_of_texts(["Did you eat?", "Love you honey", "see you 일요일"], "ko") == "en"
    assert language_of_texts(["ㅋㅋ", "^^"], "en") == "en"  # too few letters: the user's language
    assert written_in("김치찌개 끓여 놨어", "ko") and written_in("민지 OK 알았어", "ko")
    assert not written_in("キムチチゲを作ったよ", "ko") and not written_in("I made kimchi stew", "ko")
    assert written_in("I made kimchi stew", "en") and not written_in("김치찌개 끓여 놨어", "en")


async def test_a_korean_star_is_transcribed_in_korean_even_for_an_english_user(
    vos_app: App, tmp_path: Path
) -> None:
    stt = PhraseSTT(("김치찌개 끓여 놨으니까 먹고 가", "キムチチゲ食べてね", "우리 딸 사랑해"))
    _memories(vos_app).stt = stt
    await _star(vos_app)  # the demo star writes Korean
    out = await _keep_low_voice(ScriptedConsole(vos_app, locale=Locale.EN), tmp_path)
    assert {call.language for call in stt.calls} == {"ko"}
    assert "2" in out  # two memories kept: the misrecognised one in Japanese script is dropped
    user = await local_user(vos_app, "local")
    (star,) = await vos_app.stars.list_owned(user.id)
    kept = await _memories(vos_app).repo.listed(user.id, star.id)
    assert sorted(m.text for m in kept) == ["김치찌개 끓여 놨으니까 먹고 가", "우리 딸 사랑해"]
    assert {m.language for m in kept} == {"ko"}
    profile = await VoiceRepository(vos_app.db).get_profile(user.id, star.id)
    assert profile is not None and profile.language == "ko" and profile.revision == 2
    spoken = sum(m.end - m.start for m in kept)
    assert profile.syllables_per_second is not None
    assert abs(profile.syllables_per_second - (13 + 6) / spoken) < 1.5  # from the transcripts' syllables


async def test_an_english_star_is_transcribed_in_english(vos_app: App, tmp_path: Path) -> None:
    stt = PhraseSTT(("did you eat", "take care honey", "love you"))
    _memories(vos_app).stt = stt
    export = tmp_path / "KakaoTalk_Chats_Mom.txt"
    lines = ["KakaoTalk Chats with Mom", "Date Saved : Jan 6, 2023, 9:12 AM", "", "Thursday, January 5, 2023"]
    for minute in range(10):
        lines.append(f"Jan 5, 2023, 3:{minute:02d} PM, Mom : Did you eat dinner yet, honey?")
        lines.append(f"Jan 5, 2023, 3:{minute:02d} PM, Jane : Yes mom, I did")
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    user = await local_user(vos_app, "local")
    key = await vos_app.blobs.put_file(export)
    created = await vos_app.star_service.create(
        NewStar(owner_id=user.id, name="Mom", relation="mother", participant="Mom"), key, consent_text="t"
    )
    await vos_app.users.set_active_star(user.id, created.star.id)
    await _keep_low_voice(ScriptedConsole(vos_app, locale=Locale.KO), tmp_path)  # a Korean-speaking user
    assert stt.calls and {call.language for call in stt.calls} == {"en"}


async def test_an_english_only_recogniser_does_not_write_korean_down_as_english(
    vos_app: App, tmp_path: Path
) -> None:
    stt = PhraseSTT(("kim chi chi gae", "bap", "sarang"), languages=frozenset({"en"}))
    _memories(vos_app).stt = stt
    await _star(vos_app)
    out = await _keep_low_voice(ScriptedConsole(vos_app), tmp_path)
    assert "목소리를 간직했어요" in out and "cannot transcribe ko" in out
    assert stt.calls == []
