"""Capture health: what each speaker's audio went through (received, decrypted, dropped, lost, concealed).

The receiver logs it per speaker every interval and at the end, reports speakers who are losing audio (the
meeting posts a warning in its channel), and the totals go with the capture into the meeting's notes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SpeakerHealth:
    """What one speaker's audio went through (mutated only on the worker thread)."""

    received: int = 0  # packets of theirs that reached the DAVE layer
    decrypted: int = 0  # of those, Opus frames the DAVE layer handed on
    dropped: int = 0  # of those, frames it could not decrypt (dropped, never decoded)
    lost: int = 0  # frames missing from their sequence (the network's, and those the DAVE layer dropped)
    concealed: int = 0  # lost frames concealed (PLC/FEC)

    def copy(self) -> SpeakerHealth:
        """A snapshot."""
        return SpeakerHealth(self.received, self.decrypted, self.dropped, self.lost, self.concealed)

    def minus(self, earlier: SpeakerHealth) -> SpeakerHealth:
        """What happened since ``earlier``."""
        return SpeakerHealth(
            self.received - earlier.received,
            self.decrypted - earlier.decrypted,
            self.dropped - earlier.dropped,
            self.lost - earlier.lost,
            self.concealed - earlier.concealed,
        )

    @property
    def missing_ratio(self) -> float:
        """The share of their frames not decoded from their own data (concealment guesses, it does not
        recover). A frame the DAVE layer dropped leaves a gap in the sequence too, so it counts once."""
        missing = max(self.lost, self.dropped)
        expected = self.decrypted + missing
        return missing / expected if expected else 0.0

    def line(self) -> str:
        """A log and notes line: ``received 1200, decrypted 1190, dropped 10, lost 4, concealed 4``."""
        return (
            f"received {self.received}, decrypted {self.decrypted}, dropped {self.dropped}, "
            f"lost {self.lost}, concealed {self.concealed}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthReport:
    """Capture health over the last interval; ``losing``: speakers missing over ``threshold`` of audio."""

    interval: dict[int, SpeakerHealth]
    totals: dict[int, SpeakerHealth]
    losing: tuple[int, ...]
