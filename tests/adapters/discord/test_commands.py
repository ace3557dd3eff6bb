"""Slash commands, components and the answer modal through discord.py's real tree, with a scripted engine."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from adapters.discord.commands import CatalogueTranslator
from core.domain.actions import AskChoice, Choice, DeleteProgress, SendText, SendVoice, ShowProgress
from core.domain.events import ChoiceMade, CommandInvoked, TextMessage
from core.domain.identity import Locale, Platform, Space
from core.i18n import t
from tests.adapters.discord.conftest import TOKEN
from tests.adapters.discord.fakes import (
    ALICE,
    GUILD_ID,
    ScriptedEngine,
    click,
    message_menu,
    message_payload,
    modal_submit,
    slash,
    snowflake,
    user_payload,
)

DEFERRED_THINKING = 5
EPHEMERAL = 64


async def test_star_list_defers_before_the_engine_and_renders_a_select(http, client, make_adapter):
    stars = tuple(
        Choice(key=f"star:{i}", label=f"star {i} (relation) — a long last message preview") for i in range(4)
    )
    engine = ScriptedEngine(http, {"stars": [AskChoice(prompt="Your stars", options=stars)]})
    adapter = make_adapter(engine)
    await adapter.tree._call(slash(client, "star list"))

    first = http.calls[0]
    assert first.path.endswith("/callback")
    assert first.payload["type"] == DEFERRED_THINKING
    assert first.payload["data"]["flags"] & EPHEMERAL
    assert engine.calls_before == [1]  # the defer was the only request before the engine ran
    (event,) = engine.events
    assert isinstance(event, CommandInvoked)
    assert event.command == "stars"
    assert event.chat_id == f"discord:guild:{GUILD_ID}"
    assert event.space == Space.guild(str(GUILD_ID))  # the typed reference core scopes meetings by
    assert event.user.platform is Platform.DISCORD
    assert event.user.platform_user_id == str(ALICE)
    assert event.locale_hint is Locale.KO
    edit = http.calls[1]
    assert edit.method == "PATCH"
    assert edit.path.endswith("/messages/@original")
    assert edit.content == "Your stars"
    select = next(c for c in edit.components if c["type"] == 3)
    assert [o["value"] for o in select["options"]] == [c.key for c in stars]
    write = next(c for c in edit.components if c["type"] == 2)
    assert write["custom_id"] == "vos:w"
    assert write["label"] == t(Locale.KO, "discord.write_answer")


async def test_buttons_clicks_and_the_answer_modal_become_events(http, client, make_adapter):
    engine = ScriptedEngine(
        http,
        {
            "new": [
                AskChoice(
                    prompt="Consent?",
                    options=(Choice(key="f:yes", label="Yes"), Choice(key="f:no", label="No")),
                )
            ],
            "f:yes": [SendText(text="What is the star's name?")],
            "TextMessage": [SendText(text="Relation?")],
        },
    )
    adapter = make_adapter(engine)
    await adapter.on_interaction(click(client, "vos:c:f:yes"))
    assert engine.events[-1] == ChoiceMade(
        key="f:yes",
        user=engine.events[-1].user,
        chat_id=f"discord:guild:{GUILD_ID}",
        space=Space.guild(str(GUILD_ID)),
        display_name="alice",
        locale_hint=Locale.KO,
    )
    reply = http.messages()[-1]
    assert reply.content == "What is the star's name?"
    assert [c["custom_id"] for c in reply.components] == ["vos:w"]

    before = len(http.calls)
    await adapter.on_interaction(click(client, "vos:w"))
    (modal,) = http.calls[before:]
    assert modal.payload["type"] == 9  # MODAL: the modal itself acknowledges the click
    assert modal.payload["data"]["custom_id"] == "vos:m"

    await adapter.on_interaction(modal_submit(client, "엄마"))
    assert isinstance(engine.events[-1], TextMessage)
    assert engine.events[-1].text == "엄마"
    assert http.texts()[-1] == "Relation?"


async def test_choice_keys_travel_as_they_are_in_custom_ids(http, client, make_adapter):
    longest = "star:" + "x" * 59  # 64 bytes, the most core makes: no table of stand-ins in the adapter
    engine = ScriptedEngine(
        http, {"stars": [AskChoice(prompt="Pick", options=(Choice(key=longest, label="One"),))]}
    )
    adapter = make_adapter(engine)
    await adapter.tree._call(slash(client, "star list"))
    button = next(c for c in http.messages()[-1].components if c["custom_id"] != "vos:w")
    assert button["custom_id"] == "vos:c:" + longest
    assert len(button["custom_id"]) <= 100
    await adapter.on_interaction(click(client, button["custom_id"]))
    assert engine.events[-1].key == longest

    before = len(engine.events)
    await adapter.on_interaction(click(client, "vos:t:unknown"))  # an id VOS does not make: ignored
    assert len(engine.events) == before


async def test_progress_edits_the_deferred_response_and_long_text_is_split(http, client, make_adapter):
    long = "가나다라 " * 900  # 4500 characters
    engine = ScriptedEngine(
        http,
        {
            "ask": [
                ShowProgress(progress_id="p", text="Searching", fraction=0.5),
                ShowProgress(progress_id="p", text="Searching", fraction=1.0),
                DeleteProgress(progress_id="p"),
                SendText(text=long),
            ]
        },
    )
    adapter = make_adapter(engine)
    await adapter.tree._call(
        slash(client, "meeting ask", {"question": "누가 뭘 하기로 했지?"}, locale="en-US")
    )
    assert engine.events[0].command == "ask"
    assert engine.events[0].args == "누가 뭘 하기로 했지?"
    assert engine.events[0].locale_hint is Locale.EN
    edits = [c for c in http.calls if c.path.endswith("/messages/@original") and c.method == "PATCH"]
    assert "Searching" in edits[0].content
    assert "50%" in edits[0].content
    assert "100%" in edits[1].content
    texts = [c.content for c in http.messages() if "Searching" not in c.content]
    assert all(len(x) <= 2000 for x in texts)
    assert len(texts) == 3
    assert "".join(texts).replace(" ", "") == long.replace(" ", "")
    assert edits[2].content == texts[0]  # the first chunk replaced the progress line


async def test_engine_failure_apologises_with_a_reference_and_never_logs_the_token(
    http, client, make_adapter, caplog
):
    class Broken(ScriptedEngine):
        async def handle(self, event):
            raise RuntimeError("boom")
            yield  # pragma: no cover

    adapter = make_adapter(Broken(http))
    await adapter.tree._call(slash(client, "star list", locale="en-US"))
    apology = http.calls[-1]
    pattern = re.escape(t(Locale.EN, "discord.apology", ref="REF")).replace("REF", "[0-9a-f]{8}")
    assert re.fullmatch(pattern, apology.content)
    assert apology.path.endswith("/messages/@original")  # it replaces the ephemeral "thinking…"
    assert "boom" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(adapter.config)


async def test_privacy_answers_at_once_in_the_users_language(http, client, make_adapter):
    adapter = make_adapter(ScriptedEngine(http), audio_retention_days=14)
    await adapter.tree._call(slash(client, "privacy", locale="en-GB"))
    (call,) = http.calls
    assert call.payload["type"] == 4
    assert call.content == t(Locale.EN, "discord.privacy", retention_days=14)
    assert "14" in call.content
    assert call.flags & EPHEMERAL


async def test_listen_menu_replies_with_the_voice_note_as_an_ogg_attachment(
    http, client, make_adapter, tmp_path: Path
):
    voice = tmp_path / "listen.ogg"
    voice.write_bytes(b"OggS" + b"\0" * 60 + b"OpusHead")
    star_text = "밥은 먹었어?"
    engine = ScriptedEngine(
        http,
        {
            "TextMessage": [SendText(text=star_text, from_star=True, turn_id="42")],
            "listen:42": [SendVoice(path=voice, caption="🔊 엄마 (AI)", duration_s=1.2)],
        },
    )
    adapter = make_adapter(engine)
    # A stored star bubble carries a listen button whose key is the turn id, never the words.
    await adapter.on_interaction(modal_submit(client, "hi", guild=False))
    bubble = next(m for m in http.messages() if m.content == star_text)
    listen = next(c for c in bubble.components if c["custom_id"].startswith("vos:c:listen:"))
    assert listen["custom_id"] == "vos:c:listen:42"
    assert listen["label"] == t(Locale.KO, "discord.listen_button")
    engine.events.clear()

    # The message menu reads that button: the same key, whatever the message says.
    row = {
        "type": 1,
        "components": [{"type": 2, "style": 2, "label": "🔊", "custom_id": listen["custom_id"]}],
    }
    target = message_payload(snowflake(), 1, star_text, components=[row])
    await adapter.tree._call(message_menu(client, target))
    assert engine.events[0] == ChoiceMade(
        key="listen:42",
        user=engine.events[0].user,
        chat_id=f"discord:dm:{ALICE}",
        display_name="alice",
        locale_hint=Locale.KO,
    )
    sent = [c for c in http.calls if c.files]
    assert sent[0].files == [("listen.ogg", voice.read_bytes())]
    assert sent[0].content == "🔊 엄마 (AI)"

    for other in (
        message_payload(snowflake(), 1, "not a star", author=user_payload(ALICE, "alice"), components=[row]),
        message_payload(snowflake(), 1, star_text),  # the bot's, but no stored star turn behind it
    ):
        before = len(engine.events)
        await adapter.tree._call(message_menu(client, other))
        assert len(engine.events) == before
        assert http.calls[-1].content == t(Locale.KO, "discord.listen_not_star")


async def test_command_names_and_descriptions_are_localized_for_korean(client, make_adapter, http):
    adapter = make_adapter(ScriptedEngine(http))
    translator = CatalogueTranslator()
    payloads = {
        c.name: await c.get_translated_payload(adapter.tree, translator) for c in adapter.tree.get_commands()
    }
    star = payloads["star"]
    assert star["name_localizations"]["ko"] == "스타"
    create = next(o for o in star["options"] if o["name"] == "create")
    assert create["name_localizations"]["ko"] == "만들기"
    assert create["description_localizations"]["ko"] == t(Locale.KO, "discord.cmd.star_create_desc")
    assert create["options"][0]["name_localizations"]["ko"] == "내보내기파일"
    assert payloads["meeting"]["name_localizations"]["ko"] == "회의"
    assert payloads["Listen in voice"]["name_localizations"]["ko"] == "목소리 듣기"
    assert payloads["optout"]["name_localizations"]["ko"] == "녹음거부"
    assert payloads["voice"]["name_localizations"]["ko"] == "목소리"
    setup = payloads["voice"]["options"][0]
    assert setup["name_localizations"]["ko"] == "설정"
    assert setup["options"][0]["name_localizations"]["ko"] == "녹음"
    assert setup["options"][0]["type"] == 11  # an attachment
    assert set(payloads) == {"star", "voice", "meeting", "privacy", "optout", "optin", "Listen in voice"}
    for payload in payloads.values():
        for name in [payload["name"], *payload["name_localizations"].values()]:
            if payload.get("type", 1) == 1:
                assert re.fullmatch(r"[-_\w]{1,32}", name), name


async def test_setup_hook_syncs_localized_commands_to_the_configured_guild(http, client, make_adapter):
    adapter = make_adapter(ScriptedEngine(http), guild_ids=(GUILD_ID,))
    await adapter._setup_hook()
    (sync,) = [c for c in http.calls if c.method == "PUT"]
    assert sync.path == f"/applications/{client.application_id}/guilds/{GUILD_ID}/commands"
    by_name = {c["name"]: c for c in sync.payload_list}
    assert by_name["star"]["name_localizations"]["ko"] == "스타"
    assert by_name["meeting"]["dm_permission"] is False  # guild only
    assert by_name["Listen in voice"]["type"] == 3


async def test_run_serves_until_stop_and_closes_the_client(http, client, make_adapter, monkeypatch):
    started = asyncio.Event()

    async def fake_start(token: str) -> None:
        assert token == TOKEN
        started.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(client, "start", fake_start)
    adapter = make_adapter(ScriptedEngine(http))
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(adapter.run())
        await asyncio.wait_for(started.wait(), 5)
        adapter.stop()
    assert task.done()
    assert client.is_closed()


def test_a_long_list_of_choices_takes_several_selects_and_none_is_cut():
    from adapters.discord.render import choice_view
    from core.domain.actions import Choice

    options = [Choice(key=f"star:{i}", label=f"별 {i}") for i in range(60)]
    view = choice_view(options, write_label="✍️")
    selects = [item for item in view.children if hasattr(item, "options")]
    assert [len(s.options) for s in selects] == [25, 25, 10]
    assert [o.value for s in selects for o in s.options] == [f"star:{i}" for i in range(60)]


def test_discord_messages_never_split_a_zwj_emoji():
    from adapters.discord.render import split_text

    family = "👨\u200d👩\u200d👧\u200d👦"
    chunks = split_text(family * 400, 2000)
    assert "".join(chunks) == family * 400
    assert all(chunk.replace(family, "") == "" for chunk in chunks)
