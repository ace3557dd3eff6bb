"""What ``/export`` puts in the zip: everything VOS holds about a star, for its owner, with a README.

The star and the names in use, the imported messages, the conversation history, consents, the user's
settings, the voice (recordings, reference clips, the measured voice profile) and voice memories with
their transcripts and times, and every uploaded file. Safety events appear as when and which way a
message was stopped, never with the classifier's reasons or scores.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from core.domain.identity import Locale
from core.domain.stars import Star
from core.i18n import t
from core.storage.memory import MemoryStore
from core.storage.repositories import (
    BlobRefRepository,
    ChatRepository,
    ConsentRepository,
    SafetyEventRepository,
    StarRepository,
    UserRepository,
)
from core.storage.voice_memory_repository import VoiceMemoryRepository
from core.storage.voice_repository import VoiceRepository

_SAFE_NAME = re.compile(r"[^\w.\-가-힣]+")
_ALL_MEMORIES = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportBundle:
    """The zip's contents: ``documents`` (name, text) and ``files`` (blob key, name in the zip)."""

    documents: tuple[tuple[str, str], ...]
    files: tuple[tuple[str, str], ...]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


class StarExporter:
    """Collects a star's data for its owner (reads only; the zip is written by ``DataRightsService``)."""

    def __init__(
        self,
        *,
        users: UserRepository,
        stars: StarRepository,
        chats: ChatRepository,
        consents: ConsentRepository,
        blob_refs: BlobRefRepository,
        safety_events: SafetyEventRepository,
        memory: MemoryStore,
        voice: VoiceRepository | None = None,
        voice_memories: VoiceMemoryRepository | None = None,
    ) -> None:
        self.users = users
        self.stars = stars
        self.chats = chats
        self.consents = consents
        self.blob_refs = blob_refs
        self.safety_events = safety_events
        self.memory = memory
        self.voice = voice
        self.voice_memories = voice_memories

    async def bundle(self, owner_id: str, star: Star) -> ExportBundle:
        """Everything about ``star`` that ``owner_id`` may take away."""
        refs = await self.blob_refs.list_for(owner_id, star.id)
        files = tuple(
            (ref.key, f"uploads/{i:02d}-{ref.purpose}-{_SAFE_NAME.sub('_', ref.filename) or 'file'}")
            for i, ref in enumerate(refs)
        )
        where = dict(files)
        docs = [
            ("profile.json", _json(await self._profile(star))),
            ("chat_history.json", _json(await self._history(owner_id, star))),
            ("consents.json", _json(await self._consents(owner_id, star))),
            ("imported_messages.json", json.dumps(await self._messages(star), ensure_ascii=False)),
            ("settings.json", _json(await self._settings(owner_id, star))),
            ("voice_profile.json", _json(await self._voice(owner_id, star, where))),
            ("voice_memories.json", _json(await self._voice_memories(owner_id, star, where))),
            ("safety_events.json", _json(await self._safety(owner_id, star))),
        ]
        readme = "\n\n---\n\n".join(t(loc, "export.readme", name=star.name) for loc in (Locale.KO, Locale.EN))
        return ExportBundle(documents=(("README.md", readme), *docs), files=files)

    async def _profile(self, star: Star) -> dict[str, Any]:
        profile = await self.stars.style_profile(star.id)
        return {
            "star": {
                "id": star.id,
                "name": star.name,
                "relation": star.relation,
                "participant": star.participant_name,
                "notes": star.notes,
                "birth_date": star.birth_date.isoformat() if star.birth_date else None,
                "death_date": star.death_date.isoformat() if star.death_date else None,
                "status": star.status.value,
                "created_at": star.created_at.isoformat(),
                "called_you": star.user_address,
                "your_name": star.user_name,
            },
            "style_profile": dict(profile.profile) if profile else None,
            "traits": list(profile.traits) if profile else [],
        }

    async def _consents(self, owner_id: str, star: Star) -> list[dict[str, str]]:
        consents = await self.consents.list_for(owner_id, star.id)
        return [
            {"kind": c.kind, "text": c.text, "given_at": c.given_at.isoformat(), "star_id": c.star_id or ""}
            for c in consents
        ]

    async def _history(self, owner_id: str, star: Star) -> list[dict[str, str]]:
        turns = await self.chats.all_turns(owner_id, star.id)
        return [
            {
                "id": t.id,
                "role": t.role.value,
                "text": t.text,
                "at": t.created_at.isoformat(),
                "engine": t.engine,
            }
            for t in turns
        ]

    async def _messages(self, star: Star) -> list[dict[str, str]]:
        messages = await self.memory.messages(star.id, kinds=("text", "media", "deleted"))
        return [
            {"time": m.sent_at.isoformat(), "author": m.author, "kind": m.kind, "text": m.text}
            for m in messages
        ]

    async def _settings(self, owner_id: str, star: Star) -> dict[str, Any]:
        user = await self.users.get(owner_id)
        return {
            "language": user.locale.value if user else None,
            "language_chosen_by_you": user.locale_is_explicit if user else False,
            "voice_replies": await self.users.voice_replies(owner_id),
            "active_star": await self.users.active_star_id(owner_id) == star.id,
            "star_calls_you": star.user_address,
            "your_name": star.user_name,
        }

    async def _voice(self, owner_id: str, star: Star, where: dict[str, str]) -> dict[str, Any] | None:
        if self.voice is None:
            return None
        recordings = await self.voice.recordings(owner_id, star.id)
        profile = await self.voice.get_profile(owner_id, star.id)
        return {
            "recordings": [
                {
                    "id": r.id,
                    "filename": r.filename,
                    "duration_s": round(r.duration_s, 2),
                    "uploaded_at": r.created_at.isoformat(),
                    "file": where.get(r.blob_key),
                }
                for r in recordings
            ],
            "profile": None
            if profile is None
            else {
                "engine": profile.engine,
                "median_pitch_hz": profile.median_f0_hz,
                "speech_rate": profile.words_per_minute,
                "gender_hint": profile.gender_hint,
                "total_seconds": round(profile.total_seconds, 2),
                "revision": profile.revision,
                "created_at": profile.created_at.isoformat(),
                "speaker_embedding": list(profile.embedding),
                "clips": [
                    {
                        "seconds": round(c.seconds, 2),
                        "recording_id": c.recording_id,
                        "start_s": round(c.start, 2),
                        "end_s": round(c.end, 2),
                        "file": where.get(c.blob_key),
                    }
                    for c in profile.clips
                ],
            },
        }

    async def _voice_memories(self, owner_id: str, star: Star, where: dict[str, str]) -> list[dict[str, Any]]:
        if self.voice_memories is None:
            return []
        memories = await self.voice_memories.listed(owner_id, star.id, limit=_ALL_MEMORIES)
        return [
            {
                "transcript": m.text,
                "language": m.language,
                "recording_id": m.recording_id,
                "start_s": round(m.start, 2),
                "end_s": round(m.end, 2),
                "kept_at": m.created_at.isoformat(),
                "file": where.get(m.blob_key),
            }
            for m in memories
        ]

    async def _safety(self, owner_id: str, star: Star) -> list[dict[str, str]]:
        """When and which way a message was stopped; the classifier's reasons and scores stay out."""
        events = await self.safety_events.list_for(owner_id)
        return [
            {"at": e.at.isoformat(), "direction": e.direction, "verdict": e.verdict}
            for e in events
            if e.star_id in (None, star.id)
        ]
