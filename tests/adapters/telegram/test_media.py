"""Files in and out, voice notes, progress messages and rate limits, over real HTTP."""

from __future__ import annotations

import asyncio
import itertools
import socket
from pathlib import Path

import httpx

from core.domain.actions import DeleteProgress, SendFile, SendText, SendVoice, ShowProgress
from core.domain.events import Event, FileUploaded, TextMessage, VoiceMessage
from core.domain.identity import Locale
from core.i18n import t
from tests.adapters.telegram.botapi_server import (
    MB,
    BotApiServer,
    document_update,
    text_update,
    voice_update,
)
from tests.adapters.telegram.conftest import ScriptedEngine, write_opus
from tests.support.extras import need

ALICE = 2001

EXPORT = (
    "\ufeff고민수 님과 카카오톡 대화\r\n저장한 날짜 : 2023-01-06 09:12:40\r\n\r\n"
    "--------------- 2023년 1월 5일 목요일 ---------------\r\n[고민수] [오후 3:04] 밥 먹었어?\r\n"
).encode()


async def test_document_upload_reaches_the_engine_intact(
    server: BotApiServer, engine: ScriptedEngine, start_adapter, tmp_path: Path
) -> None:
    seen: dict[str, object] = {}

    def script(event: Event) -> list[SendText]:
        if isinstance(event, FileUploaded):
            seen["bytes"] = event.file.path.read_bytes()
            seen["path"] = event.file.path
        return [SendText(text="받았어요")]

    engine.script = script
    await start_adapter()
    file_id = server.add_file(EXPORT, file_path="documents/file_1.txt")
    await server.inject(
        document_update(
            ALICE, file_id, file_name="../../KakaoTalk_고민수.txt", file_size=len(EXPORT), caption="엄마"
        )
    )
    await server.wait_calls("sendMessage", chat_id=ALICE)
    (event,) = engine.events
    assert isinstance(event, FileUploaded)
    assert seen["bytes"] == EXPORT
    assert event.file.size == len(EXPORT)
    assert event.file.filename == "../../KakaoTalk_고민수.txt"  # as the user named it...
    path = seen["path"]
    assert isinstance(path, Path)
    assert (tmp_path / "downloads") in path.parents  # ...but stored safely inside the download folder
    assert event.caption == "엄마"
    assert server.downloads == ["documents/file_1.txt"]
    await asyncio.sleep(0.2)
    assert not path.exists()  # the temporary copy is gone once the engine is done


