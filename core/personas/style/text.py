"""Text analysis for style profiles: speech level, markers, emoji, tokens and address terms.

Plain regexes over Hangul syllables and jamo; no morphological analyser is needed for these signals.
The regex tables (``LAUGHTER``, ``CRYING``, ``PUNCTUATION``) define each marker; the import's hot path
(``count_markers``) answers the same questions with substring tests first and runs a regex only where a
substring test cannot decide (a test checks both agree on every text).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

HANGUL = re.compile(r"[가-힣]")
HANGUL_RUN = re.compile(r"[가-힣]+")
# Any character a Latin-letter pattern (IGNORECASE included: ſ matches s, K matches k) could match.
LATIN = re.compile(r"[A-Za-z\u0130\u0131\u017f\u212a]")
SENTENCE_SPLIT = re.compile(r"[.!?~…\n]+|[ㅋㅎㅠㅜ]{2,}|\s{2,}")
_SENTENCE_PARTS = re.compile(r"([.!?~…\n]+|[ㅋㅎㅠㅜ]{2,}|\s{2,})")
PARTICLE_END = ("은", "는", "을", "를", "도")
"""A final word ending in one of these is an elliptical topic or object ("밥은?", "너는?"), not an ending."""
FINAL_WORD = re.compile(r"([가-힣]+)[^가-힣]*\Z")

POLITE_ENDINGS = ("요", "니다", "니까", "세요", "죠", "시오", "십시오", "여")
POLITE_WORDS = frozenset({"네", "넵", "넹", "예", "옙", "감사", "죄송"})
BANMAL_WORDS = frozenset({"응", "웅", "어", "엉", "그래", "알았어", "ㅇㅇ", "ㅇㅋ", "아니", "싫어", "좋아"})
BANMAL_LAST = frozenset("어아야지냐니래자해게까걸데다라네나군고와줘봐써워돼렴마함음임듯즘")

LAUGHTER = {
    "ㅋㅋ": re.compile(r"ㅋ{2,}"),
    "ㅎㅎ": re.compile(r"ㅎ{2,}"),
    "lol": re.compile(r"\b(?:lol|lmao)\b", re.IGNORECASE),
    "haha": re.compile(r"\b(?:ha){2,}h?\b|\b(?:he){2,}\b", re.IGNORECASE),
}
LAUGH_TOKEN = re.compile(r"ㅋ{2,}|ㅎ{2,}|\b(?:ha){2,}\b|\blol\b", re.IGNORECASE)
CRYING = {
    "ㅠㅠ": re.compile(r"ㅠ[ㅠㅜ]+|ㅜㅠ"),
    "ㅜㅜ": re.compile(r"ㅜㅜ+"),
    "T_T": re.compile(r"T[_.]?T|;_;"),
}
EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\U0001F000-\U0001F2FF\u2600-\u27BF\u2B50\u2B55]")
EMOTICONS = re.compile(r"\^[_.o]?\^+|[:;]-?[)D(P]|ㅡㅡ+|-_-;*|>_<|ㅎㅅㅎ|ㅇㅅㅇ|<3")
PUNCTUATION = {
    "~": re.compile(r"~"),
    "~~": re.compile(r"~{2,}"),
    "..": re.compile(r"(?<![.])\.\.(?![.])"),
    "...": re.compile(r"\.{3,}|…"),
    "!": re.compile(r"!"),
    "!!": re.compile(r"!{2,}"),
    "?": re.compile(r"\?"),
    "??": re.compile(r"\?{2,}"),
    ".": re.compile(r"(?<![.])\.\s*\Z"),
}


def _words(text: str) -> frozenset[str]:
    """A word list written as one space-separated string."""
    return frozenset(text.split())


TOKEN = re.compile(r"[가-힣]+|[A-Za-z][A-Za-z']+|\d+")

STOPWORDS = _words(
    "이 그 저 것 거 수 좀 더 잘 안 못 나 너 내 네 제 또 다 한 할 는 은 "
    "를 을 가 도 에 의 와 과 게 걸 건 데 그리고 그래서 그런데 근데 하고 이거 "
    "그거 저거 있어 없어 있는 하는 그럼 이제 the a an to of and i "
    "you it is in that for on me my be are was so "
    "do at this with have not but your we he she "
    "they them im it's i'm what "
)

KIN_TERMS = ("똥강아지", "딸내미", "아들", "딸", "아가", "애기", "아기", "강아지", "공주", "왕자", "막내")
KIN = re.compile(r"(우리\s?)?(" + "|".join(KIN_TERMS) + r")(아|야)?(?![가-힣])")
FIXED_VOCATIVES = re.compile(r"(얘야|여보|자기야|여봉|당신)(?![가-힣])")
ENGLISH_VOCATIVES = re.compile(
    r"\b(honey|sweetie|sweetheart|darling|dear|babe|baby|son|kiddo|buddy|pumpkin|sweetpea)\b", re.IGNORECASE
)
GENERIC_VOCATIVE = re.compile(r"\A([가-힣]{2})(아|야)(?=[\s,!~.?]|\Z)")
NOT_VOCATIVE = _words(
    "좋아 많아 맞아 같아 알아 놀아 앉아 닮아 작아 찾아 잡아 살아 참아 낮아 높아 "
    "얇아 넓아 짧아 괜찮아 그래야 있어야 먹어야 아니야 그거야 이거야 저거야 누구야 "
    "어디야 진짜야 정말야 내일이야 그렇야 가봐야 해봐야 어떡해야 뭐해야 그만해야 "
    "이제야 오늘야 "
)


def speech_level_of(text: str) -> tuple[int, int, list[str]]:
    """Count polite and plain (반말) sentence endings in ``text``; also return the final syllables seen."""
    polite = plain = 0
    finals: list[str] = []
    parts = _SENTENCE_PARTS.split(text)
    for index in range(0, len(parts), 2):
        m = FINAL_WORD.search(parts[index])
        if m is None:
            continue
        word = m.group(1)
        if len(word) >= 2 and word.endswith(PARTICLE_END):
            continue
        after = parts[index + 1] if index + 1 < len(parts) else ""
        finals.append(word[-1] + ("?" if after.startswith("?") else ""))
        if word in POLITE_WORDS or word.endswith(POLITE_ENDINGS):
            polite += 1
        elif word in BANMAL_WORDS or word[-1] in BANMAL_LAST:
            plain += 1
    return polite, plain, finals


def has_final_consonant(syllable: str) -> bool:
    """Whether a Hangul syllable ends in a consonant (받침), which decides 아 versus 야."""
    code = ord(syllable) - 0xAC00
    return 0 <= code < 11172 and code % 28 != 0


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def names_of(name: str) -> set[str]:
    """Plausible first names of one participant: 민수 from 김민수 (always two syllables), Latin words."""
    out = set(_LATIN_WORD.findall(name))
    core = "".join(HANGUL_RUN.findall(name))
    if len(core) == 3:
        out.add(core[1:])
    elif len(core) in (2, 4):
        out.add(core if len(core) == 2 else core[2:])
    return out


def given_names(names: Iterable[str]) -> list[str]:
    """Plausible first names of the other participants (민수 from 김민수), longest first."""
    out: set[str] = set()
    for name in names:
        out |= names_of(name)
    return sorted(out, key=len, reverse=True)


class GivenNames:
    """The given names of a growing set of participants, matched against a message in time linear in
    the message (not in the number of participants: an export may have ten thousand authors).

    ``found(text)`` lists what ``address_terms`` finds for the names (each name's first occurrence).
    """

    def __init__(self, participants: Iterable[str] = ()) -> None:
        self._seen: set[str] = set()
        self.names: set[str] = set()
        self._lengths: set[int] = set()
        for participant in participants:
            self.add(participant)

    def add(self, participant: str) -> None:
        """Take a participant's name (once; later calls with the same name cost one set lookup)."""
        if participant in self._seen:
            return
        self._seen.add(participant)
        for name in names_of(participant):
            self.names.add(name)
            self._lengths.add(len(name))

    def knows(self, participant: str) -> bool:
        """Whether ``add`` has taken this participant already (then it changes nothing)."""
        return participant in self._seen

    def found(self, text: str) -> list[str]:
        """Each name present in ``text`` (+ 아/야 when followed by it; skipped when a syllable follows)."""
        names = self.names
        if not names:
            return []
        if len(names) <= len(text):
            return _name_terms(text, names)
        # Many names, short text: look up the text's substrings instead (names are 2+ characters).
        present: list[str] = []
        size = len(text)
        for length in self._lengths:
            for start in range(size - length + 1):
                piece = text[start : start + length]
                if piece in names and piece not in present:
                    present.append(piece)
        return _name_terms(text, present)


def _name_terms(text: str, names: Iterable[str]) -> list[str]:
    found: list[str] = []
    for name in names:
        start = text.find(name)
        if start < 0:
            continue
        after = text[start + len(name) : start + len(name) + 1]
        if after in ("아", "야"):
            found.append(name + after)
        elif not after or not HANGUL.match(after):
            found.append(name)
    return found


_KIN_FIRST = frozenset(term[0] for term in KIN_TERMS)
_FIXED_FIRST = frozenset("얘여자당")


def address_terms(text: str, names: list[str] | GivenNames, *, latin: bool | None = None) -> list[str]:
    """Address terms in one message: kinship words, fixed vocatives, the other person's name + 아/야.

    ``latin``: whether ``LATIN`` matches ``text``, when the caller already knows.
    """
    found = _word_terms(text, latin)
    found.extend(names.found(text) if isinstance(names, GivenNames) else _name_terms(text, names))
    found.extend(_generic_vocative(text))
    return found


def unnamed_address_terms(text: str, *, latin: bool) -> list[str]:
    """``address_terms`` without the participants' names: what depends on the text alone."""
    found = _word_terms(text, latin)
    found.extend(_generic_vocative(text))
    return found


def _word_terms(text: str, latin: bool | None) -> list[str]:
    found: list[str] = []
    if not _KIN_FIRST.isdisjoint(text):
        for m in KIN.finditer(text):
            found.append(f"{'우리 ' if m.group(1) else ''}{m.group(2)}")
    if not _FIXED_FIRST.isdisjoint(text):
        found.extend(m.group(1) for m in FIXED_VOCATIVES.finditer(text))
    if latin if latin is not None else LATIN.search(text):
        found.extend(m.group(1).lower() for m in ENGLISH_VOCATIVES.finditer(text))
    return found


def _generic_vocative(text: str) -> list[str]:
    if vocative := GENERIC_VOCATIVE.match(text):
        stem, particle = vocative.groups()
        word = stem + particle
        if word not in NOT_VOCATIVE and has_final_consonant(stem[-1]) == (particle == "아"):
            return [word]
    return []


_LOL = LAUGHTER["lol"]
_HAHA = LAUGHTER["haha"]
_CRY = CRYING["ㅠㅠ"]
_TT = CRYING["T_T"]
_PERIOD = PUNCTUATION["."]
_EMOTICON_CHARS = frozenset("^:;ㅡ->ㅅ<")


_TWO_DOTS = PUNCTUATION[".."]


def marker_keys(text: str, *, latin: bool) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Which ``LAUGHTER``, ``CRYING`` and ``PUNCTUATION`` markers ``text`` has (each at most once, in the
    tables' order), as three tuples of keys.

    Same answers as searching each table's regex; most are a substring test (ㅋ{2,} is "ㅋㅋ" in text).
    ``latin``: whether ``LATIN`` matches ``text`` (no Latin letter: no lol, haha).
    """
    laughs: list[str] = []
    if "ㅋㅋ" in text:
        laughs.append("ㅋㅋ")
    if "ㅎㅎ" in text:
        laughs.append("ㅎㅎ")
    if latin:
        if _LOL.search(text):
            laughs.append("lol")
        if _HAHA.search(text):
            laughs.append("haha")
    cries: list[str] = []
    if "ㅠ" in text and _CRY.search(text):
        cries.append("ㅠㅠ")
    if "ㅜㅜ" in text:
        cries.append("ㅜㅜ")
    if ("T" in text or ";_;" in text) and _TT.search(text):
        cries.append("T_T")
    punctuation: list[str] = []
    if "~" in text:
        punctuation.append("~")
        if "~~" in text:
            punctuation.append("~~")
    if ".." in text:
        if _TWO_DOTS.search(text):
            punctuation.append("..")
        if "..." in text:
            punctuation.append("...")
    if "…" in text and "..." not in text:
        punctuation.append("...")
    if "!" in text:
        punctuation.append("!")
        if "!!" in text:
            punctuation.append("!!")
    if "?" in text:
        punctuation.append("?")
        if "??" in text:
            punctuation.append("??")
    if "." in text and _PERIOD.search(text):
        punctuation.append(".")
    return tuple(laughs), tuple(cries), tuple(punctuation)


def count_markers(
    text: str, laughs: Counter[str], cries: Counter[str], punctuation: Counter[str], *, latin: bool
) -> None:
    """Count which ``LAUGHTER``, ``CRYING`` and ``PUNCTUATION`` markers ``text`` has (each at most once);
    see :func:`marker_keys`."""
    for counter, keys in zip((laughs, cries, punctuation), marker_keys(text, latin=latin), strict=True):
        for key in keys:
            counter[key] += 1


def laugh_tokens(text: str, *, latin: bool) -> list[str]:
    """``LAUGH_TOKEN`` matches of ``text`` (none without ㅋㅋ, ㅎㅎ or a Latin letter)."""
    if latin or "ㅋㅋ" in text or "ㅎㅎ" in text:
        return LAUGH_TOKEN.findall(text)
    return []


def emoticons(text: str) -> list[str]:
    """``EMOTICONS`` matches of ``text`` (none without one of their characters)."""
    return [] if _EMOTICON_CHARS.isdisjoint(text) else EMOTICONS.findall(text)


def tokens(text: str) -> list[str]:
    """Words of a message (Hangul runs, Latin words lower-cased, numbers)."""
    return [t.lower() for t in TOKEN.findall(text)]


def top(counter: Counter[str], n: int, minimum: int = 2) -> tuple[tuple[str, int], ...]:
    """The ``n`` most common items seen at least ``minimum`` times, ties broken by the item."""
    items = [(k, v) for k, v in counter.items() if v >= minimum]
    items.sort(key=lambda kv: (-kv[1], kv[0]))
    return tuple(items[:n])
