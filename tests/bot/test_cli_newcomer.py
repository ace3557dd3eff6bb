"""What a new user met in the CLI: `vos chat STAR` by name when the demo "엄마" and their own 엄마 both exist,
and `vos meeting import` progress written into a log."""

from __future__ import annotations

import pytest

from bot.demo import DEMO_EXPORT, DEMO_PARTICIPANT
from bot.meetings import cli_progress
from bot.runner import ensure_demo_star, find_star, import_star, local_user
from bot.wiring import App
from core.domain.stars import NewStar


async def _own_star(app: App, owner_id: str, relation: str) -> str:
    new = NewStar(owner_id=owner_id, name="엄마", relation=relation, participant=DEMO_PARTICIPANT, notes="")
    result = await import_star(app, new, DEMO_EXPORT, consent_text="test", activate=False)
    return result.star.id


async def test_the_users_own_star_wins_over_the_demo_of_the_same_name(vos_app: App) -> None:
    user = await local_user(vos_app, "local")
    await ensure_demo_star(vos_app, user)
    own = await _own_star(vos_app, user.id, "어머니")
    found = await find_star(vos_app, user, "엄마")  # the demo is still the active star
    assert not isinstance(found, str) and found.id == own

    await vos_app.users.set_active_star(user.id, None)
    other = await _own_star(vos_app, user.id, "새어머니")
    found = await find_star(vos_app, user, "엄마")  # two of the user's own: ask, naming the ids
    assert isinstance(found, str) and own in found and other in found
    await vos_app.users.set_active_star(user.id, other)
    found = await find_star(vos_app, user, "엄마")  # the one in use
    assert not isinstance(found, str) and found.id == other
    found = await find_star(vos_app, user, own)
    assert not isinstance(found, str) and found.id == own
    assert "no star" in str(await find_star(vos_app, user, "아빠"))


def test_meeting_progress_into_a_pipe_is_one_line_per_step(capsys: pytest.CaptureFixture[str]) -> None:
    """`vos meeting import ... 2> log`: steps do not run together on one line as they do on a terminal."""
    cli_progress(0.3, "transcribe")
    cli_progress(1.0, "done")
    assert capsys.readouterr().err.splitlines() == ["transcribe    30.0%", "done         100.0%"]
