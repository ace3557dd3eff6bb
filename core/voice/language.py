"""Which language the star spoke, and whether a transcript is written in it.

Whisper left to guess may take a short Korean clip for Japanese; the star's language is known better from
their own messages in the export (their script), falling back to the user's language. A transcript is
then checked: words in another script than the language's are a misrecognition, not the star's words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_HANGUL = re.compile(r"[가-힣ㄱ-ㅎㅏ-ㅣ]")
_LATIN = re.compile(r"[A-Za-z]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_MIN_LETTERS = 8
_SAMPLE = 3000  # messages looked at: the script of a few thousand tells as well as all of them


def script_counts(text: str) -> dict[str, int]:
    """Letters per script: ``ko`` (Hangul), ``en`` (Latin), ``ja`` (kana), ``zh`` (Han)."""
    return {
        "ko": len(_HANGUL.findall(text)),
        "en": len(_LATIN.findall(text)),
        "ja": len(_KANA.findall(text)),
        "zh": len(_HAN.findall(text)),
    }


def language_of_texts(texts: Iterable[str], fallback: str) -> str:
    """``ko`` or ``en`` by the script most of the letters are in; ``fallback`` with too few letters."""
    totals = {"ko": 0, "en": 0}
    for i, text in enumerate(texts):
        if i >= _SAMPLE:
            break
        counts = script_counts(text)
        totals["ko"] += counts["ko"]
        totals["en"] += counts["en"]
    if totals["ko"] + totals["en"] < _MIN_LETTERS:
        return fallback
    return "ko" if totals["ko"] >= totals["en"] else "en"


def written_in(text: str, language: str) -> bool:
    """Whether ``text`` is written in ``language``'s script (most of its letters; digits and signs aside).

    Korean may hold a few Latin or Han letters (names, "OK"), English no Hangul or kana to speak of.
    """
    counts = script_counts(text)
    letters = sum(counts.values())
    if letters == 0:
        return False
    own = counts.get(language, 0)
    if language == "ko":
        return own / letters >= 0.6 and counts["ja"] == 0
    return own / letters >= 0.8