async def test_oversized_document_is_refused_before_download(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    await start_adapter()
    file_id = server.add_file(b"x", file_path="documents/huge.zip", declared_size=25 * MB)
    await server.inject(
        document_update(ALICE, file_id, file_name="huge.zip", file_size=25 * MB, language_code="en")
    )
    (reply,) = await server.wait_calls("sendMessage", chat_id=ALICE)
    assert reply.params["text"] == t(Locale.EN, "telegram.file_too_big", size_mb="25.0", limit_mb=20)
    assert server.calls("getFile") == []
    assert server.downloads == []
    assert engine.events == []


async def test_document_without_declared_size_refused_by_get_file(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    await start_adapter()
    file_id = server.add_file(b"x", file_path="documents/huge.zip", declared_size=30 * MB)
    await server.inject(document_update(ALICE, file_id, file_name="huge.zip", file_size=0))
    (reply,) = await server.wait_calls("sendMessage", chat_id=ALICE)
    assert "20 MB" in reply.params["text"]
    assert server.downloads == []
    assert engine.events == []


async def test_voice_message_in(
    server: BotApiServer, engine: ScriptedEngine, start_adapter, tmp_path: Path
) -> None:
    ogg = write_opus(tmp_path / "in.ogg").read_bytes()
    got: list[bytes] = []

    def script(event: Event) -> list[SendText]:
        if isinstance(event, VoiceMessage):
            got.append(event.file.path.read_bytes())
        return [SendText(text="잘 들었어")]

    engine.script = script
    await start_adapter()
    file_id = server.add_file(ogg, file_path="voice/file_2.oga")
    await server.inject(voice_update(ALICE, file_id, file_size=len(ogg), duration=1))
    await server.wait_calls("sendMessage", chat_id=ALICE)
    (event,) = engine.events
    assert isinstance(event, VoiceMessage)
    assert got == [ogg]
    assert event.file.duration_s == 1.0
    assert event.file.mime_type == "audio/ogg"


async def test_voice_note_out_as_voice_then_audio_when_too_big(
    server: BotApiServer, engine: ScriptedEngine, start_adapter, tmp_path: Path
) -> None:
    voice = write_opus(tmp_path / "star.ogg")
    wav = tmp_path / "star.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 200)
    engine.script = lambda event: [
        SendVoice(path=voice, caption="잘 자", duration_s=0.5),
        SendVoice(path=wav, caption="wav"),
    ]
    await start_adapter()
    await server.inject(text_update(ALICE, "/listen"))
    (sent_voice,) = await server.wait_calls("sendVoice", chat_id=ALICE)
    (sent_audio,) = await server.wait_calls("sendAudio", chat_id=ALICE)
    assert sent_voice.files["voice"].content == voice.read_bytes()
    assert sent_voice.params["caption"] == "잘 자"
    assert sent_audio.files["audio"].content == wav.read_bytes()


async def test_opus_over_one_megabyte_goes_as_audio(
    server: BotApiServer, engine: ScriptedEngine, start_adapter, tmp_path: Path
) -> None:
    voice = write_opus(tmp_path / "long.ogg")
    engine.script = lambda event: [SendVoice(path=voice)]
    await start_adapter(max_voice_note_bytes=voice.stat().st_size - 1)
    await server.inject(text_update(ALICE, "/listen"))
    await server.wait_calls("sendAudio", chat_id=ALICE)
    assert server.calls("sendVoice") == []


async def test_voice_messages_forbidden_falls_back_to_text_and_document(
    server: BotApiServer, engine: ScriptedEngine, start_adapter, tmp_path: Path
) -> None:
    voice = write_opus(tmp_path / "star.ogg")
    engine.script = lambda event: [SendVoice(path=voice, caption="사랑해")]
    server.forbid_voice(ALICE)
    await start_adapter()
    await server.inject(text_update(ALICE, "/listen"))
    (document,) = await server.wait_calls("sendDocument", chat_id=ALICE)
    (refused,) = server.calls("sendVoice", chat_id=ALICE)
    assert refused.status == 400
    assert [r.params["text"] for r in server.calls("sendMessage", chat_id=ALICE)] == ["사랑해"]
    assert document.files["document"].content == voice.read_bytes()
    assert document.params["caption"] == t(Locale.KO, "telegram.voice_forbidden")


async def test_send_file_and_upload_limit(
    server: BotApiServer, engine: ScriptedEngine, start_adapter, tmp_path: Path
) -> None:
    small = tmp_path / "export.zip"
    small.write_bytes(b"PK" + b"1" * 100)
    big = tmp_path / "big.zip"
    big.write_bytes(b"PK" + b"2" * 5000)
    engine.script = lambda event: [
        SendFile(path=small, filename="내보내기.zip", caption="여기 있어요"),
        SendFile(path=big, filename="big.zip"),
    ]
    await start_adapter(max_upload_bytes=1000)
    await server.inject(text_update(ALICE, "/export", language_code="en"))
    (doc,) = await server.wait_calls("sendDocument", chat_id=ALICE)
    (notice,) = await server.wait_calls("sendMessage", chat_id=ALICE)
    assert doc.files["document"].filename == "내보내기.zip"
    assert doc.files["document"].content == small.read_bytes()
    assert notice.params["text"] == t(Locale.EN, "telegram.upload_too_big", limit_mb=0)


async def test_429_retry_after_is_honoured(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    engine.script = lambda event: [SendText(text="천천히 보낼게")]
    await start_adapter()
    server.fail_next("sendMessage", error_code=429, retry_after=1)
    await server.inject(text_update(ALICE, "안녕"))
    attempts = await server.wait_calls("sendMessage", 2, chat_id=ALICE, timeout=10)
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert attempts[1].params["text"] == "천천히 보낼게"


async def test_progress_created_then_edited_in_place_and_deleted(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    async def script(event: Event):
        assert isinstance(event, TextMessage)
        if event.text == "work":
            yield ShowProgress(progress_id="sep", text="목소리 분리 중", fraction=0.0)
            for step in (0.25, 0.5, 0.75):
                await asyncio.sleep(0.05)
                yield ShowProgress(progress_id="sep", text="목소리 분리 중", fraction=step)
            yield ShowProgress(progress_id="sep", text="목소리 분리 중", fraction=0.75)
            await asyncio.sleep(0.3)
            yield ShowProgress(progress_id="sep", text="거의 다 됐어요", fraction=1.0)
        else:
            yield DeleteProgress(progress_id="sep")
            yield SendText(text="끝")

    engine.script = script
    await start_adapter(progress_edit_interval_s=0.2)
    await server.inject(text_update(ALICE, "work"))
    await server.wait_for(
        lambda s: any("100%" in r.params.get("text", "") for r in s.calls("editMessageText"))
    )
    (created,) = server.calls("sendMessage", chat_id=ALICE)
    edits = server.calls("editMessageText", chat_id=ALICE)
    message_id = int(edits[0].params["message_id"])
    assert "0%" in created.params["text"]
    assert all(int(e.params["message_id"]) == message_id for e in edits)
    assert all(e.status == 200 for e in edits)
    assert len(edits) < 4  # throttled: five updates, far fewer edits
    gaps = [b.at - a.at for a, b in itertools.pairwise(edits)]
    assert all(gap >= 0.15 for gap in gaps)
    assert edits[-1].params["text"].startswith("거의 다 됐어요")

    await server.inject(text_update(ALICE, "done"))
    (deleted,) = await server.wait_calls("deleteMessage", chat_id=ALICE)
    assert int(deleted.params["message_id"]) == message_id
    assert deleted.status == 200


async def test_not_modified_edit_is_ignored(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    async def script(event: Event):
        yield ShowProgress(progress_id="p", text="a")
        await asyncio.sleep(0.25)
        yield ShowProgress(progress_id="p", text="b")
        yield SendText(text="done")

    engine.script = script
    await start_adapter(progress_edit_interval_s=0.2)
    server.fail_next("editMessageText", description="Bad Request: message is not modified")
    await server.inject(text_update(ALICE, "go", language_code="en"))
    sent = await server.wait_calls("sendMessage", 2, chat_id=ALICE)
    assert [r.params["text"] for r in sent] == ["a", "done"]  # no apology


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_checks_the_secret_token(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    need("tornado")
    port = _free_port()
    engine.script = lambda event: [SendText(text="webhook ok")]
    await start_adapter(
        mode="webhook",
        webhook_url="https://vos.example/telegram",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret_token="s3cret_Token-1",
    )
    (set_webhook,) = server.calls("setWebhook")
    assert set_webhook.params["url"] == "https://vos.example/telegram"
    assert set_webhook.params["secret_token"] == "s3cret_Token-1"
    body = {"update_id": 77, **text_update(ALICE, "via webhook")}
    async with httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{port}/telegram"
        wrong = await client.post(url, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
        missing = await client.post(url, json=body)
        assert wrong.status_code == 403
        assert missing.status_code == 403
        await asyncio.sleep(0.1)
        assert engine.events == []
        right = await client.post(
            url, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret_Token-1"}
        )
        assert right.status_code == 200
    (sent,) = await server.wait_calls("sendMessage", chat_id=ALICE)
    assert sent.params["text"] == "webhook ok"
    assert isinstance(engine.events[0], TextMessage)


async def test_a_temporary_file_is_deleted_once_sent_or_refused(
    server: BotApiServer, engine: ScriptedEngine, start_adapter, tmp_path: Path
) -> None:
    sent = tmp_path / "export.zip"
    sent.write_bytes(b"PK" + b"1" * 100)
    refused = tmp_path / "too-big.zip"
    refused.write_bytes(b"PK" + b"2" * 5000)
    kept = tmp_path / "kept.zip"
    kept.write_bytes(b"PK" + b"3" * 10)
    engine.script = lambda event: [
        SendFile(path=sent, filename="export.zip", temporary=True),
        SendFile(path=refused, filename="too-big.zip", temporary=True),
        SendFile(path=kept, filename="kept.zip"),
    ]
    await start_adapter(max_upload_bytes=1000)
    await server.inject(text_update(ALICE, "/export", language_code="en"))
    docs = await server.wait_calls("sendDocument", 2, chat_id=ALICE)
    assert [d.files["document"].filename for d in docs] == ["export.zip", "kept.zip"]
    assert not sent.exists() and not refused.exists() and kept.exists()
