"""A button under an older question never answers the pending one (issue #20), over Telegram with the
real engine: /retire, then /forget_me, then "yes" under the /retire question deletes nothing."""

from __future__ import annotations

from core.domain.identity import Locale
from core.domain.stars import StarStatus
from core.i18n import t
from tests.adapters.telegram.botapi_server import BotApiServer
from tests.adapters.telegram.test_engine_e2e import (
    ALICE,
    StartVos,
    _user_id,
    create_star,
    start_vos,
    texts,
)

KO = Locale.KO
__all__ = ["start_vos"]  # the fixture, shared with the end-to-end module


async def test_a_stale_yes_confirms_nothing(start_vos: StartVos, server: BotApiServer) -> None:
    app, alice, _ = await start_vos(limits={"messages_per_minute": 600})
    await create_star(alice)
    user_id = await _user_id(app, ALICE)

    (retire_question,) = await alice.say("/retire")
    assert retire_question.params["text"] == t(KO, "rights.retire_confirm", name="엄마")
    stale_yes = alice.find_button(t(KO, "common.yes"))
    assert stale_yes[0].startswith("f:") and stale_yes[0] != "f:yes"  # bound to its question
    (forget_question,) = await alice.say("/forget_me")
    assert forget_question.params["text"] == t(KO, "rights.forget_me_confirm")
    assert alice.button(t(KO, "common.yes")) != stale_yes[0]

    # The old "yes" under /retire: expired, and nothing is retired or deleted.
    assert texts(await alice.press_data(*stale_yes)) == [t(KO, "platforms.choice_expired")]
    (star,) = await app.stars.list_owned(user_id)
    assert star.status is not StarStatus.RETIRED
    # Its keyboard is gone.
    removed = server.calls("editMessageReplyMarkup", chat_id=ALICE)[-1]
    assert int(removed.params["message_id"]) == stale_yes[1]
    assert (ALICE, stale_yes[1]) not in server.state.markups

    # The pending /forget_me question still answers: "no" keeps everything and its keyboard goes too.
    assert texts(await alice.press(t(KO, "common.no"))) == [t(KO, "rights.aborted")]
    assert (ALICE, forget_question.message_id) not in server.state.markups
    assert len(await app.stars.list_owned(user_id)) == 1

    # A "yes" left from a question already answered, and the unbound key of older versions: expired too.
    forget_yes = next(
        b["callback_data"]
        for row in forget_question.params["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == t(KO, "common.yes")
    )
    assert texts(await alice.press_data(forget_yes)) == [t(KO, "platforms.choice_expired")]
    assert texts(await alice.press_data("f:yes")) == [t(KO, "platforms.choice_expired")]
    assert len(await app.stars.list_owned(user_id)) == 1

    # A fresh question answered with its own button still works.
    await alice.say("/retire")
    done = texts(await alice.press(t(KO, "common.yes")))
    assert done[-1] == t(KO, "rights.retire_done", name="엄마")
