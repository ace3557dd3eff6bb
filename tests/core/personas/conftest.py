"""Fixtures for the persona tests: the local OpenAI-compatible server and an app whose star replies come from it."""

from tests.support.llm import llm_app, server  # noqa: F401
