"""Korean morphemes for search: the content words of a text, as the memory's lexical index stores them.

``kiwipiepy`` (a Korean morphological analyzer that ships its model) splits ``강아지가 수술했던`` into
``강아지/NNG 가/JKS 수술/NNG 하/XSV 었/EP 던/ETM``; the index keeps the content morphemes (nouns, verb and
adjective stems, roots, foreign words and numbers) and drops particles and endings, so ``수술했던`` and
``수술한`` meet on ``수술``. Analysis costs about 0.2 ms a message on one core, and the model takes about
330 MB of memory once per process; it loads lazily, in whichever worker thread first needs it.

When kiwipiepy cannot load, :func:`content_tokens` falls back to words with common particles stripped
(:func:`core.text.korean.query_terms`): worse, never broken.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from core.text.korean import query_terms

log = logging.getLogger(__name__)

_KEPT_TAGS = frozenset({"NNG", "NNP", "NR", "XR", "SL", "SN", "SH", "VV", "VA"})
# Stems too common to tell two moments apart (IDF would weigh them near zero anyway; dropping them keeps
# the index small and the query fast).
_STOP_STEMS = frozenset(
    {"하", "되", "있", "없", "이", "아니", "같", "그렇", "이렇", "저렇", "어떻", "싶", "주", "보", "가", "오"}
)
_ENGLISH_STOP = (
    "the a an and or to of in on at is it you i me my we our he she they what how do does did are was were "
    "be been this that for with just so not no yes can will would your his her them there"
)
_STOP_WORDS = frozenset(_ENGLISH_STOP.split())
_MAX_TOKEN_CHARS = 40


class MorphemeAnalyzer:
    """A lazily loaded ``kiwipiepy.Kiwi`` (one per process, shared by threads behind a lock)."""

    def __init__(self) -> None:
        self._kiwi: Any = None
        self._failed = False
        self._primed = False
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._kiwi is None and not self._failed:
            try:
                from kiwipiepy import Kiwi

                self._kiwi = Kiwi(num_workers=1, load_typo_dict=False, load_multi_dict=False)
            except Exception:  # a missing or broken model: degrade to plain words, say so once
                log.warning("kiwipiepy unavailable: memory search uses plain words", exc_info=True)
                self._failed = True
        return self._kiwi

    def tokens(self, text: str) -> list[str]:
        """The content morphemes of ``text``, in order, repeats kept."""
        return self.many([text])[0]

    def many(self, texts: Sequence[str]) -> list[list[str]]:
        """:meth:`tokens` of each text (one analyzer call for the batch)."""
        with self._lock:
            kiwi = self._load()
            if kiwi is None:
                return [_fallback(text) for text in texts]
            return [_content(kiwi.tokenize(text)) for text in texts]

    def warm(self) -> bool:
        """Load the model and run a first analysis now; whether kiwipiepy is in use.

        kiwipiepy holds the GIL while it loads (about 1.6 s here) and again through its first analysis
        (about 1.4 s of lazy set-up), so even from a worker thread a cold analyzer stops the event loop for
        seconds. A serving process calls this before it takes messages (``bot.runner``)."""
        with self._lock:
            kiwi = self._load()
            if kiwi is not None and not self._primed:
                kiwi.tokenize("기억나? 우리 같이 갔던 곳")
                self._primed = True
            return kiwi is not None


def _content(tokens: Iterable[Any]) -> list[str]:
    kept: list[str] = []
    for token in tokens:
        tag = token.tag.split("-", 1)[0]
        if tag not in _KEPT_TAGS:
            continue
        form = token.form.lower()
        if tag in ("VV", "VA") and form in _STOP_STEMS:
            continue
        if tag == "SL" and (form in _STOP_WORDS or len(form) < 2):
            continue
        kept.append(form[:_MAX_TOKEN_CHARS])
    return kept


def _fallback(text: str) -> list[str]:
    return query_terms(text, max_terms=10_000)


_SHARED = MorphemeAnalyzer()


def shared_analyzer() -> MorphemeAnalyzer:
    """The process's analyzer (its model is loaded once)."""
    return _SHARED
