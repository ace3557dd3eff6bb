"""Voice profiles, clips and recordings on SQLite and PostgreSQL: owner checks, replacing, appending."""

from __future__ import annotations

from core.domain.identity import Locale, Platform, UserRef
from core.storage.db import Database
from core.storage.repositories import BlobRefRepository, StarRepository, UserRepository
from core.storage.voice_repository import NewVoiceClip, VoiceMeasures, VoiceRepository
from tests.core.storage.test_repositories import make_star


def _measures(total: float, f0: float = 200.0) -> VoiceMeasures:
    return VoiceMeasures(
        engine="e",
        embedding=(0.6, 0.8),
        median_f0_hz=f0,
        words_per_minute=150.0,
        gender_hint="female",
        total_seconds=total,
    )


def _clip(key: str, rec: str | None, seconds: float = 4.0) -> NewVoiceClip:
    return NewVoiceClip(blob_key=key * 64, seconds=seconds, size=100, recording_id=rec, start=1.0, end=5.0)


async def test_profiles_replace_append_and_stay_with_their_owner(db: Database) -> None:
    users, repo, refs = UserRepository(db), VoiceRepository(db), BlobRefRepository(db)
    alice = await users.get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="a"), display_name="a", locale=Locale.KO
    )
    bob = await users.get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="b"), display_name="b", locale=Locale.KO
    )
    star = await make_star(db, alice.id)
    rec = await repo.add_recording(
        owner_id=alice.id, star_id=star, blob_key="f" * 64, filename="x.ogg", duration_s=30.0, size=9
    )
    assert await repo.get_recording(alice.id, rec.id) == rec
    assert await repo.get_recording(bob.id, rec.id) is None

    first, released = await repo.replace_profile(
        owner_id=alice.id,
        star_id=star,
        measures=_measures(8.0),
        clips=[_clip("a", rec.id), _clip("b", rec.id)],
    )
    assert released == [] and first.revision == 1 and len(first.clips) == 2
    assert first.embedding == (0.6, 0.8) and first.gender_hint == "female"
    assert await repo.get_profile(alice.id, star) == first
    assert await repo.get_profile(bob.id, star) is None

    grown = await repo.append_clips(
        owner_id=alice.id, profile_id=first.id, measures=_measures(12.0, 210.0), clips=[_clip("c", None)]
    )
    assert grown is not None and grown.revision == 2 and len(grown.clips) == 3
    assert grown.median_f0_hz == 210.0 and grown.cache_id != first.cache_id
    assert (
        await repo.append_clips(owner_id=bob.id, profile_id=first.id, measures=_measures(1.0), clips=[])
        is None
    )

    second, released = await repo.replace_profile(
        owner_id=alice.id, star_id=star, measures=_measures(6.0), clips=[_clip("a", rec.id)]
    )
    assert sorted(released) == sorted(k * 64 for k in "abc") and second.revision == 3
    purposes = sorted((u.key[0], u.purpose) for u in await refs.list_for(alice.id, star))
    assert purposes == [("a", "voice_clip"), ("f", "voice_recording")]

    assert await StarRepository(db).delete_owned(star, alice.id)
    assert await repo.get_profile(alice.id, star) is None
    assert await repo.get_recording(alice.id, rec.id) is None
    assert await refs.list_for(alice.id) == []
