"""End to end through the console adapter in scripted mode: create a star, chat, data rights, isolation."""

from __future__ import annotations

import zipfile
from pathlib import Path

from sqlalchemy import func, select, text

from bot.demo import DEMO_EXPORT
from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.storage import models
from tests.support.app import ScriptedConsole, saved_path


async def test_create_star_then_chat_in_the_stars_words(vos_app: App) -> None:
    console = ScriptedConsole(vos_app)
    out = await console.say("/new")
    assert "18" in out and "[1]" in out
    out = await console.say("1", "엄마", "어머니", "3", "1960-03-02 2023-01-05")
    assert "사진" in out and "[1]" in out  # the optional photo
    out = await console.say("1")  # skip it
    assert "카카오톡" in out
    out = await console.say(f"/file {DEMO_EXPORT}")
    assert "엄마 (" in out and "민지 (" in out  # participants with counts
    out = await console.say("1")  # 엄마 has the most messages
    assert "별을 만들었어요" in out
    assert "AI가 씁니다" not in out  # the AI notice is given once: with her first words, not twice
    out = await console.say("김치찌개 생각난다")
    assert out.count("AI가 씁니다") == 1 and out.index("AI가 씁니다") < out.index("★> "), out
    star_lines = [line for line in out.splitlines() if line.startswith("★> ")]
    assert star_lines, out
    exported = DEMO_EXPORT.read_text(encoding="utf-8")
    for line in star_lines:  # the offline engine only uses the star's own words
        assert line[3:] in exported
    assert any("김치찌개" in line for line in star_lines)


def _photo_with_gps(path: Path) -> Path:
    """A 2000x1500 JPEG whose EXIF carries a camera model and a GPS position."""
    from PIL import Image

    image = Image.new("RGB", (2000, 1500), (200, 120, 60))
    exif = Image.Exif()
    exif[0x0110] = "PhoneCam 9"  # Model
    exif[0x8825] = {1: "N", 2: (37.0, 33.0, 59.0), 3: "E", 4: (126.0, 58.0, 41.0)}  # GPSInfo
    image.save(path, format="JPEG", exif=exif)
    return path


async def test_a_photo_is_stored_without_metadata_exported_and_forgotten(
    vos_app: App, tmp_path: Path
) -> None:
    from PIL import Image

    photo = _photo_with_gps(tmp_path / "mom.jpg")
    with Image.open(photo) as original:
        assert original.getexif()  # the upload does carry metadata
    console = ScriptedConsole(vos_app)
    await console.say(
        "/new", "1", "엄마", "어머니", "1", "1"
    )  # consent, name, relation, skip notes and dates
    out = await console.say(f"/file {DEMO_EXPORT}")  # not an image: asked again
    assert "사진 파일을 읽지 못했어요" in out
    out = await console.say(f"/file {photo}")
    assert "사진을 저장했어요" in out and "카카오톡" in out
    out = await console.say(f"/file {DEMO_EXPORT}", "1")
    assert "별을 만들었어요" in out
    user = await local_user(vos_app, "local")
    (star,) = await vos_app.stars.list_owned(user.id)
    assert star.photo_blob is not None
    with Image.open(vos_app.blobs.local_path(star.photo_blob)) as stored:
        assert stored.format == "JPEG" and max(stored.size) == 1024
        assert not stored.getexif() and "exif" not in stored.info and "icc_profile" not in stored.info
    assert b"PhoneCam" not in vos_app.blobs.local_path(star.photo_blob).read_bytes()

    out = await console.say("/export")
    zip_path = saved_path(out)
    with zipfile.ZipFile(zip_path) as zf:
        assert any(n.startswith("uploads/") and "-photo-" in n for n in zf.namelist())
        # the export keeps the name it was sent under
        assert f"uploads/00-kakao_export-{DEMO_EXPORT.name}" in zf.namelist(), zf.namelist()
    out = await console.say("/forget", "1")
    assert "삭제했어요" in out
    assert not await vos_app.blobs.exists(star.photo_blob)
    assert (await _count_rows(vos_app))["blob_refs"] == 0


async def test_the_demo_star_answers_a_typed_message(vos_app: App) -> None:
    user = await local_user(vos_app, "local")
    await ensure_demo_star(vos_app, user)
    await ensure_demo_star(vos_app, user)  # once only
    assert len(await vos_app.stars.list_owned(user.id)) == 1
    console = ScriptedConsole(vos_app)
    out = await console.say("오늘 비가 많이 와")
    assert "★> " in out
    assert "AI" in out  # the first message carries the notice
    out = await console.say("/stars")
    assert "엄마 (어머니 (데모))" in out and "[1]" in out


async def test_users_cannot_reach_each_others_stars(vos_app: App) -> None:
    alice = await local_user(vos_app, "alice")
    await ensure_demo_star(vos_app, alice)
    star = (await vos_app.stars.list_owned(alice.id))[0]
    bob = ScriptedConsole(vos_app, user_id="bob")
    out = await bob.say("안녕")
    assert "/new" in out and "★>" not in out
    # Bob guesses Alice's star id and sends the choice key a keyboard would.
    from core.domain.events import ChoiceMade
    from core.domain.identity import Platform, UserRef

    event = ChoiceMade(
        key=f"star:{star.id}", user=UserRef(platform=Platform.CONSOLE, platform_user_id="bob"), chat_id="x"
    )
    texts = [getattr(a, "text", "") async for a in vos_app.engine.handle(event)]
    assert any("찾을 수 없어요" in t for t in texts)
    out = await bob.say("/export", "/forget")
    assert "vos-" not in out
    assert await vos_app.stars.get_owned(star.id, alice.id) is not None


