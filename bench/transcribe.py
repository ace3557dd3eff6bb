"""VOS transcription vs bare faster-whisper on the same synthesized audio, same model, same settings.

Usage: python bench/transcribe.py [--model packaged:tiny.en] [--seconds 60] [--runs 3] [--threads 2]
Prints median wall times, the real-time factor (wall / audio length) of each, and VOS's overhead in percent
(target: at most 5%), by medians and by fastest runs. Runs alternate between the two, so machine load
affects both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.backends.faster_whisper_stt import FasterWhisperOptions, FasterWhisperSTT
from core.speech.models import resolve_model
from tests.support.speech import SPEAKERS, silence, speak

LINES = [
    "Good morning everyone, let's start the weekly planning meeting.",
    "The first item on the agenda is the budget for the next quarter.",
    "I will send the updated spreadsheet to the whole team by Friday.",
    "We decided to move the product launch to the second week of next month.",
    "Can you check whether the marketing team has the new designs?",
    "The customer survey shows that people want a faster search feature.",
    "Let's schedule a follow up call with the engineering leads on Tuesday.",
    "Thanks everyone, that is all for today.",
]


def synthesize(seconds: float) -> np.ndarray:
    """Cycle the lines over the speakers until the audio is at least ``seconds`` long."""
    clips: list[np.ndarray] = []
    total, i = 0.0, 0
    while total < seconds:
        clip = speak(LINES[i % len(LINES)], SPEAKERS[i % len(SPEAKERS)])
        clips += [clip, silence(0.5)]
        total += clip.size / 16000 + 0.5
        i += 1
    return np.concatenate(clips)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="packaged:tiny.en")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--language", default="en")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from faster_whisper import WhisperModel

    audio = synthesize(args.seconds)
    duration = audio.size / 16000
    options = FasterWhisperOptions(
        model=args.model,
        device=args.device,
        compute_type="auto",
        cpu_threads=args.threads,
        language=args.language,
    )
    vos = FasterWhisperSTT(options)
    vos.load()
    compute_type = "int8" if args.device == "cpu" else "default"
    bare = WhisperModel(
        resolve_model(args.model), device=args.device, compute_type=compute_type, cpu_threads=args.threads
    )

    def run_bare() -> int:
        segments, _ = bare.transcribe(
            audio,
            language=args.language,
            beam_size=options.beam_size,
            vad_filter=options.vad_filter,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=options.condition_on_previous_text,
        )
        return len(list(segments))

    def run_vos() -> int:
        return len(asyncio.run(vos.transcribe(audio, progress=lambda f, s: None)).segments)

    run_bare()
    run_vos()  # warm-up: first-call allocations and caches
    times: dict[str, list[float]] = {"bare": [], "vos": []}
    counts: dict[str, int] = {}
    for _ in range(args.runs):
        for name, fn in (("bare", run_bare), ("vos", run_vos)):
            t0 = time.perf_counter()
            counts[name] = fn()
            times[name].append(time.perf_counter() - t0)
    bare_s, vos_s = statistics.median(times["bare"]), statistics.median(times["vos"])
    report = {
        "model": args.model,
        "device": args.device,
        "threads": args.threads,
        "audio_s": round(duration, 2),
        "runs": args.runs,
        "bare_median_s": round(bare_s, 3),
        "vos_median_s": round(vos_s, 3),
        "bare_rtf": round(bare_s / duration, 4),
        "vos_rtf": round(vos_s / duration, 4),
        "overhead_pct": round(100 * (vos_s - bare_s) / bare_s, 2),
        # The fastest run is the least disturbed by other load on a shared machine.
        "overhead_pct_min": round(100 * (min(times["vos"]) - min(times["bare"])) / min(times["bare"]), 2),
        "segments": counts,
        "all_runs_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
