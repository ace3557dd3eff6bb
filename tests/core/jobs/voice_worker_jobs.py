"""The voice flow's job kinds on a worker process with the deterministic fake speaker engines.

Loaded by ``vos worker --jobs-module tests.core.jobs.voice_worker_jobs``: the app already registered
``voice_separate``; this swaps in fake engines whose diarizer names the worker's process id.
"""

from __future__ import annotations

import os
from typing import Any

from core.flows.voice_setup import SpeakerEngines, VoiceSetupFlow
from core.jobs.registry import JobRegistry
from tests.core.flows.voice_fakes import FakeDiarizer, FakeEncoder


def register_jobs(registry: JobRegistry, app: Any) -> None:
    """Entry point for ``vos worker --jobs-module``."""
    flow = app.engine.router.flows[VoiceSetupFlow.kind]
    assert isinstance(flow, VoiceSetupFlow) and "voice_separate" in registry.kinds()
    flow.engines = SpeakerEngines(
        diarizer=FakeDiarizer(name=f"fake-pid-{os.getpid()}"), encoder=FakeEncoder()
    )
