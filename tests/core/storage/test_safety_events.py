"""Safety events on SQLite and PostgreSQL: a conversation's latest care event, and the referral count that
outlives the user it was about."""

from __future__ import annotations

from datetime import timedelta

from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.storage.ids import utcnow


async def test_last_care_event_and_referrals_outlive_the_user(app: App) -> None:
    user = await local_user(app, "u1")
    await ensure_demo_star(app, user)
    star = (await app.stars.list_owned(user.id))[0]
    events = app.chat.safety_events
    assert await events.last_of(user.id, star.id, ("crisis", "safe")) is None
    await events.log(user.id, star.id, "in", "crisis", ("suicidal",))
    await events.referral()
    await events.log(user.id, star.id, "in", "block", ("otp",))
    await events.log(user.id, star.id, "in", "safe", ())
    last = await events.last_of(user.id, star.id, ("crisis", "safe", "checkin"))
    assert last is not None and last[0] == "safe" and abs(last[1] - utcnow()) < timedelta(minutes=1)
    assert await events.referral_counts() == 1
    assert await events.referral_counts(utcnow() + timedelta(minutes=1)) == 0
    await app.admin.delete_user(user.id)
    assert await events.referral_counts() == 1  # a count, with nothing that names anyone
