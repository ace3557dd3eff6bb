"""``/forget_me`` after everything a user can leave behind: a star from an export, chat turns, ``/export``,
``/meeting`` (transcript, summary, exported files), an abandoned ``/voice`` (its recording and decoded audio)
and an upload whose process was killed mid-write. Afterwards no file under the data directory holds a byte
of a unique marker that was in all of it: the database, its WAL, the blob store, the outbox and the caches.
Also: an abandoned dialog expires on its own and releases what it held."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.demo import DEMO_EXPORT
from bot.jobs import housekeeping
from bot.runner import local_user
from bot.wiring import App, running_app
from core.domain.identity import Locale
from core.storage.blobs import INCOMING_PREFIX
from core.storage.ids import utcnow
from tests.core.flows.test_voice_setup import _flow
from tests.core.flows.voice_fakes import TWO_VOICES, fake_engines, write_recording
from tests.core.meetings.fakes import FakeDiarizer, FakeSTT, segment, write_wav
from tests.support.app import ScriptedConsole, make_settings, saved_path
from tests.support.crash import age, crash_while_writing


@pytest.fixture
async def vos_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    """The offline app with limits that a scripted session of many steps does not hit."""
    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path, limits={"messages_per_minute": 600, "jobs_per_hour": 600})
    async with running_app(settings, use_settings_model=False) as app:
        yield app


ANSWERS = ("1", "엄마", "어머니", "1", "1", "1")  # consent, name, relation, no notes, no dates, no photo


def _export_with(marker: str, path: Path) -> Path:
    text = DEMO_EXPORT.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(text + f"\n[엄마] [오후 8:09] {marker} 꼭 챙겨 먹어\n", encoding="utf-8")
    return path


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _crashed_upload(directory: Path, payload: bytes) -> None:
    """A process that stores an upload and is killed (SIGKILL) before it finishes, a while ago (younger
    temporary files may still be in use)."""
    crash_while_writing(directory, payload)
    for path in directory.glob(INCOMING_PREFIX + "*"):
        age(path, 120)


async def test_forget_me_leaves_no_byte_of_the_user_in_the_data_dir(vos_app: App, tmp_path: Path) -> None:
    # Rare syllables too: the full-text index keeps trigrams (3 syllables, 9 bytes), not whole words.
    marker = f"ZQXMARK{uuid.uuid4().hex[:12]}뷁퓛훑쀍"
    needle = marker.encode()
    trigrams = [marker[-4:-1].encode(), marker[-3:].encode()]
    data = vos_app.settings.data_dir
    console = ScriptedConsole(vos_app)

    # a star from an export that carries the marker, and a chat about it
    out = await console.say("/new", *ANSWERS, f"/file {_export_with(marker, tmp_path / 'talk.txt')}", "1")
    assert "별을 만들었어요" in out
    await console.say(f"{marker} 기억나?")
    out = await console.say("/export")
    zip_path = saved_path(out)
    assert zip_path.is_file() and vos_app.outbox.owns(zip_path)

    # a meeting whose transcript and title carry the marker, exported twice
    vos_app.meetings.stt_factory = lambda: FakeSTT(
        [segment(0.0, 4.0, f"The code word is {marker} for the launch."), segment(4.5, 9.0, "Agreed.")]
    )
    vos_app.meetings.diarizer_factory = lambda: FakeDiarizer([(0.0, 4.2, "A"), (4.3, 9.0, "B")])
    meeting_console = ScriptedConsole(vos_app, locale=Locale.EN)
    out = await meeting_console.say("/meeting", f"/file {write_wav(tmp_path / f'{marker}.wav', 10)}")
    assert "is ready" in out, out
    out = await meeting_console.say("/meeting export")
    assert ".md saved" in out
    assert "/meeting list" not in out and marker in (await meeting_console.say("/meeting list"))

    # an abandoned /voice: consent, a recording (the marker in its trailing bytes), left at "how many?"
    _flow(vos_app).engines = fake_engines()
    recording = write_recording(tmp_path / "family.ogg", TWO_VOICES)
    with recording.open("ab") as fh:
        fh.write(needle * 4)
    await console.say("/voice", "1")
    assert "몇 명" in await console.say(f"/voice {recording}")
    assert list((data / "voice_cache").rglob("*.npy"))  # the decoded recording waits between steps

    # an upload killed mid-write
    _crashed_upload(data / "blobs", f"{marker} from a crashed upload".encode())

    assert _files_holding(data, needle)  # the marker is on disk in many places before
    out = await console.say("/forget_me", "1")
    assert "모든 데이터를 삭제했어요" in out
    assert _files_holding(data, needle) == []
    assert [_files_holding(data, piece) for piece in trigrams] == [[], []]
    assert not [p for p in (data / "voice_cache").rglob("*") if p.is_file()]
    assert not list(vos_app.outbox.root.iterdir())
    assert not [p for p in (data / "blobs").rglob("*") if p.is_file()]
    wal = data / "vos.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


async def test_an_abandoned_new_expires_and_releases_its_upload(vos_app: App, tmp_path: Path) -> None:
    marker = f"ZQXMARK{uuid.uuid4().hex[:12]}"
    console = ScriptedConsole(vos_app)
    out = await console.say("/new", *ANSWERS, f"/file {_export_with(marker, tmp_path / 'talk.txt')}")
    assert "엄마 (" in out  # the export is stored; the dialog waits for the participant
    user = await local_user(vos_app, "local")
    assert await vos_app.engine.flow_repo.get(user.id) is not None
    assert _files_holding(vos_app.settings.data_dir / "blobs", marker.encode())

    early = await housekeeping(vos_app, now=utcnow() + timedelta(hours=23))
    assert early.flows_expired == 0 and await vos_app.engine.flow_repo.get(user.id) is not None
    late = await housekeeping(vos_app, now=utcnow() + timedelta(hours=25))  # the default 24 h
    assert late.flows_expired == 1
    assert await vos_app.engine.flow_repo.get(user.id) is None
    assert _files_holding(vos_app.settings.data_dir / "blobs", marker.encode()) == []
    assert "별을 만들었어요" not in await console.say("1")  # the dialog is over: "1" is just a message


async def test_an_abandoned_voice_setup_expires_and_drops_its_decoded_audio(
    vos_app: App, tmp_path: Path
) -> None:
    console = ScriptedConsole(vos_app)
    await console.say("/new", *ANSWERS, f"/file {DEMO_EXPORT}", "1")
    _flow(vos_app).engines = fake_engines()
    await console.say("/voice", "1")
    assert "몇 명" in await console.say(f"/voice {write_recording(tmp_path / 'r.ogg', TWO_VOICES)}")
    cache = vos_app.settings.data_dir / "voice_cache"
    assert list(cache.rglob("*.npy"))
    user = await local_user(vos_app, "local")

    async def recordings() -> list[str]:
        return [
            u.key for u in await vos_app.rights.blob_refs.list_for(user.id) if u.purpose == "voice_recording"
        ]

    (recording,) = await recordings()
    assert (await housekeeping(vos_app, now=utcnow() + timedelta(hours=25))).flows_expired == 1
    assert list(cache.rglob("*.npy")) == []
    assert await recordings() == [] and not await vos_app.blobs.exists(recording)
    assert await vos_app.stars.list_owned(user.id)  # the star itself stays


async def test_a_delivered_export_is_gone_and_forget_deletes_an_undelivered_one(vos_app: App) -> None:
    console = ScriptedConsole(vos_app)
    await console.say("/new", *ANSWERS, f"/file {DEMO_EXPORT}", "1")
    out = await console.say("/export")
    zip_path = saved_path(out)
    assert zip_path.is_file()  # the console only shows the path: kept until the TTL
    assert (await housekeeping(vos_app, now=utcnow() + timedelta(minutes=59))).outbox_files == 0
    assert zip_path.is_file()
    await console.say("/forget", "1")
    assert not zip_path.exists()
