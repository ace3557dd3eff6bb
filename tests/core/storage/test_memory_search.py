"""Memory by meaning: moments, hybrid search, conversation memory and isolation, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import zipfile
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, update

from bot.wiring import App
from core.backends.openai_embedder import OpenAIEmbedder, OpenAIEmbedderError, OpenAIEmbedderOptions
from core.domain.identity import Locale, Platform, UserRef
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.memory_hubs import REFERENCE_ROWS
from core.storage.memory_index import MemoryIndexer
from core.storage.models import MemoryMomentRow
from core.storage.moments import MomentCutter, exchanges
from core.storage.repositories import UserRepository
from core.storage.star_messages import StoredMessage
from core.storage.vectors import VECTOR_CHARS, VectorCache
from core.text.morphemes import shared_analyzer
from tests.core.storage.test_repositories import Msg, make_star
from tests.support.app import app  # noqa: F401
from tests.support.openai_server import OpenAIServer

T0 = datetime(2023, 3, 4, 9, 0)


def stored(i: int, minutes: float, author: str, text: str) -> StoredMessage:
    return StoredMessage(
        seq=i,
        sent_at=T0 + timedelta(minutes=minutes),
        author=author,
        is_star=author == "엄마",
        kind="text",
        text=text,
    )


def test_moments_are_cut_by_time_gaps_and_keep_their_own_date() -> None:
    msgs = [
        stored(0, 0, "민지", "엄마 뭐해"),
        stored(1, 1, "엄마", "티비 봐"),
        stored(2, 2, "민지", "사진"),
        stored(3, 300, "민지", "초코 병원 다녀왔어"),  # five hours later: another moment
        stored(4, 302, "엄마", "수술 잘 됐대?"),
    ]
    cutter = MomentCutter()
    moments = [*cutter.feed(msgs), *cutter.finish()]
    assert [m.started_at for m in moments] == [T0, T0 + timedelta(minutes=300)]
    assert moments[1].text == "민지: 초코 병원 다녀왔어\n엄마: 수술 잘 됐대?"
    assert exchanges(moments[0].lines)[0][1][0].text == "티비 봐"


def test_a_long_chat_is_cut_where_a_new_exchange_starts() -> None:
    msgs = [stored(i, i, "민지" if i % 2 == 0 else "엄마", f"말 {i}") for i in range(40)]
    cutter = MomentCutter()
    moments = [*cutter.feed(msgs), *cutter.finish()]
    assert len(moments) > 3 and all(len(m.lines) <= 16 for m in moments)
    assert all(not m.lines[0].is_star for m in moments)  # each starts with the other person speaking


def test_morphemes_come_from_kiwipiepy() -> None:
    tokens = shared_analyzer().tokens("강아지가 수술했던 날 기억나?")
    assert "강아지" in tokens and "수술" in tokens and "했던" not in tokens


async def _indexed_star(db: Database, memory: MemoryStore, owner: str, lines: list[tuple[str, str]]) -> str:
    users = UserRepository(db)
    user = await users.get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id=owner), display_name=owner, locale=Locale.KO
    )
    star_id = await make_star(db, user.id)
    msgs = [Msg(T0 + timedelta(days=i), who, text) for i, (who, text) in enumerate(lines)]
    async with db.write() as s:
        await memory.import_messages(s, star_id, msgs, "엄마")
    await MemoryIndexer(memory).index_star(star_id)
    return star_id


async def test_no_moment_of_another_star_comes_back(db: Database) -> None:
    memory = MemoryStore(db)
    mine = await _indexed_star(
        db, memory, "a", [("민지", "제주도 여행 가자"), ("엄마", "흑돼지 먹으러 가자")]
    )
    theirs = await _indexed_star(
        db, memory, "b", [("민수", "제주도 비행기표 샀어"), ("엄마", "조심히 다녀와")]
    )
    found = await memory.search(mine, "제주도")
    assert found and all("민수" not in m.text for m in found)
    assert [m.source for m in found] == ["export"] and found[0].time == T0
    assert "민수" in (await memory.search(theirs, "제주도"))[0].text


async def test_the_openai_embedder_is_normalized_and_reports_failures() -> None:
    with OpenAIServer(embedding_dim=32) as server:
        embedder = OpenAIEmbedder(
            OpenAIEmbedderOptions(model="bge-m3", base_url=server.base_url, max_retries=0)
        )
        vectors = embedder.passages(["김치찌개 끓여줄게", "우산 챙겨"])
        assert vectors.shape == (2, 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
        assert embedder.name == "openai:bge-m3" and embedder.dim == 32
        assert server.requests[-1].path == "/v1/embeddings" and server.requests[-1].body["model"] == "bge-m3"
        server.embedding_failures = 1
        with pytest.raises(OpenAIEmbedderError):
            embedder.query("밥")
        assert embedder.query("밥").shape == (32,)
        embedder.close()


async def test_vectors_are_built_at_import_and_rebuilt_when_the_embedder_changes(db: Database) -> None:
    with OpenAIServer(embedding_dim=32) as server:
        options = OpenAIEmbedderOptions(model="m1", base_url=server.base_url, max_retries=0)
        memory = MemoryStore(db, embedder=OpenAIEmbedder(options))
        lines = [("민지", "초코 산책 다녀왔어"), ("엄마", "비 오는데 우산 챙겼니"), ("민지", "회사 발표 끝")]
        star_id = await _indexed_star(db, memory, "v", lines)
        found = await memory.search(star_id, "초코랑 산책")
        assert found[0].similarity > 0 and "초코" in found[0].text
        other = MemoryStore(
            db, embedder=OpenAIEmbedder(OpenAIEmbedderOptions(model="m2", base_url=server.base_url))
        )
        seen: list[float] = []
        report = await MemoryIndexer(other).index_star(star_id, progress=lambda f, _t: seen.append(f))
        assert report.moments == 0 and report.embedded == 3 and seen[-1] == 1.0
        assert (await MemoryIndexer(other).index_star(star_id)).embedded == 0  # nothing left to do


async def test_vectors_of_an_older_scheme_are_rebuilt_and_searched(db: Database) -> None:
    with OpenAIServer(embedding_dim=32) as server:
        options = OpenAIEmbedderOptions(model="m1", base_url=server.base_url, max_retries=0)
        memory = MemoryStore(db, embedder=OpenAIEmbedder(options))
        assert memory.embedder_name == f"openai:m1@c{VECTOR_CHARS}"
        lines = [("민지", "초코 산책 다녀왔어"), ("엄마", "비 오는데 우산 챙겼니"), ("민지", "회사 발표 끝")]
        star_id = await _indexed_star(db, memory, "s", lines)
        # As a star imported before the scheme was stored: the embedder's bare name, other vectors.
        old = np.ones(32, dtype=np.float32).tobytes()
        await db.run(
            lambda conn: conn.execute(
                update(MemoryMomentRow)
                .where(MemoryMomentRow.star_id == star_id)
                .values(embedder="openai:m1", vector=old)
            ),
            write=True,
        )
        fresh = MemoryStore(db, embedder=OpenAIEmbedder(options))
        assert all(r.similarity == 0 for r in await fresh.search(star_id, "초코랑 산책"))  # not used
        report = await MemoryIndexer(fresh).index_star(star_id)
        assert report.moments == 0 and report.embedded == 3
        stored = await db.run(
            lambda conn: conn.execute(
                select(MemoryMomentRow.embedder, MemoryMomentRow.vector).where(
                    MemoryMomentRow.star_id == star_id
                )
            ).all()
        )
        assert {e for e, _ in stored} == {fresh.embedder_name} and all(v != old for _, v in stored)
        found = await MemoryStore(db, embedder=OpenAIEmbedder(options)).search(star_id, "초코랑 산책")
        assert found[0].similarity > 0 and "초코" in found[0].text
        assert (await MemoryIndexer(fresh).index_star(star_id)).embedded == 0


async def test_vectors_are_ranked_off_the_event_loop(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's hops already run in a worker thread")
    threads: list[int] = []
    ranked = VectorCache.ranked

    def spy(self: VectorCache, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return ranked(self, *args, **kwargs)

    monkeypatch.setattr(VectorCache, "ranked", spy)
    with OpenAIServer(embedding_dim=32) as server:
        options = OpenAIEmbedderOptions(model="m1", base_url=server.base_url, max_retries=0)
        memory = MemoryStore(db, embedder=OpenAIEmbedder(options))
        lines = [("민지", "초코 산책 다녀왔어"), ("엄마", "비 오는데 우산 챙겼니"), ("민지", "회사 발표 끝")]
        star_id = await _indexed_star(db, memory, "t", lines)
        for _ in range(2):  # a cold star, then a warm one
            found = await memory.search(star_id, "초코랑 산책")
            assert found[0].similarity > 0 and "초코" in found[0].text
    assert threads and threading.get_ident() not in threads


async def test_a_fact_told_thirty_turns_earlier_is_found_by_other_words(app: App) -> None:  # noqa: F811
    user = await app.users.get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="u"), display_name="민지", locale=Locale.KO
    )
    other = await app.users.get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="w"), display_name="민수", locale=Locale.KO
    )
    from bot.demo import DEMO_EXPORT
    from core.personas.stars import NewStar

    key = await app.blobs.put_file(DEMO_EXPORT)
    star = (
        await app.star_service.create(
            NewStar(owner_id=user.id, name="엄마", relation="어머니", participant="엄마"),
            key,
            consent_text="ok",
        )
    ).star
    filler = [
        "오늘 회사에서 발표했어",
        "주말에 친구들이랑 영화 봤어",
        "요즘 잠을 잘 못 자",
        "점심으로 국수 먹었어",
    ]
    await app.chat.turn(user, star, "나 다음 달에 결혼해 엄마", Locale.KO)
    for i in range(29):
        await app.chat.turn(user, star, filler[i % len(filler)], Locale.KO)
    found = await app.memory.search(star.id, "내 결혼식이 언제라고 했었지?", user_id=user.id, limit=5)
    told = [m for m in found if m.source == "conversation" and "결혼해" in m.text]
    assert told and told[0].text.startswith("민지: 나 다음 달에 결혼해 엄마")
    # No word in common: found by meaning alone (the question's morphemes are nowhere in that moment).
    other_words = await app.memory.prepare("웨딩 날짜 언제라고 했었지?")
    assert not set(other_words.tokens) & set(app.memory.analyzer.tokens("나 다음 달에 결혼해 엄마"))
    found = await app.memory.search(star.id, other_words, user_id=user.id, limit=5)
    assert any(m.source == "conversation" and "결혼해" in m.text for m in found)
    theirs = await app.memory.search(star.id, other_words, user_id=other.id, limit=50)
    assert not any("결혼해" in m.text for m in theirs) and all(m.source == "export" for m in theirs)
    # Another user of the same star never sees it; /forget_me takes it away.
    assert not any("결혼해" in m.text for m in await app.memory.search(star.id, "결혼", user_id=other.id))
    assert any("결혼해" in m.text for m in await app.memory.search(star.id, "결혼", user_id=user.id))
    exported = await app.rights.export_star(user.id, star)
    with zipfile.ZipFile(exported) as zf:
        kept = json.loads(zf.read("conversation_memory.json"))
    assert len(kept) == 30 and kept[0]["text"].startswith("민지: 나 다음 달에 결혼해")
    await app.rights.forget_user(user.id)
    assert await app.memory.conversation_memories(user.id, star.id) == []


async def test_sad_news_gets_no_laughter_back(app: App) -> None:  # noqa: F811
    from core.personas.offline_chat import reply_candidates
    from core.storage.memory import MemoryQuery, Recollection
    from core.storage.moments import MomentLine

    def moment(said: str, answer: str) -> Recollection:
        lines = (
            MomentLine(author="민지", is_star=False, text=said),
            MomentLine(author="엄마", is_star=True, text=answer),
        )
        return Recollection(moment_id=1, source="export", time=T0, lines=lines, score=1.0, similarity=0.95)

    query = MemoryQuery(text="우리 초코가 아파서 병원에 입원했어", tokens=("초코", "병원"))
    candidates = reply_candidates(
        [moment("초코 병원 다녀왔어", "ㅋㅋㅋ"), moment("초코 병원 갔어", "괜찮대? ㅎㅎ")], query
    )
    bubbles = [b for c in candidates for b in c.star_reply]
    assert bubbles == ["괜찮대?"]


def test_style_examples_spread_over_lengths_and_topics() -> None:
    from core.personas.style.examples import varied_examples

    texts = (
        ["밥은?"] * 50
        + ["밥 먹었어?"] * 40
        + ["비 온대 우산 챙겨~~", "사진", "오늘 병원 다녀왔는데 의사 선생님이 괜찮대 걱정 마"]
    )
    examples = varied_examples([*texts, "잘 자 우리 딸", "주말에 김치찌개 해줄게 ㅎㅎ"], count=5)
    assert "사진" not in examples and len(examples) == 5
    assert sum("밥" in e for e in examples) == 1  # one example per topic word, however frequent
    assert len({len(e) // 10 for e in examples}) >= 3


async def test_the_offline_star_never_laughs_at_sad_news(app: App) -> None:  # noqa: F811
    from bot.demo import DEMO_EXPORT
    from core.personas.stars import NewStar
    from core.text.mood import laughs

    user = await app.users.get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="s"), display_name="민지", locale=Locale.KO
    )
    new = NewStar(owner_id=user.id, name="엄마", relation="어머니", participant="엄마")
    star = (await app.star_service.create(new, await app.blobs.put_file(DEMO_EXPORT), consent_text="ok")).star
    sad = [
        "엄마 나 오늘 회사에서 혼나서 너무 속상해 ㅠㅠ",
        "우리 강아지가 아파서 병원에 입원했어",
        "엄마 보고 싶어",
    ]
    for text in sad:
        reply = await app.chat.turn(user, star, text, Locale.KO)
        assert reply.bubbles and not any(laughs(b) for b in reply.bubbles), (text, reply.bubbles)


def test_a_large_vector_entry_is_scanned_on_its_sketch_and_reranked_exactly() -> None:
    from core.storage import vectors as v

    rng = np.random.default_rng(3)
    cache = v.VectorCache()
    key: v.Key = ("star", None, "e")
    entry = cache._entry(key)
    rows = v.SKETCH_FROM + 5000
    base = rng.standard_normal((rows, 128)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    entry.append(np.arange(1, rows + 1, dtype=np.int64), base)
    cache.consolidate(key)
    assert all(
        s is not None for s, b in zip(entry.sketches, entry.blocks, strict=True) if len(b) == v.BLOCK_ROWS
    )
    query = base[12345] + 0.05 * rng.standard_normal(128).astype(np.float32)
    query /= np.linalg.norm(query)
    exact = np.argsort(-(base @ query))[:5] + 1
    found = [moment_id for moment_id, _ in cache.nearest(key, query, 5)]
    assert found[0] == 12346 and len(set(found) & set(exact.tolist())) >= 4


def test_what_every_moment_shares_does_not_outrank_a_specific_memory() -> None:
    from core.storage import vectors as v

    rng = np.random.default_rng(5)
    axis, topic = np.eye(64, dtype=np.float32)[0], np.eye(64, dtype=np.float32)[1]
    small_talk = axis + 0.05 * rng.standard_normal((300, 64)).astype(np.float32)
    memory = (0.6 * axis + topic)[None, :]
    rows = np.vstack([small_talk, memory])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    cache = v.VectorCache()
    key: v.Key = ("star", None, "e")
    cache._entry(key).append(np.arange(1, len(rows) + 1, dtype=np.int64), rows)
    query = (axis + 0.5 * topic) / np.linalg.norm(axis + 0.5 * topic)
    assert cache.nearest(key, query, 1)[0][0] != 301  # plain cosine: small talk first
    shared = cache.shared_direction(key)
    best, cosine, _score = cache.ranked(key, query, 3, shared=shared)[0]
    assert best == 301 and abs(cosine - float(rows[300] @ query)) < 1e-5  # the cosine is still reported


def test_common_morphemes_are_learned_per_star_and_user_and_forgotten() -> None:
    from core.storage.memory_terms import CommonTerms

    common = CommonTerms(max_stars=2)
    common.add("s1", "u1", "엄마")
    assert common.of("s1", "u1") == {"엄마"} and common.of("s1", "u2") == frozenset()
    common.add("s1", None, "밥")
    common.forget_user("u1")
    assert common.of("s1", "u1") == frozenset() and common.of("s1", None) == {"밥"}
    common.add("s2", None, "비")
    common.add("s3", None, "눈")  # over max_stars: the least recently used star goes
    assert common.of("s1", None) == frozenset() and common.of("s3", None) == {"눈"}
    common.forget("s3")
    assert common.of("s3", None) == frozenset()


def test_a_moment_crowded_by_its_paraphrases_does_not_outrank_a_specific_memory() -> None:
    from core.storage import vectors as v

    rng = np.random.default_rng(7)
    eye = np.eye(64, dtype=np.float32)
    spread = eye[0] + 0.5 * rng.standard_normal((300, 64)).astype(np.float32) * (np.arange(64) >= 8)
    # "밥 먹었어?" said forty ways:
    crowd = eye[0] + 0.8 * eye[2] + 0.05 * rng.standard_normal((40, 64)).astype(np.float32)
    memory = (eye[0] + 0.75 * eye[1])[None, :]
    rows = np.vstack([spread, crowd, memory])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    cache = v.VectorCache()
    key: v.Key = ("star", None, "e")
    cache._entry(key).append(np.arange(1, len(rows) + 1, dtype=np.int64), rows)
    query = eye[0] + 0.5 * eye[1] + 0.7 * eye[2]
    query /= np.linalg.norm(query)
    shared, reference = cache.shared_direction(key), cache.reference(key)
    assert reference is not None and len(reference.vectors) <= REFERENCE_ROWS
    plain = cache.ranked(key, query, 3, shared=shared)[0][0]
    assert 301 <= plain <= 340  # without the correction one of the paraphrases comes first
    best, cosine, _ = cache.ranked(key, query, 3, shared=shared, reference=reference)[0]
    assert best == len(rows) and abs(cosine - float(rows[-1] @ query)) < 1e-5
    assert cache.reference(("few", None, "e")) is None  # too few moments to tell crowded from rare
