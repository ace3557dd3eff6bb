"""``/meeting list|summary|export`` with the real engine do what they say (they used to ask for a recording):
the guild's archive, a meeting's summary, and its transcript as a file that is deleted once uploaded."""

from __future__ import annotations

from pathlib import Path

from bot.wiring import App
from core.domain.identity import Locale
from core.domain.meetings import MeetingScope
from core.i18n import t
from tests.adapters.discord.fakes import GUILD_ID, slash
from tests.core.meetings.fakes import MEETING_SEGMENTS, MEETING_TURNS, FakeDiarizer, FakeSTT, write_wav

EN = Locale.EN


async def _weekly(app: App, tmp_path: Path) -> str:
    app.meetings.stt_factory = lambda: FakeSTT(MEETING_SEGMENTS)
    app.meetings.diarizer_factory = lambda: FakeDiarizer(MEETING_TURNS)
    scope = MeetingScope.of_guild(str(GUILD_ID))
    meeting = await app.meetings.create_import(scope, write_wav(tmp_path / "w.wav", 25), title="weekly")
    done = await app.meetings.process(meeting, app.meetings.options())
    assert done.summary is not None
    return done.id


async def test_list_summary_and_export(http, client, make_adapter, vos_app: App, tmp_path: Path):
    meeting_id = await _weekly(vos_app, tmp_path)
    adapter = make_adapter(vos_app.engine)

    await adapter.tree._call(slash(client, "meeting list", locale="en-US"))
    listing = http.texts()[-1]
    assert "weekly" in listing and meeting_id[:8] in listing
    assert t(EN, "meetingflow.ask_file") not in " ".join(http.texts())

    await adapter.tree._call(slash(client, "meeting summary", {"meeting": meeting_id[:8]}, locale="en-US"))
    assert "We decided to launch the mobile app on Friday." in http.texts()[-1]

    await adapter.tree._call(slash(client, "meeting export", {"meeting": "weekly"}, locale="en-US"))
    uploads = [f for c in http.calls for f in c.files]
    assert uploads and uploads[-1][0] == "weekly.md"
    assert b"We decided to launch the mobile app on Friday." in uploads[-1][1]
    assert list(vos_app.outbox.root.iterdir()) == []  # the copy went once uploaded

    await adapter.tree._call(slash(client, "meeting summary", {"meeting": "nothing-like-it"}, locale="en-US"))
    assert http.texts()[-1] == t(EN, "lifetimes.meeting_not_found", ref="nothing-like-it")
