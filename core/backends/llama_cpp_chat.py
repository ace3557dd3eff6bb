"""``ChatModel`` on a local GGUF model through llama-cpp-python (the ``llama`` extra).

llama-cpp-python builds from source (minutes) and is not installed by default, so this module imports it
only when a model is first used; without it every call raises ``EngineUnavailable(extra="llama")``.
Inference is blocking and not thread-safe: it runs in a worker thread, one call at a time.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.extras import install_hint
from core.personas.tokens import estimate_tokens
from core.ports import ChatCompletion, ChatModelError, ChatUsage, EngineUnavailable, PromptMessage

_DONE = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class LlamaCppChatOptions:
    """A GGUF file and how to run it."""

    model_path: Path
    context_tokens: int = 4096
    n_threads: int | None = None
    seed: int = 0
    chat_format: str | None = None
    """None uses the chat template stored in the GGUF file."""
    timeout_s: float = 120.0


def _load_llama_module() -> Any:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise EngineUnavailable(
            f"llama-cpp-python is not installed: {install_hint('llama')}", extra="llama"
        ) from exc


class LlamaCppChat:
    """A chat model running in-process on llama.cpp."""

    name = "llama_cpp"

    def __init__(self, options: LlamaCppChatOptions) -> None:
        self.options = options
        self.model = options.model_path.name
        self.context_tokens = options.context_tokens
        self.usage_total = ChatUsage()
        self._llama: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = asyncio.Lock()

    def _model(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                module = _load_llama_module()
                if not self.options.model_path.is_file():
                    raise EngineUnavailable(f"GGUF model not found: {self.options.model_path}", extra="llama")
                self._llama = module.Llama(
                    model_path=str(self.options.model_path),
                    n_ctx=self.options.context_tokens,
                    n_threads=self.options.n_threads,
                    seed=self.options.seed,
                    chat_format=self.options.chat_format,
                    verbose=False,
                )
            return self._llama

    def count_tokens(self, text: str) -> int:
        """Exact once the model is loaded (its own tokenizer), else the conservative estimate."""
        if self._llama is None or not text:
            return estimate_tokens(text)
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _record(self, usage: ChatUsage) -> None:
        self.usage_total = ChatUsage(
            prompt_tokens=self.usage_total.prompt_tokens + usage.prompt_tokens,
            completion_tokens=self.usage_total.completion_tokens + usage.completion_tokens,
        )

    def _create(
        self, messages: Sequence[PromptMessage], max_tokens: int, temperature: float, stream: bool
    ) -> Any:
        return self._model().create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            max_tokens=max_tokens,
            temperature=temperature,
            stream=stream,
        )

    async def complete(
        self, messages: Sequence[PromptMessage], *, max_tokens: int = 512, temperature: float = 0.8
    ) -> ChatCompletion:
        """One completion, computed in a worker thread."""
        async with self._run_lock:
            try:
                async with asyncio.timeout(self.options.timeout_s):
                    result = await asyncio.to_thread(self._create, messages, max_tokens, temperature, False)
            except TimeoutError as exc:
                raise ChatModelError("timeout: the local model did not answer in time") from exc
            except (RuntimeError, ValueError) as exc:
                if isinstance(exc, EngineUnavailable):
                    raise
                raise ChatModelError(f"llama_cpp: {exc}") from exc
        usage_raw = result.get("usage") or {}
        usage = ChatUsage(
            prompt_tokens=int(usage_raw.get("prompt_tokens", 0)),
            completion_tokens=int(usage_raw.get("completion_tokens", 0)),
        )
        self._record(usage)
        text = result["choices"][0]["message"].get("content") or ""
        return ChatCompletion(text=text, model=self.model, usage=usage)

    async def stream(
        self, messages: Sequence[PromptMessage], *, max_tokens: int = 512, temperature: float = 0.8
    ) -> AsyncIterator[str]:
        """Yield text as llama.cpp generates it; the generator is drained in a worker thread."""
        async with self._run_lock:
            chunks: Iterator[Any] = await asyncio.to_thread(
                self._create, messages, max_tokens, temperature, True
            )
            while True:
                try:
                    async with asyncio.timeout(self.options.timeout_s):
                        chunk: Any = await asyncio.to_thread(next, chunks, _DONE)
                except TimeoutError as exc:
                    raise ChatModelError("timeout: the local model stalled") from exc
                if chunk is _DONE:
                    break
                delta = chunk["choices"][0].get("delta") or {}
                if delta.get("content"):
                    yield delta["content"]

    async def aclose(self) -> None:
        """Free the model."""
        with self._load_lock:
            llama, self._llama = self._llama, None
        if llama is not None and hasattr(llama, "close"):
            await asyncio.to_thread(llama.close)
