"""Text normalisation shared by the safety rules: one canonical form so tricks like full-width digits,
zero-width characters or spaced-out Hangul (``송 금``) do not slip past the patterns."""

from __future__ import annotations

import re
import unicodedata

# Zero-width and bidi control characters: invisible, and a classic way to split a keyword.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")
# Separators someone may put between Hangul syllables to dodge a keyword: "송.금", "이 체", "입-금".
_HANGUL_GAP = re.compile(r"(?<=[\uac00-\ud7a3])[\s.\-_*·,/|~]+(?=[\uac00-\ud7a3])")


def normalize(text: str) -> str:
    """Loose jamo recomposed, NFKC, invisible characters removed, lower case, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", repair_hangul(text))
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text).strip().lower()


def compact(text: str) -> str:
    """``normalize`` plus the gaps between Hangul syllables removed: ``송 금 해`` → ``송금해``.

    Used only for Korean keyword matching; word boundaries matter in English, so English rules use
    ``normalize``.
    """
    return _HANGUL_GAP.sub("", normalize(text))


def normal_forms(text: str) -> tuple[str, str]:
    """``(normalize(text), compact(text))`` with one normalisation instead of two."""
    normal = normalize(text)
    return normal, _HANGUL_GAP.sub("", normal)


def digits_only(text: str) -> str:
    """The ASCII digits of ``text`` in order."""
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def luhn_ok(number: str) -> bool:
    """The Luhn checksum used by payment card numbers."""
    if not number.isdigit() or len(number) < 12:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def rrn_checksum_ok(number: str) -> bool:
    """The check digit of a Korean resident registration number (issued before October 2020)."""
    if len(number) != 13 or not number.isdigit():
        return False
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(number[:12], weights, strict=True))
    return (11 - total % 11) % 10 == int(number[12])


def plausible_birth_date(yymmdd: str) -> bool:
    """Whether six digits read as a calendar date (YYMMDD)."""
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    return 1 <= month <= 12 and 1 <= day <= 31


_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")
# Hangul typed one key at a time ("싶ㅇㅓ", "주ㄱ고"): a consonant and vowel (and final) in compatibility
# jamo make one syllable; a lone final consonant between two syllables belongs to the first one.
_JAMO_SYLLABLE = re.compile(f"([{_CHO}])([{_JUNG}])((?:[{_CHO}](?![{_JUNG}]))?)")
_STRAY_FINAL = re.compile(f"(?<=[\uac00-\ud7a3])([{_CHO}])(?=[\uac00-\ud7a3])")


def _syllable(lead: str, vowel: str, final: str = "") -> str:
    tail = _JONG.index(final) if final in _JONG else 0
    return chr(0xAC00 + (_CHO.index(lead) * 21 + _JUNG.index(vowel)) * 28 + tail)


def repair_hangul(text: str) -> str:
    """Recompose Hangul typed as loose jamo: ``싶ㅇㅓ`` → ``싶어``, ``주ㄱ고`` → ``죽고``; ``ㅠㅠ`` and
    ``ㅋㅋ`` stay as they are. Text without loose jamo comes back unchanged."""
    if not any("\u3131" <= ch <= "\u3163" for ch in text):
        return text

    def compose(m: re.Match[str]) -> str:
        final = m.group(3)
        if final and final not in _JONG:
            return _syllable(m.group(1), m.group(2)) + final
        return _syllable(m.group(1), m.group(2), final)

    text = _JAMO_SYLLABLE.sub(compose, text)
    out: list[str] = []
    last = 0
    for m in _STRAY_FINAL.finditer(text):
        before = text[m.start() - 1]
        code = ord(before) - 0xAC00
        if code % 28 == 0 and m.group(1) in _JONG:
            out.append(text[last : m.start() - 1])
            out.append(chr(ord(before) + _JONG.index(m.group(1))))
            last = m.end()
    out.append(text[last:])
    return "".join(out)
