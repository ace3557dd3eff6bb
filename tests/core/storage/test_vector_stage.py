"""The vector stage of an import: batches side by side, repeated moments embedded once, order kept."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import select

from core.domain.identity import Locale, Platform, UserRef
from core.storage import memory_index
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.memory_index import MemoryIndexer, embed_text
from core.storage.models import MemoryMomentRow
from core.storage.moments import MomentLine, encode_body
from core.storage.repositories import UserRepository
from tests.core.storage.test_repositories import Msg, make_star

T0 = datetime(2022, 1, 1, 9, 0)


class CountingEmbedder:
    """A test double: a text's vector is a function of the text; records every text it embeds."""

    name = "counting"
    dim = 8

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        rng = np.random.default_rng(abs(hash(text)) % 2**32)
        v = rng.standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def query(self, text: str) -> npt.NDArray[np.float32]:
        return self._vector(text)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        with self._lock:
            self.texts.extend(texts)
            self.threads.add(threading.get_ident())
        return np.stack([self._vector(t) for t in texts])


async def test_each_moment_gets_its_own_texts_vector_and_repeats_are_embedded_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_index, "EMBED_BATCH", 4)
    embedder = CountingEmbedder()
    memory = MemoryStore(db, embedder=embedder)
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="vec"), display_name="민지", locale=Locale.KO
    )
    star_id = await make_star(db, user.id)
    said = ["응 알았어", "초코 병원 다녀왔어", "응 알았어", "김치찌개 끓였어", "응 알았어"] * 5
    said += [f"{i}번째 이야기 " + "가" * 200 for i in range(10)]  # long moments, cut
    msgs = [Msg(T0 + timedelta(days=i), "민지", text) for i, text in enumerate(said)]
    async with db.write() as s:
        await memory.import_messages(s, star_id, msgs, "엄마")
    seen: list[float] = []
    report = await MemoryIndexer(memory).index_star(star_id, progress=lambda f, _t: seen.append(f))
    assert report.embedded == len(said) and seen[-1] == 1.0
    assert sorted(embedder.texts) == sorted(set(embedder.texts))  # no text embedded twice
    assert len(embedder.texts) == 3 + 10
    assert all(len(t) <= memory_index.VECTOR_CHARS for t in embedder.texts)
    rows = await db.run(lambda c: c.execute(select(MemoryMomentRow.body, MemoryMomentRow.vector)).all())
    assert len(rows) == len(said)
    for body, blob in rows:
        assert blob is not None
        vector = np.frombuffer(blob, dtype=np.float32)
        assert np.allclose(vector, embedder._vector(embed_text(body)))


def test_the_embedded_text_is_the_moments_words_without_names() -> None:
    body = encode_body(
        [
            MomentLine(author="민지", is_star=False, text="엄마 뭐해"),
            MomentLine(author="엄마", is_star=True, text="티비"),
        ]
    )
    assert embed_text(body) == "엄마 뭐해 / 티비"
