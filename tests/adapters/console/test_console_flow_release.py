"""Ending a dialog deletes the uploads it held, at once: "cancel" means gone, not "gone after the next GC".

Driven through the scripted console on SQLite and PostgreSQL. ``/new`` stores the KakaoTalk export and the
photo before the star exists; every way the dialog ends (``/cancel``, another command, a finished or dropped
flow, a flow kind this version no longer has, ``/forget_me``) must leave the blob store without them, unless
something else still names the same content: the star the finished dialog made, or another user's own open
``/new`` with the identical export.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.demo import DEMO_EXPORT
from bot.runner import local_user
from bot.wiring import App
from core.context import Context, FlowState
from core.domain.actions import Action, SendText
from core.domain.events import FileUploaded
from core.domain.flows import RunningFlow
from core.ports import BlobStore
from core.storage import models
from tests.support.app import ScriptedConsole
from tests.support.s3 import stored_keys

ANSWERS = ("1", "엄마", "어머니", "1", "1")  # consent, name, relation, skip notes and dates


def _photo(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 120, 60)).save(path, format="JPEG")
    return path


async def _upload_photo_and_export(app: App, console: ScriptedConsole, tmp_path: Path) -> list[str]:
    """``/new`` up to the participant question: the photo and the export are stored, only the flow names
    them. Returns their keys."""
    await console.say("/new", *ANSWERS)
    assert "사진을 저장했어요" in await console.say(f"/file {_photo(tmp_path / 'mom.jpg')}")
    assert "엄마 (" in await console.say(f"/file {DEMO_EXPORT}")
    uploads = await stored_keys(app.blobs)
    assert len(uploads) == 2
    return uploads


async def _flow_of(app: App, name: str) -> RunningFlow | None:
    return await app.engine.flow_repo.get((await local_user(app, name)).id)


def _no_blob_files(app: App) -> bool:
    return not [p for p in (app.settings.data_dir / "blobs").rglob("*") if p.is_file()]


async def test_cancel_deletes_the_upload_at_once(app: App, tmp_path: Path) -> None:
    console = ScriptedConsole(app)
    await _upload_photo_and_export(app, console, tmp_path)
    held = await app.blob_gc.collect(grace=timedelta(0))
    assert (held.deleted, held.kept_referenced) == (0, 2)  # held while the dialog runs

    assert "취소" in await console.say("/cancel")
    assert await stored_keys(app.blobs) == []  # no collector run needed
    assert _no_blob_files(app)
    assert await _flow_of(app, "local") is None


async def test_help_keeps_the_dialog_and_another_command_replaces_it(app: App, tmp_path: Path) -> None:
    console = ScriptedConsole(app)
    uploads = await _upload_photo_and_export(app, console, tmp_path)
    for keeps in ("/help", "/about", "/language"):  # asides that leave the dialog running
        await console.say(keeps)
        assert await stored_keys(app.blobs) == uploads, keeps
    flow = await _flow_of(app, "local")
    assert flow is not None and flow.step == "participant"

    await console.say("/stars")
    assert await stored_keys(app.blobs) == []
    assert await _flow_of(app, "local") is None


async def test_starting_new_again_drops_the_first_dialogs_upload(app: App, tmp_path: Path) -> None:
    console = ScriptedConsole(app)
    await _upload_photo_and_export(app, console, tmp_path)
    assert "18" in await console.say("/new")
    assert await stored_keys(app.blobs) == []


async def test_a_finished_new_keeps_the_export_and_photo_it_made_a_star_of(app: App, tmp_path: Path) -> None:
    console = ScriptedConsole(app)
    uploads = await _upload_photo_and_export(app, console, tmp_path)
    assert "별을 만들었어요" in await console.say("1")
    assert await stored_keys(app.blobs) == uploads
    user = await local_user(app, "local")
    (star,) = await app.stars.list_owned(user.id)
    exports = [u.key for u in await app.rights.blob_refs.list_for(user.id) if u.purpose == "kakao_export"]
    assert sorted([star.photo_blob, *exports]) == uploads  # type: ignore[list-item]
    assert await app.blobs.get_bytes(exports[0]) == DEMO_EXPORT.read_bytes()


async def test_forget_me_mid_new_deletes_the_upload(app: App, tmp_path: Path) -> None:
    console = ScriptedConsole(app)
    await _upload_photo_and_export(app, console, tmp_path)
    await console.say("/forget_me")  # asks first, but the /new it replaced is over
    assert await stored_keys(app.blobs) == []
    assert "모든 데이터를 삭제했어요" in await console.say("1")
    async with app.db.read() as s:
        for table in models.Base.metadata.sorted_tables:
            assert int(await s.scalar(select(func.count()).select_from(table)) or 0) == 0, table.name
    assert _no_blob_files(app)


async def test_another_users_open_new_keeps_the_identical_export(app: App, tmp_path: Path) -> None:
    alice, bob = ScriptedConsole(app, "alice"), ScriptedConsole(app, "bob")
    await alice.say("/new", *ANSWERS, "1", f"/file {DEMO_EXPORT}")  # no photo: just the export
    await bob.say("/new", *ANSWERS, "1", f"/file {DEMO_EXPORT}")
    (export,) = await stored_keys(app.blobs)

    await alice.say("/cancel")
    assert await stored_keys(app.blobs) == [export]  # bob's dialog still names the same bytes
    assert "별을 만들었어요" in await bob.say("1")

    await alice.say("/new", *ANSWERS, "1", f"/file {DEMO_EXPORT}", "/cancel")
    assert await stored_keys(app.blobs) == [export]  # now bob's star names it


async def test_a_dialog_this_version_no_longer_has_releases_its_upload(app: App) -> None:
    user = await local_user(app, "alice")
    key = await app.blobs.put_bytes(b"an upload of a dialog kind that was removed")
    await app.engine.flow_repo.save(user.id, "retired_kind", "ask", {"nested": [{"upload": key}]})
    await ScriptedConsole(app, "alice").say("안녕")
    assert await app.engine.flow_repo.get(user.id) is None
    assert not await app.blobs.exists(key)


class UploadThenDecideFlow:
    """Keeps an upload in its state, then ends without making anything of it (like declining consent)."""

    kind = "upload_then_decide"

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    async def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        yield SendText(text="send a file")

    async def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        if isinstance(ctx.event, FileUploaded):
            state.data["upload"] = await self.blobs.put_file(ctx.event.file.path)
            if state.step == "at_once":  # stored and given up in the same step: only the state names it
                state.finish()
            yield SendText(text="stored")
            return
        state.finish()
        yield SendText(text="dropped")


@pytest.mark.parametrize("step", ["later", "at_once"])
async def test_a_flow_that_finishes_without_keeping_its_upload_releases_it(
    app: App, tmp_path: Path, step: str
) -> None:
    app.engine.router.flows[UploadThenDecideFlow.kind] = UploadThenDecideFlow(app.blobs)
    user = await local_user(app, "alice")
    await app.engine.flow_repo.save(user.id, UploadThenDecideFlow.kind, step, {})
    console = ScriptedConsole(app, "alice")
    upload = tmp_path / "notes.txt"
    upload.write_text("private words")
    assert "stored" in await console.say(f"/file {upload}")
    if step == "later":
        assert len(await stored_keys(app.blobs)) == 1
        assert "dropped" in await console.say("no")
    assert await stored_keys(app.blobs) == []
    assert await app.engine.flow_repo.get(user.id) is None


async def test_a_failing_blob_store_still_ends_the_dialog(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow is over either way; what the store could not delete now is left to the collector."""
    console = ScriptedConsole(app)
    uploads = await _upload_photo_and_export(app, console, tmp_path)

    async def broken(key: str) -> None:
        raise OSError("store unreachable")

    delete = app.blobs.delete
    monkeypatch.setattr(app.blobs, "delete", broken)
    out = await console.say("/cancel")
    assert "취소했어요" in out and "참조:" not in out  # no apology: the cancel did happen
    assert await _flow_of(app, "local") is None
    monkeypatch.setattr(app.blobs, "delete", delete)
    assert await stored_keys(app.blobs) == uploads
    assert (await app.blob_gc.collect(grace=timedelta(0))).deleted == 2
