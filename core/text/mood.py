"""The mood of a message, as far as a reply must respect it: sad news gets no laughter back.

Cues are words of loss, illness, pain and missing someone (Korean and English), and crying marks
(ㅠㅠ, ㅜㅜ). Laughter is ㅋ/ㅎ runs, 하하/호호/히히, "lol", "haha" and laughing emoji.
"""

from __future__ import annotations

import re

_SAD = re.compile(
    r"ㅠ|ㅜ|슬프|슬퍼|슬펐|우울|외로|외롭|힘들|힘드|아파|아프|아팠|아픈|"
    r"죽었|죽어|죽는|돌아가셨|떠났|세상을 떠|수술|입원|병원|장례|무서|걱정|"
    r"보고\s*싶|그리워|그립|눈물|울었|울고|울어|속상|미안해|헤어졌|잃어|"
    r"잃었|다쳤|다쳐|사고|암\b|이별|"
    r"\b(?:sad|sick|ill|hurt|hurts|cry|crying|cried|died|dead|death|funeral|hospital|surgery|miss you|"
    r"lonely|scared|afraid|worried|depressed|lost|grief|passed away)\b",
    re.IGNORECASE,
)
_LAUGH = re.compile(
    r"[ㅋㅎ]{2,}|크크|하하|호호|히히|헤헤|키키|\b(?:lol|lmao|haha+|hehe)\b|[\U0001F602\U0001F923\U0001F606\U0001F604]",
    re.IGNORECASE,
)


def is_sad(text: str) -> bool:
    """Whether ``text`` carries sad news or sorrow."""
    return bool(_SAD.search(text))


def laughs(text: str) -> bool:
    """Whether ``text`` laughs."""
    return bool(_LAUGH.search(text))


def without_laughter(text: str) -> str:
    """``text`` with its laughter removed (empty when it was only laughter)."""
    return " ".join(_LAUGH.sub(" ", text).split())
