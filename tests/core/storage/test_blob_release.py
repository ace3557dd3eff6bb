"""Deleting one use of shared content never deletes what another use still needs; ``/forget_me`` leaves nothing.

The blob store is content-addressed: the same audio uploaded as a star's voice recording and as a meeting is
one blob. Every deletion path asks the full reference check (``release_blobs``). A whole app on SQLite and
PostgreSQL, driven through its services and the scripted console.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.demo import DEMO_EXPORT
from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.blob_release import release_blobs
from core.domain.identity import User
from core.domain.meetings import Meeting, MeetingScope, MeetingSource
from core.domain.stars import Star
from core.meetings.retention import purge_expired_audio
from core.storage import models
from core.storage.blob_references import BlobReferenceRepository
from core.storage.ids import new_id, utcnow
from core.storage.models import JobRow
from core.storage.repositories import FlowRepository
from core.storage.voice_repository import VoiceRepository
from core.voice.profiles import VoiceProfileService
from tests.core.meetings.fakes import write_wav
from tests.support.app import ScriptedConsole
from tests.support.s3 import stored_keys

ROOT = Path(__file__).resolve().parents[3]


async def _star(app: App, name: str) -> tuple[User, Star]:
    user = await local_user(app, name)
    await ensure_demo_star(app, user)
    stars = await app.stars.list_owned(user.id)
    return user, stars[0]


async def _voice_recording(app: App, user: User, star: Star, audio: Path) -> str:
    """``/voice``: the recording is kept as a blob named by ``voice_recordings`` (and ``blob_refs``)."""
    profiles = VoiceProfileService(VoiceRepository(app.db), BlobReferenceRepository(app.db), app.blobs)
    recording = await profiles.store_recording(user.id, star.id, audio, audio.name, duration_s=3.0)
    return recording.blob_key


async def _meeting(app: App, user: User, audio: Path, *, days_old: int = 0) -> Meeting:
    """``/meeting``: the same file imported as a finished meeting (its audio named only by ``meetings``)."""
    key = await app.blobs.put_file(audio)
    meeting = await app.meetings.repo.create(
        MeetingScope.of_user(user.id),
        title="weekly",
        source=MeetingSource.MIXED,
        audio_blob=key,
        now=utcnow() - timedelta(days=days_old),
    )
    await app.meetings.repo.finish(meeting.id, {"abstract": ""})
    return meeting


async def _queued_job(app: App, user: User, key: str) -> None:
    async with app.db.write() as s:
        s.add(
            JobRow(
                id=new_id(),
                kind="synthesis",
                owner_id=user.id,
                status="queued",
                payload={"blob_key": key},
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )


async def _purge(app: App) -> list[str]:
    return await purge_expired_audio(
        app.meetings.repo,
        app.blobs,
        references=app.meetings.references,
        retention_days=30,
    )


async def _stored(app: App) -> list[str]:
    return sorted(await stored_keys(app.blobs))


async def test_deleting_a_meeting_keeps_the_voice_recording_of_the_same_file(
    app: App, tmp_path: Path
) -> None:
    user, star = await _star(app, "alice")
    audio = write_wav(tmp_path / "mom.wav", 3)
    key = await _voice_recording(app, user, star, audio)
    meeting = await _meeting(app, user, audio)
    assert meeting.audio_blob == key  # one blob, two uses

    assert await app.meetings.delete(MeetingScope.of_user(user.id), meeting.id)
    assert await app.blobs.get_bytes(key) == audio.read_bytes()


async def test_retention_keeps_the_voice_recording_of_the_same_file(app: App, tmp_path: Path) -> None:
    user, star = await _star(app, "alice")
    audio = write_wav(tmp_path / "mom.wav", 3)
    key = await _voice_recording(app, user, star, audio)
    meeting = await _meeting(app, user, audio, days_old=40)

    assert await _purge(app) == [meeting.id]
    kept = await app.meetings.get(MeetingScope.of_user(user.id), meeting.id)
    assert kept is not None and kept.audio_blob is None  # the meeting let go of it ...
    assert await app.blobs.get_bytes(key) == audio.read_bytes()  # ... the voice recording did not


async def test_meeting_deletion_and_retention_keep_what_unfinished_work_still_needs(
    app: App, tmp_path: Path
) -> None:
    user = await local_user(app, "alice")
    held_by_job = await _meeting(app, user, write_wav(tmp_path / "a.wav", 2, seed=1), days_old=40)
    held_by_flow = await _meeting(app, user, write_wav(tmp_path / "b.wav", 2, seed=2))
    assert held_by_job.audio_blob and held_by_flow.audio_blob
    await _queued_job(app, user, held_by_job.audio_blob)
    bob = await local_user(app, "bob")  # another user's unfinished dialog holds the same upload
    await FlowRepository(app.db).save(bob.id, "voice_setup", "speaker", {"upload": held_by_flow.audio_blob})

    assert await _purge(app) == [held_by_job.id]
    assert await app.meetings.delete(MeetingScope.of_user(user.id), held_by_flow.id)
    assert await app.blobs.exists(held_by_job.audio_blob)
    assert await app.blobs.exists(held_by_flow.audio_blob)


async def test_forgetting_the_star_keeps_the_meeting_audio_of_the_same_file(app: App, tmp_path: Path) -> None:
    user, star = await _star(app, "alice")
    audio = write_wav(tmp_path / "mom.wav", 3)
    key = await _voice_recording(app, user, star, audio)
    meeting = await _meeting(app, user, audio)
    export = [u.key for u in await app.rights.blob_refs.list_for(user.id) if u.purpose == "kakao_export"]

    assert await app.rights.forget_star(user.id, star.id)
    assert await app.stars.list_owned(user.id) == []
    assert not await app.blobs.exists(export[0])  # the star's own export goes ...
    assert await app.blobs.get_bytes(key) == audio.read_bytes()  # ... the meeting's audio stays
    kept = await app.meetings.get(MeetingScope.of_user(user.id), meeting.id)
    assert kept is not None and kept.audio_blob == key


async def test_forget_me_keeps_another_users_identical_export(app: App) -> None:
    alice, _ = await _star(app, "alice")
    bob, bobs_star = await _star(app, "bob")
    export = [u.key for u in await app.rights.blob_refs.list_for(bob.id) if u.purpose == "kakao_export"]
    assert len(export) == 1

    out = await ScriptedConsole(app, "alice").say("/forget_me", "1")
    assert "모든 데이터를 삭제했어요" in out
    assert await app.stars.list_owned(alice.id) == []
    assert await app.blobs.get_bytes(export[0]) == DEMO_EXPORT.read_bytes()
    reply = await ScriptedConsole(app, "bob").say("김치찌개 생각난다")
    assert "★> " in reply  # bob's star still speaks from the export
    assert [s.id for s in await app.stars.list_owned(bob.id)] == [bobs_star.id]


async def test_forget_me_keeps_an_export_another_user_is_still_uploading(app: App) -> None:
    await _star(app, "alice")
    bob = ScriptedConsole(app, "bob")
    await bob.say("/new", "1", "엄마", "어머니", "3", "1960-03-02 2023-01-05", "1", f"/file {DEMO_EXPORT}")

    await ScriptedConsole(app, "alice").say("/forget_me", "1")
    out = await bob.say("1")  # bob picks the participant: his upload must still be there
    assert "별을 만들었어요" in out


async def test_forget_me_leaves_an_empty_store_when_nothing_else_uses_the_users_blobs(
    app: App, tmp_path: Path
) -> None:
    user, star = await _star(app, "alice")
    audio = write_wav(tmp_path / "mom.wav", 3)
    await _voice_recording(app, user, star, audio)
    await _meeting(app, user, audio)  # the same file, both uses hers
    await _meeting(app, user, write_wav(tmp_path / "other.wav", 2, seed=3))
    await _queued_job(app, user, await app.blobs.put_bytes(b"audio a job of hers was about to read"))
    assert len(await _stored(app)) == 4

    out = await ScriptedConsole(app, "alice").say("/forget_me", "1")
    assert "모든 데이터를 삭제했어요" in out
    async with app.db.read() as s:
        for table in models.Base.metadata.sorted_tables:
            assert int(await s.scalar(select(func.count()).select_from(table)) or 0) == 0, table.name
    assert await _stored(app) == []


async def test_deleting_a_user_mid_dialog_deletes_the_upload_the_dialog_held(
    app: App, tmp_path: Path
) -> None:
    """``vos admin user ID --delete`` runs while the user may be inside ``/new`` with an uploaded export."""
    await _star(app, "bob")  # bob's star uses the demo export: that blob must stay
    own_export = tmp_path / "export.txt"
    own_export.write_bytes(DEMO_EXPORT.read_bytes() + b"\n")  # alice's own, different bytes
    console = ScriptedConsole(app, "alice")
    await console.say("/new", "1", "엄마", "어머니", "3", "1960-03-02 2023-01-05", "1", f"/file {own_export}")
    alice = await local_user(app, "alice")
    flow = await FlowRepository(app.db).get(alice.id)
    assert flow is not None and "export_blob" in flow.data
    assert len(await _stored(app)) == 2

    assert await app.admin.delete_user(alice.id) is not None
    assert await _stored(app) == [await app.blobs.put_file(DEMO_EXPORT)]


async def test_release_blobs_deletes_only_what_nothing_names(app: App) -> None:
    user, _ = await _star(app, "alice")
    named = [u.key for u in await app.rights.blob_refs.list_for(user.id)]
    orphan = await app.blobs.put_bytes(b"nobody names this")
    references = BlobReferenceRepository(app.db)
    assert await references.unreferenced([*named, orphan]) == {orphan}
    assert await release_blobs(references, app.blobs, [*named, orphan, orphan]) == {orphan}
    assert not await app.blobs.exists(orphan)
    assert all([await app.blobs.exists(k) for k in named])
    assert await release_blobs(references, app.blobs, []) == set()


def _blob_store_deletes(path: Path) -> list[int]:
    """Lines calling ``<something>blobs.delete(...)`` (a blob store's delete) in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "delete"
        and ast.unparse(node.func.value).endswith("blobs")
    ]


def test_only_the_shared_release_and_the_collector_delete_from_the_blob_store() -> None:
    """A new deletion path must go through ``release_blobs`` (the full reference check), not call delete."""
    allowed = {"core/blob_release.py", "core/storage/blob_gc.py"}
    found = {
        str(path.relative_to(ROOT)): lines
        for package in ("core", "adapters", "bot")
        for path in sorted((ROOT / package).rglob("*.py"))
        if (lines := _blob_store_deletes(path))
    }
    assert set(found) == allowed, found
