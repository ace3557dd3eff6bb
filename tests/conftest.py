"""Test-wide settings: no model hub, no network, an isolated data directory."""

from __future__ import annotations

import os

# No hub is reachable: make every hub client fail fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = ["tests.support.db", "tests.support.app"]
