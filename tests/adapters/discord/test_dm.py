"""/star chat opens a DM; DMs (text, /commands typed as text, files) reach the engine."""

from __future__ import annotations

import discord

from core.domain.actions import SendText
from core.domain.events import CommandInvoked, FileUploaded, TextMessage
from core.domain.identity import Locale
from core.i18n import t
from tests.adapters.discord.fakes import (
    ALICE,
    ScriptedEngine,
    attachment_payload,
    message_payload,
    slash,
    snowflake,
    user_payload,
)

KO = Locale.KO


def dm_message(
    client: discord.Client, content: str, attachments: list[dict] | None = None
) -> discord.Message:
    state = client._connection
    channel = discord.DMChannel(
        me=client.user,
        state=state,
        data={"id": str(snowflake()), "type": 1, "recipients": [user_payload(ALICE, "alice")]},
    )
    data = message_payload(
        snowflake(), channel.id, content, author=user_payload(ALICE, "alice"), attachments=attachments
    )
    return discord.Message(state=state, channel=channel, data=data)


async def test_star_chat_opens_a_dm_and_says_so(http, client, make_adapter):
    adapter = make_adapter(ScriptedEngine(http))
    await adapter.tree._call(slash(client, "star chat"))
    assert any(c.path == "/users/@me/channels" and c.payload["recipient_id"] == ALICE for c in http.calls)
    assert t(KO, "discord.dm_opened") in http.texts()
    assert http.calls[-1].content == t(KO, "discord.dm_sent")

    http.dm_closed = True
    await adapter.tree._call(slash(client, "star chat"))
    assert http.calls[-1].content == t(KO, "discord.dm_closed")


async def test_dm_text_commands_and_files_reach_the_engine(http, client, make_adapter):
    engine = ScriptedEngine(http, {"TextMessage": [SendText(text="밥 먹었어~~", from_star=True)]})
    adapter = make_adapter(engine)
    message = dm_message(client, "엄마 나 왔어")
    await adapter.on_message(message)
    (event,) = engine.events
    assert isinstance(event, TextMessage)
    assert event.chat_id == f"discord:dm:{ALICE}"
    assert event.locale_hint is None  # DMs carry no locale: the user's stored one applies
    reply = http.calls[-1]
    assert reply.path == f"/channels/{message.channel.id}/messages"
    assert reply.content == "밥 먹었어~~"
    assert reply.components == []  # no write button in DMs: the user just types

    await adapter.on_message(dm_message(client, "/cancel"))
    assert engine.events[-1] == CommandInvoked(
        command="cancel", user=event.user, chat_id=event.chat_id, display_name="alice", locale_hint=None
    )

    data = b'2023-01-05 15:04:26,"A","hi"\n'
    att = attachment_payload(str(snowflake()), "export.csv", data, "text/csv")
    http.cdn[att["url"]] = data
    await adapter.on_message(dm_message(client, "", attachments=[att]))
    upload = engine.events[-1]
    assert isinstance(upload, FileUploaded)
    assert upload.file.filename == "export.csv"
    assert upload.file.size == len(data)
    assert not list(adapter.config.downloads_dir.iterdir())  # removed once the engine was done


async def test_oversized_attachment_is_refused_before_download(http, client, make_adapter):
    engine = ScriptedEngine(http)
    adapter = make_adapter(engine, max_download_bytes=10)
    att = attachment_payload(str(snowflake()), "big.txt", b"x" * 100)
    await adapter.on_message(dm_message(client, "", attachments=[att]))
    assert engine.events == []
    assert http.calls[-1].content == t(KO, "discord.file_too_big", size_mb="0.0", limit_mb=0)
