"""CPU time of the /voice pick step ("which one is them?") on a long synthetic family recording.

Builds a conversation of espeak-ng voices (about ``--minutes`` long, encoded as OGG/Opus like a voice note),
drives /voice through the scripted console up to the pick question, then times the pick: loading the
recording's samples, building the profile with the resemblyzer encoder, storing its clips. Separation uses
the known turns (an oracle diarizer) so that only the steps around it cost time; voice memories are off.

    python bench/voice_pick.py [--minutes 10] [--runs 3] [--recording path.ogg]

Reports process CPU seconds (all threads) and wall seconds of each pick, and their medians.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.runner import ensure_demo_star, local_user
from bot.wiring import running_app
from core.backends.resemblyzer_diarizer import ResemblyzerSpeakerEncoder
from core.domain.audio import Diarization, SpeakerTurn
from core.flows.voice_setup import SpeakerEngines, VoiceSetupFlow
from core.ports import Audio, ProgressCallback
from core.voice.audio import encode_audio
from tests.support.app import ScriptedConsole, make_settings
from tests.support.speech import SAMPLE_RATE, SyntheticVoice, conversation

VOICES = (
    SyntheticVoice("en-us", pitch=35, speed=150, variant="boris"),
    SyntheticVoice("en-us", pitch=50, variant="klatt"),
    SyntheticVoice("en-us", pitch=85, variant="f2"),
)
SENTENCES = [
    "Good morning everyone, I brought the bread from the bakery on the corner.",
    "Thank you, put it on the table next to the flowers please.",
    "Come here children, grandma made soup for all of you today, it is still very hot.",
    "The train was late again, so I walked the last part of the way.",
    "We should leave early tomorrow if we want to see the sea before lunch.",
    "Do not forget your warm coats, the wind by the water is always stronger than you think.",
    "I will drive, the car has enough fuel for the whole trip.",
    "Then I will pack the sandwiches and the big blue blanket.",
    "And I will sing the old songs on the way, just like when you were little.",
]


class OracleDiarizer:
    """``Diarizer`` that answers with the recording's known turns."""

    name = "oracle"

    def __init__(self, turns: tuple[SpeakerTurn, ...]) -> None:
        self.turns = turns

    async def diarize(
        self,
        audio: Audio,
        *,
        sample_rate: int = SAMPLE_RATE,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Diarization:
        return Diarization(turns=self.turns, engine=self.name)


def make_recording(minutes: float, path: Path) -> tuple[SpeakerTurn, ...]:
    """Write a conversation of about ``minutes`` to ``path``; return its known turns."""
    lines: list[tuple[int, str]] = []
    per_line_s = 4.5
    while len(lines) * per_line_s < minutes * 60:
        i = len(lines)
        lines.append((i % 3, SENTENCES[(i * 4) % len(SENTENCES)]))
    audio, known = conversation(lines, voices=VOICES)
    encode_audio(audio, SAMPLE_RATE, path)
    size = path.stat().st_size
    print(f"recording: {audio.size / SAMPLE_RATE / 60:.1f} min, {len(known)} turns, {size} bytes")
    return tuple(SpeakerTurn(start=k.start, end=k.end, speaker=f"S{k.speaker + 1}") for k in known)


async def one_pick(recording: Path, turns: tuple[SpeakerTurn, ...], encoder: object) -> tuple[float, float]:
    """Run /voice to the pick question in a fresh app; return the pick's (CPU s, wall s)."""
    with tempfile.TemporaryDirectory(prefix="vos-bench-") as tmp:
        async with running_app(make_settings(Path(tmp)), use_settings_model=False) as app:
            flow = app.engine.router.flows[VoiceSetupFlow.kind]
            assert isinstance(flow, VoiceSetupFlow)
            flow.engines = SpeakerEngines(diarizer=OracleDiarizer(turns), encoder=encoder)  # type: ignore[arg-type]
            flow.memories = None
            await ensure_demo_star(app, await local_user(app, "local"))
            console = ScriptedConsole(app)
            await console.say("/voice", "1", f"/voice {recording}")
            out = await console.say("3")
            assert "[3]" in out, out[-400:]
            cpu, wall = time.process_time(), time.perf_counter()
            out = await console.say("3")  # the f2 voice, in order of appearance
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            assert "목소리를 간직했어요" in out, out[-400:]
            return cpu, wall


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    default = Path(tempfile.gettempdir()) / "vos-bench-family.ogg"
    parser.add_argument("--recording", type=Path, default=default)
    parser.add_argument("--turns", type=Path, default=None, help="where the known turns are kept (.tsv)")
    args = parser.parse_args()
    turns_file = args.turns or args.recording.with_suffix(".tsv")
    if args.recording.is_file() and turns_file.is_file():
        rows = [line.split("\t") for line in turns_file.read_text().splitlines()]
        turns = tuple(SpeakerTurn(start=float(s), end=float(e), speaker=lab) for s, e, lab in rows)
    else:
        turns = make_recording(args.minutes, args.recording)
        turns_file.write_text("".join(f"{t.start}\t{t.end}\t{t.speaker}\n" for t in turns))
    encoder = ResemblyzerSpeakerEncoder()
    encoder.embed(conversation([(0, SENTENCES[0])], voices=VOICES)[0])  # load the model before timing
    results = []
    for run in range(args.runs):
        cpu, wall = await one_pick(args.recording, turns, encoder)
        results.append((cpu, wall))
        print(f"run {run + 1}: pick CPU {cpu:.2f} s, wall {wall:.2f} s")
    cpus, walls = zip(*results, strict=True)
    print(f"median: pick CPU {statistics.median(cpus):.2f} s, wall {statistics.median(walls):.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