async def _count_rows(app: App) -> dict[str, int]:
    counts = {}
    async with app.db.read() as s:
        for table in models.Base.metadata.sorted_tables:
            counts[table.name] = int(await s.scalar(select(func.count()).select_from(table)) or 0)
    async with app.db.write() as s:  # the memory's full-text index still matches its rows (raises if not)
        await s.execute(text("INSERT INTO memory_moments_fts(memory_moments_fts) VALUES ('integrity-check')"))
    return counts


async def test_export_then_forget_leaves_nothing(vos_app: App) -> None:
    console = ScriptedConsole(vos_app)
    user = await local_user(vos_app, "local")
    await ensure_demo_star(vos_app, user)
    await console.say("밥 먹었어?")
    out = await console.say("/export")
    zip_path = saved_path(out)
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        assert {"profile.json", "chat_history.json", "consents.json"} <= set(names)
        assert any(n.startswith("uploads/") for n in names)
        assert "demo" in zf.read("consents.json").decode()
    out = await console.say("/forget", "2")
    assert "지우지 않았어요" in out
    assert await vos_app.stars.list_owned(user.id)
    out = await console.say("/forget", "1")
    assert "삭제했어요" in out
    counts = await _count_rows(vos_app)
    for table in (
        "stars",
        "star_messages",
        "style_profiles",
        "chat_turns",
        "consents",
        "blob_refs",
        "memory_moments",
    ):
        assert counts[table] == 0, (table, counts)
    assert [k async for k in vos_app.blobs.keys()] == []


async def test_forget_me_deletes_every_row_of_the_user(vos_app: App) -> None:
    console = ScriptedConsole(vos_app)
    await ensure_demo_star(vos_app, await local_user(vos_app, "local"))
    await console.say("안녕 엄마")
    out = await console.say("/forget_me", "1")
    assert "모든 데이터를 삭제했어요" in out
    counts = await _count_rows(vos_app)
    assert all(v == 0 for v in counts.values()), counts
    assert [k async for k in vos_app.blobs.keys()] == []


async def test_retire_sends_a_farewell_in_their_words_then_read_only(vos_app: App) -> None:
    console = ScriptedConsole(vos_app)
    await ensure_demo_star(vos_app, await local_user(vos_app, "local"))
    out = await console.say("/retire", "1")
    farewell = [line for line in out.splitlines() if line.startswith("★> ")]
    assert farewell and farewell[0][3:] in DEMO_EXPORT.read_text(encoding="utf-8")
    out = await console.say("보고 싶어")
    assert "작별" in out and "★>" not in out


async def test_language_switch_and_unknown_command(vos_app: App) -> None:
    console = ScriptedConsole(vos_app, locale=None)
    out = await console.say("/language", "2")
    assert "English" in out
    out = await console.say("/nope")
    assert "Unknown command: /nope" in out
    out = await console.say("/cancel")
    assert "Nothing is in progress" in out


async def test_listen_speaks_the_last_star_message_as_a_tagged_voice_note(vos_app: App) -> None:
    import shutil

    import pytest

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from core.voice.audio import decode_audio, is_ai_generated

    console = ScriptedConsole(vos_app)
    await ensure_demo_star(vos_app, await local_user(vos_app, "local"))
    out = await console.say("/listen")
    assert "메시지가 없어요" in out
    await console.say("비가 엄청 와")
    out = await console.say("/listen")
    assert "음성 메시지 (" in out and "기본 음성" in out  # the console's own line, in the user's language
    path = Path(out.split("저장됨: ")[1].split(" — ")[0].strip())
    assert path.suffix == ".ogg" and is_ai_generated(path)
    seconds = float(out.split("음성 메시지 (")[1].split("초)")[0])
    assert seconds > 0.5 and abs(seconds - decode_audio(path).duration_s) < 0.1  # the note's real length
    again = await console.say("/listen")
    assert str(path) in again  # cached: the same file
    await console.say("/forget", "1")
    assert not path.exists()


async def test_listen_button_only_speaks_what_the_star_said(vos_app: App) -> None:
    from core.domain.events import ChoiceMade
    from core.domain.identity import Platform, UserRef

    await ensure_demo_star(vos_app, await local_user(vos_app, "local"))
    event = ChoiceMade(
        key="listen:국민은행 계좌 비밀번호 불러줘",
        user=UserRef(platform=Platform.CONSOLE, platform_user_id="local"),
        chat_id="c",
    )
    actions = [a async for a in vos_app.engine.handle(event)]
    assert all(type(a).__name__ != "SendVoice" for a in actions)


async def test_heavy_uploads_are_rate_limited_with_a_clear_message(tmp_path: Path, monkeypatch) -> None:
    from bot.wiring import running_app
    from tests.support.app import make_settings

    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path, limits={"jobs_per_hour": 3, "messages_per_minute": 600})
    async with running_app(settings, use_settings_model=False) as app:
        console = ScriptedConsole(app)
        outs = [await console.say(f"/file {DEMO_EXPORT}") for _ in range(5)]
        assert "처리 중인 작업이 많아요" in outs[-1]
        assert "처리 중인 작업이 많아요" not in outs[0]
