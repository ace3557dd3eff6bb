"""Signed provenance of the voice notes VOS makes, and the check a family member runs on a file.

Three layers, strongest first:
- a signed record: for every note VOS keeps ``{sha256, created, engine}`` with an HMAC-SHA256 signature
  under a key only this installation holds (``provenance.key`` in its data folder, created on first use,
  mode 0600). A file whose bytes match a record whose signature holds is an intact VOS note. The record
  names no user, star or text, so it outlives ``/forget`` without keeping anyone's data;
- the watermark (``core.voice.watermark``), which survives re-encoding, trimming and re-uploads;
- the ``AI_GENERATED=1`` tag, which any re-encode strips and anyone can forge (evidence only).
C2PA manifests are not used: the C2PA spec has no binding for OGG/Opus, the voice-note container.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.voice import watermark
from core.voice.audio import AI_TAG, AudioError, decode_audio, read_tags

log = logging.getLogger(__name__)
KEY_FILE = "provenance.key"
LOG_FILE = "issued.jsonl"


@dataclass(frozen=True, slots=True, kw_only=True)
class Verification:
    """Whether a file is a VOS-generated voice note, and why: ``{"ai_generated", "evidence"}``."""

    ai_generated: bool
    evidence: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """The ``vos voice verify --json`` contract."""
        return {"ai_generated": self.ai_generated, "evidence": list(self.evidence)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


class ProvenanceLog:
    """The signed records of the notes this installation issued (append-only JSON lines)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        path = self.root / KEY_FILE
        with self._lock:
            if not path.exists():
                self.root.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(secrets.token_bytes(32))
            return path.read_bytes()

    @staticmethod
    def _payload(record: dict[str, str]) -> bytes:
        return json.dumps({k: record[k] for k in ("sha256", "created", "engine")}, sort_keys=True).encode()

    def record(self, note: Path, *, engine: str) -> dict[str, str]:
        """Sign and keep the record of a note just made (blocking: call from a worker thread)."""
        record = {"sha256": _sha256(note), "created": datetime.now(UTC).isoformat(), "engine": engine}
        record["signature"] = hmac.new(self._key(), self._payload(record), hashlib.sha256).hexdigest()
        line = json.dumps(record, sort_keys=True) + "\n"
        self.root.mkdir(parents=True, exist_ok=True)
        # One short O_APPEND write per note: lines from several processes never interleave.
        fd = os.open(self.root / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return record

    def find(self, note: Path) -> dict[str, str] | None:
        """The signed record of exactly these bytes, when one exists and its signature holds."""
        path = self.root / LOG_FILE
        if not path.exists() or not (self.root / KEY_FILE).exists():
            return None
        sha = _sha256(note)
        key = self._key()
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if sha not in line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                expected = hmac.new(key, self._payload(record), hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(expected, str(record.get("signature")))
                if record.get("sha256") == sha and signed:
                    return dict(record)
        return None


def _tags(path: Path) -> dict[str, str]:
    try:
        return read_tags(path)
    except Exception as exc:  # an unreadable container simply has no tags to report
        log.debug("no tags in %s: %s", path.name, type(exc).__name__)
        return {}


def verify(path: Path, issued: ProvenanceLog | None) -> Verification:
    """Check a file for every layer of marking (blocking: decoding and correlation run here)."""
    evidence: list[str] = []
    strong = False
    record = issued.find(path) if issued is not None else None
    if record is not None:
        made = record["created"][:19]
        evidence.append(f"signature: an intact VOS voice note made {made}Z by {record['engine']}")
        strong = True
    try:
        decoded = decode_audio(path, max_seconds=600)
    except AudioError as exc:
        evidence.append(f"audio: {exc.key}")
    else:
        found = watermark.detect(decoded.samples, decoded.sample_rate)
        if found.detected:
            evidence.append(f"watermark: VOS mark found (z={found.z})")
            strong = True
    if _tags(path).get(AI_TAG.lower()) == "1":
        evidence.append("tag: AI_GENERATED=1")
        strong = True
    if not evidence:
        evidence.append("none: no VOS signature, watermark or AI tag")
    return Verification(ai_generated=strong, evidence=tuple(evidence))
