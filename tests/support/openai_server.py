"""A local OpenAI-compatible HTTP server for tests: real HTTP on 127.0.0.1, scripted responses.

Tests queue what the server answers next (``Reply``, ``Status``, ``Slow``, ``Malformed``, ``Drop``,
``Stall``) and read back what it received (``requests``), so prompts and headers can be asserted on.
Answers follow OpenAI's wire format, including server-sent events for ``stream: true`` (chunked transfer
encoding, a role chunk, content chunks, a finish chunk, a usage chunk when ``stream_options.include_usage``
is set, then ``data: [DONE]``). An empty queue answers 500 with a message saying so, so a test that forgot
to script a response fails loudly.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful completion, streamed or not depending on the request."""

    text: str
    prompt_tokens: int = 21
    completion_tokens: int = 9
    model: str = "test-model"
    chunk_chars: int = 3
    """Characters per content chunk when streaming."""


@dataclass(frozen=True, slots=True)
class Status:
    """An HTTP error in OpenAI's error shape (429 with ``Retry-After``, 500, 401...)."""

    status: int
    message: str = "scripted error"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Slow:
    """Wait ``delay_s`` before answering with ``then`` (for timeouts)."""

    delay_s: float
    then: Reply


@dataclass(frozen=True, slots=True)
class Stall:
    """Stream ``after_chunks`` content chunks of ``then``, then go silent for ``delay_s``."""

    then: Reply
    after_chunks: int
    delay_s: float


@dataclass(frozen=True, slots=True)
class Malformed:
    """A 200 whose body is not what OpenAI sends."""

    body: str = '{"id": "chatcmpl-x", "object": "chat.completion", "choices": [{"index": 0, "mess'


@dataclass(frozen=True, slots=True)
class Drop:
    """Close the connection without answering."""


Scripted = Reply | Status | Slow | Stall | Malformed | Drop


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a chat-completions request."""
        return list(self.body.get("messages", []))


def _completion(reply: Reply, created: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": created,
        "model": reply.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_test",
    }


def _stream_events(reply: Reply, created: int, include_usage: bool) -> list[dict[str, Any]]:
    base = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": created,
        "model": reply.model,
    }
    base |= {"service_tier": "default", "system_fingerprint": "fp_test"}
    extra: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return base | {"choices": [choice]} | extra

    events = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    step = max(1, reply.chunk_chars)
    events += [chunk({"content": reply.text[i : i + step]}, None) for i in range(0, len(reply.text), step)]
    events.append(chunk({}, "stop"))
    if include_usage:
        usage = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        }
        events.append(base | {"choices": [], "usage": usage})
    return events


def hashed_embedding(text: str, dim: int) -> list[float]:
    """A deterministic stand-in for a remote model: hashed character bigrams (unnormalized, like some
    servers), so texts sharing words get similar vectors."""
    vector = [0.0] * dim
    squeezed = "".join(text.lower().split())
    for a, b in itertools.pairwise(squeezed):
        digest = hashlib.sha1((a + b).encode(), usedforsecurity=False).digest()
        vector[int.from_bytes(digest[:4], "big") % dim] += 3.0
    vector[0] += 0.5  # never the zero vector
    return vector


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) leaves a broken pipe behind: expected, not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class OpenAIServer:
    """Start with ``with OpenAIServer() as server:``; point a client at ``server.base_url``."""

    def __init__(self, *, embedding_dim: int = 64) -> None:
        self.embedding_dim = embedding_dim
        self.embedding_failures = 0
        """``/v1/embeddings`` answers 500 this many times before it works again."""
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = _QuietHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="openai-test-server",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (ends in ``/v1``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def push(self, *responses: Scripted) -> None:
        """Queue responses, answered in order, one per request."""
        with self._lock:
            self._queue.extend(responses)

    @property
    def pending(self) -> int:
        """Scripted responses not yet used."""
        with self._lock:
            return len(self._queue)

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # releases handlers sleeping in Slow or Stall
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self) -> Scripted | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10  # idle keep-alive connections end on their own

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the per-request log lines."""

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(RecordedRequest("POST", self.path, headers, body))
                if self.path.rstrip("/") == "/v1/embeddings":
                    self._embeddings(body)
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                self._answer(server._next(), body)

            def _embeddings(self, body: dict[str, Any]) -> None:
                with server._lock:
                    failing = server.embedding_failures > 0
                    server.embedding_failures -= int(failing)
                if failing:
                    self._error(Status(500, "embedding backend down"))
                    return
                inputs = body.get("input")
                texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
                data = [
                    {
                        "object": "embedding",
                        "index": i,
                        "embedding": hashed_embedding(str(t), server.embedding_dim),
                    }
                    for i, t in enumerate(texts)
                ]
                usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
                self._json(200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage})

            def _answer(self, scripted: Scripted | None, body: dict[str, Any]) -> None:
                created = int(time.time())
                match scripted:
                    case None:
                        self._error(Status(500, "no scripted response left"))
                    case Reply() if body.get("stream"):
                        self._stream(scripted, body, created, stall=None)
                    case Reply():
                        self._json(200, _completion(scripted, created))
                    case Status():
                        self._error(scripted)
                    case Slow(delay_s=delay, then=then):
                        if not server._closing.wait(delay):
                            self._answer(then, body)
                    case Stall(then=then):
                        self._stream(then, body, created, stall=scripted)
                    case Malformed(body=text):
                        self._send(200, text.encode(), "application/json")
                    case Drop():
                        self.close_connection = True

            def _json(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json", headers)

            def _error(self, err: Status) -> None:
                code = "rate_limit_exceeded" if err.status == 429 else None
                kind = "requests" if err.status == 429 else "server_error"
                payload = {"error": {"message": err.message, "type": kind, "param": None, "code": code}}
                self._json(err.status, payload, err.headers)

            def _send(
                self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply, body: dict[str, Any], created: int, stall: Stall | None) -> None:
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                for index, event in enumerate(_stream_events(reply, created, include_usage)):
                    if stall is not None and index == stall.after_chunks + 1:
                        server._closing.wait(stall.delay_s)
                        self.close_connection = True
                        return
                    self._chunk(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler
