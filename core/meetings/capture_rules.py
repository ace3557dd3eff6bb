"""The rules of a live meeting capture, the same on every platform that can capture one.

- **Who may stop it:** the member who started it, or anyone in the captured channel at the time.
- **Track names:** one ``<display name>.ogg`` per speaker, made safe for a zip entry, duplicates numbered;
  the archive labels each speaker by that name (``core.meetings.tracks.speaker_name``).
- **Opt-out matching:** a member who opts out is matched in the archive by every label their track would
  have carried (display name, global name, user name, the name they had in the meeting), and members who
  opted out while their meeting was still processing are found among its speakers.

Ids are strings (a platform's user ids), so the console and Telegram can use the rules as Discord does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from core.meetings.tracks import speaker_name

_UNSAFE = re.compile(r"[\x00-\x1f/\\:*?\"<>|]+")


def may_stop(actor_id: str, *, starter_id: str, in_channel: Iterable[str]) -> bool:
    """Whether ``actor_id`` may stop the capture: its starter, or a member in the captured channel."""
    return actor_id == starter_id or actor_id in {str(member) for member in in_channel}


def track_filenames(
    user_ids: Iterable[str], names: Mapping[str, str], suffix: str = ".ogg"
) -> dict[str, str]:
    """``<display name>.ogg`` per user: names made safe for a zip entry, duplicates numbered."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for user_id in user_ids:
        base = (
            " ".join(_UNSAFE.sub(" ", names.get(user_id, "")).split()).strip(". ")[:80] or f"user-{user_id}"
        )
        name, n = base, 2
        while name.lower() in used:
            name, n = f"{base} ({n})", n + 1
        used.add(name.lower())
        out[user_id] = f"{name}{suffix}"
    return out


def speaker_labels(user_id: str, names: Iterable[str]) -> list[str]:
    """The speaker labels a member's track would get in the archive under each of ``names`` (and as is):
    what an opt-out deletes from the archive."""
    labels: list[str] = []
    for name in names:
        if not name:
            continue
        for label in (name.strip(), speaker_name(track_filenames([user_id], {user_id: name})[user_id])):
            if label and label not in labels:
                labels.append(label)
    return labels


def late_optouts(
    space_id: str, speakers: Iterable[tuple[str, str]], is_opted_out: Callable[[str, str], bool]
) -> list[str]:
    """The labels of a stopped meeting's speakers (``(user id, label)``) who opted out meanwhile."""
    return [label for user_id, label in speakers if is_opted_out(space_id, user_id)]
