"""Korean (and English) text handling for search: query terms with particles stripped, stop words dropped."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[0-9A-Za-z\uac00-\ud7a3\u3131-\u318e]+")
# Common Korean particles and endings stripped from a query word to find its stem.
_PARTICLES = tuple(
    sorted(
        [
            "은",
            "는",
            "이",
            "가",
            "을",
            "를",
            "에",
            "에서",
            "에게",
            "한테",
            "께",
            "와",
            "과",
            "랑",
            "이랑",
            "하고",
            "도",
            "만",
            "의",
            "로",
            "으로",
            "야",
            "아",
            "요",
            "이야",
            "이에요",
            "예요",
            "까지",
            "부터",
            "처럼",
            "보다",
            "이나",
            "나",
            "든지",
            "이라도",
            "라도",
            "했어",
            "했지",
            "했어요",
            "했니",
            "해",
            "해요",
            "하자",
            "했던",
            "먹었어",
        ],
        key=len,
        reverse=True,
    )
)
_STOP = frozenset(
    [
        "그",
        "저",
        "이",
        "것",
        "거",
        "나",
        "너",
        "내",
        "네",
        "우리",
        "그리고",
        "근데",
        "그래",
        "응",
        "어",
        "음",
        "아",
        "뭐",
        "왜",
        "좀",
        "잘",
        "더",
        "또",
        "다",
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "of",
        "in",
        "is",
        "it",
        "you",
        "i",
        "me",
        "my",
        "what",
        "how",
        "do",
        "does",
        "did",
        "are",
        "was",
        "were",
        "be",
    ]
)


def query_terms(message: str, *, max_terms: int = 8) -> list[str]:
    """Search terms of a user message: words with particles stripped, stop words dropped."""
    terms: list[str] = []
    for raw in _TOKEN.findall(message.lower()):
        word = raw
        if "\uac00" <= word[0] <= "\ud7a3":
            for p in _PARTICLES:
                if len(word) > len(p) and word.endswith(p):
                    word = word[: -len(p)]
                    break
        if word in _STOP or (len(word) < 2 and not ("\u3131" <= word[0] <= "\ud7a3")):
            continue
        if word not in terms:
            terms.append(word)
    return terms[:max_terms]
