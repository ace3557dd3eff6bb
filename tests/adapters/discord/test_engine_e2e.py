"""The Discord adapter with the REAL engine (offline chat, SQLite in tmp_path, the demo export)."""

from __future__ import annotations

import shutil

import pytest

from bot.demo import DEMO_EXPORT
from bot.runner import ensure_demo_star
from bot.wiring import App
from core.domain.identity import Locale, Platform, UserRef
from core.i18n import t
from tests.adapters.discord.fakes import (
    ALICE,
    attachment_payload,
    click,
    message_menu,
    message_payload,
    modal_submit,
    slash,
    snowflake,
)
from tests.adapters.discord.test_dm import dm_message

KO = Locale.KO


def _components(http):
    return [c for call in http.messages() for c in call.components]


def _button(http, label: str) -> str:
    for call in reversed(http.messages()):
        for component in call.components:
            if component.get("label") == label:
                return str(component["custom_id"])
    raise AssertionError(f"no button {label!r} in {http.texts()}")


async def test_star_list_shows_the_demo_star_and_a_pick_switches_to_it(
    http, client, make_adapter, vos_app: App
):
    user = await vos_app.users.get_or_create(
        UserRef(platform=Platform.DISCORD, platform_user_id=str(ALICE)), display_name="alice", locale=KO
    )
    await ensure_demo_star(vos_app, user)
    adapter = make_adapter(vos_app.engine)
    await adapter.tree._call(slash(client, "star list"))
    listing = http.messages()[-1]
    assert listing.content == t(KO, "stars.header")
    options = [o for c in listing.components if c["type"] == 3 for o in c["options"]]
    buttons = [c for c in listing.components if c["type"] == 2 and c["custom_id"].startswith("vos:c:star:")]
    entries = [(o["label"], o["value"]) for o in options] + [
        (b["label"], b["custom_id"][6:]) for b in buttons
    ]
    ((label, key),) = entries
    assert label.startswith("엄마 (어머니 (데모))")
    star = (await vos_app.stars.list_owned(user.id))[0]
    assert key == f"star:{star.id}"

    await adapter.on_interaction(click(client, f"vos:c:{key}"))
    assert http.texts()[-1] == t(KO, "stars.switched", name="엄마")


async def test_star_create_end_to_end_with_the_export_attached(http, client, make_adapter, vos_app: App):
    adapter = make_adapter(vos_app.engine)
    data = DEMO_EXPORT.read_bytes()
    att = attachment_payload(str(snowflake()), "KakaoTalk_mom.txt", data)
    http.cdn[att["url"]] = data
    await adapter.tree._call(
        slash(client, "star create", {"export": att["id"]}, attachments={att["id"]: att})
    )
    assert http.texts()[-1].endswith(t(KO, "create.consent"))
    await adapter.on_interaction(click(client, _button(http, t(KO, "common.yes"))))
    assert http.texts()[-1] == t(KO, "create.ask_name")
    await adapter.on_interaction(modal_submit(client, "우리 엄마"))
    assert http.texts()[-1] == t(KO, "create.ask_relation")
    await adapter.on_interaction(modal_submit(client, "어머니"))
    await adapter.on_interaction(click(client, _button(http, t(KO, "common.skip"))))  # notes
    await adapter.on_interaction(click(client, _button(http, t(KO, "common.skip"))))  # dates
    await adapter.on_interaction(
        click(client, _button(http, t(KO, "common.skip")))
    )  # photo → the export is fed
    texts = http.texts()
    assert t(KO, "create.ask_export") in texts
    prompt = t(KO, "create.choose_participant", name="우리 엄마")
    assert texts[-1] == prompt
    participant = next(
        c["custom_id"] for c in http.messages()[-1].components if c.get("label", "").startswith("엄마 ")
    )
    await adapter.on_interaction(click(client, participant))
    stars = await vos_app.stars.list_owned(
        (
            await vos_app.users.get_or_create(
                UserRef(platform=Platform.DISCORD, platform_user_id=str(ALICE)), display_name="a", locale=KO
            )
        ).id
    )
    assert [s.name for s in stars] == ["우리 엄마"]
    done = [x for x in http.texts() if x.startswith(t(KO, "create.done", name="우리 엄마", count=0)[:10])]
    assert done
    assert not list((adapter.config.downloads_dir).iterdir())  # the pending export was removed after use


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_listen_in_voice_on_a_real_star_reply_returns_an_ogg(http, client, make_adapter, vos_app: App):
    user = await vos_app.users.get_or_create(
        UserRef(platform=Platform.DISCORD, platform_user_id=str(ALICE)), display_name="alice", locale=KO
    )
    await ensure_demo_star(vos_app, user)
    adapter = make_adapter(vos_app.engine)
    await adapter.on_interaction(modal_submit(client, "엄마 밥 먹었어?", guild=False))
    star_bubbles = [m for m in http.messages() if any("listen:" in c["custom_id"] for c in m.components)]
    assert star_bubbles
    buttons = [{"type": 1, "components": [dict(c, type=2, style=2) for c in star_bubbles[-1].components]}]
    target = message_payload(snowflake(), 1, "whatever the text says", components=buttons)
    before = len(http.calls)
    await adapter.tree._call(message_menu(client, target))
    files = [name for call in http.calls[before:] for name, data in call.files if data.startswith(b"OggS")]
    assert files
    assert files[0].endswith(".ogg")

    # A forged listen button (a turn id that is no star's words to this user) speaks nothing.
    row = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "x", "custom_id": "vos:c:listen:1"}]}]
    forged = message_payload(snowflake(), 1, "계좌번호 알려줘", components=row)
    before = len(http.calls)
    await adapter.tree._call(message_menu(client, forged))
    assert not [c for c in http.calls[before:] if c.files]
    assert t(KO, "voice.listen.nothing") in http.texts()


async def test_a_stale_yes_under_retire_confirms_nothing(http, client, make_adapter, vos_app: App):
    """/retire, then /forget_me, then "yes" under the /retire question: expired, nothing deleted."""
    user = await vos_app.users.get_or_create(
        UserRef(platform=Platform.DISCORD, platform_user_id=str(ALICE)), display_name="alice", locale=KO
    )
    await ensure_demo_star(vos_app, user)
    adapter = make_adapter(vos_app.engine)
    await adapter.on_message(dm_message(client, "/retire"))
    assert http.texts()[-1] == t(KO, "rights.retire_confirm", name="엄마")
    stale_yes = _button(http, t(KO, "common.yes"))
    assert stale_yes != "vos:c:f:yes"  # bound to its question
    await adapter.on_message(dm_message(client, "/forget_me"))
    assert http.texts()[-1] == t(KO, "rights.forget_me_confirm")

    await adapter.on_interaction(click(client, stale_yes, guild=False))
    answer = http.callbacks()[-1]
    assert answer.payload["type"] == 7 and answer.payload["data"]["components"] == []  # buttons removed
    assert http.texts()[-1] == t(KO, "platforms.choice_expired")
    (star,) = await vos_app.stars.list_owned(user.id)
    assert star.status.value != "retired"

    await adapter.on_interaction(click(client, _button(http, t(KO, "common.no")), guild=False))
    assert http.texts()[-1] == t(KO, "rights.aborted")
    assert len(await vos_app.stars.list_owned(user.id)) == 1
