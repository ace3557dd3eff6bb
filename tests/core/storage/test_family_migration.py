"""Migration 0010: stars gain the names in use; voice profiles measured before it get their pace in
syllables per second (the old "words per minute" was syllable nuclei / 1.5 per minute) and a new revision."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from core.storage.migrate import upgrade_sync

_AT = "2026-01-01 00:00:00"


def test_old_profiles_get_their_pace_in_syllables_per_second(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    upgrade_sync(f"sqlite+aiosqlite:///{path}", "0006")
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, platform, platform_user_id, display_name, locale, locale_explicit, "
                "voice_replies, created_at) VALUES ('u', 'console', 'x', 'x', 'ko', 0, 0, :at)"
            ),
            {"at": _AT},
        )
        conn.execute(
            sa.text(
                "INSERT INTO stars (id, owner_id, name, relation, participant_name, notes, status, created_at) "
                "VALUES ('s', 'u', '엄마', '', '엄마', '', 'active', :at)"
            ),
            {"at": _AT},
        )
        conn.execute(
            sa.text(
                "INSERT INTO voice_profiles (id, star_id, owner_id, engine, embedding, words_per_minute, "
                "total_seconds, revision, created_at, updated_at) "
                "VALUES ('p', 's', 'u', 'e', '[1.0]', 192.0, 9.0, 3, :at, :at)"
            ),
            {"at": _AT},
        )
    upgrade_sync(f"sqlite+aiosqlite:///{path}", "0010")
    with engine.connect() as conn:
        sps, revision = conn.execute(
            sa.text("SELECT syllables_per_second, revision FROM voice_profiles")
        ).one()
        names = conn.execute(sa.text("SELECT user_address, user_name FROM stars")).one()
    engine.dispose()
    assert sps == pytest.approx(4.8) and revision == 4
    assert tuple(names) == ("", "")
