"""Morphemes too common in a star's memory to search for, learned per process.

A morpheme found in more moments than a lexical lookup reads (``PER_TERM_CAP``: 엄마, 먹, 오늘 in a mother's
chat) tells nothing about which moment is meant, and its index lookup is the slowest of a turn (PostgreSQL
builds a bitmap of every moment holding it before the limit applies). The first lookup that reaches the cap
marks it; later turns skip it. A star only gains moments, so a common morpheme stays common; the set is
dropped with the star (``forget``) and bounded in stars and in terms per star. It is kept per star and
user, since a user's own conversation moments count too: what one user said never shapes another's search.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

MAX_STARS = 256
MAX_TERMS = 4096


class CommonTerms:
    """Per star: the morphemes whose lookup reached the cap (thread-safe; searches run in worker threads)."""

    def __init__(self, *, max_stars: int = MAX_STARS, max_terms: int = MAX_TERMS) -> None:
        self._stars: OrderedDict[tuple[str, str], frozenset[str]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_stars = max_stars
        self.max_terms = max_terms

    def of(self, star_id: str, user_id: str | None) -> frozenset[str]:
        """The common morphemes known so far of the star's memory as ``user_id`` searches it."""
        key = (star_id, user_id or "")
        with self._lock:
            found = self._stars.get(key)
            if found is None:
                return frozenset()
            self._stars.move_to_end(key)
            return found

    def add(self, star_id: str, user_id: str | None, term: str) -> None:
        """Mark ``term`` as common in the star's memory as ``user_id`` searches it."""
        key = (star_id, user_id or "")
        with self._lock:
            known = self._stars.get(key, frozenset())
            if term in known or len(known) >= self.max_terms:
                return
            self._stars[key] = known | {term}
            self._stars.move_to_end(key)
            while len(self._stars) > self.max_stars:
                self._stars.popitem(last=False)

    def forget(self, star_id: str) -> None:
        """Drop what was learned of a star (deleted, or its memory rebuilt)."""
        with self._lock:
            for key in [k for k in self._stars if k[0] == star_id]:
                del self._stars[key]

    def forget_user(self, user_id: str) -> None:
        """Drop what was learned while ``user_id`` searched (their conversation memory is gone)."""
        with self._lock:
            for key in [k for k in self._stars if k[1] == user_id]:
                del self._stars[key]
