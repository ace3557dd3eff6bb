"""The llama.cpp backend's seam: without llama-cpp-python it says which extra to install."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from core.backends.llama_cpp_chat import LlamaCppChat, LlamaCppChatOptions
from core.ports import ChatModel, EngineUnavailable, PromptMessage
from tests.support.extras import need

PROMPT = (PromptMessage(role="user", content="안녕"),)


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None, reason="llama-cpp-python is installed")
async def test_missing_package_raises_engine_unavailable_naming_the_extra(tmp_path: Path) -> None:
    model = LlamaCppChat(LlamaCppChatOptions(model_path=tmp_path / "model.gguf"))
    assert isinstance(model, ChatModel)
    assert model.count_tokens("안녕하세요") >= 5  # no model loaded: the estimate

    with pytest.raises(EngineUnavailable) as info:
        await model.complete(PROMPT)
    assert info.value.extra == "llama"
    with pytest.raises(EngineUnavailable):
        [chunk async for chunk in model.stream(PROMPT)]
    await model.aclose()


async def test_missing_model_file_raises_engine_unavailable(tmp_path: Path) -> None:
    need("llama_cpp")
    model = LlamaCppChat(LlamaCppChatOptions(model_path=tmp_path / "absent.gguf"))
    with pytest.raises(EngineUnavailable, match="not found"):
        await model.complete(PROMPT)
