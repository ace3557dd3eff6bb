"""AiohttpRequest against real HTTP servers, side by side with PTB's own HTTPXRequest."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from adapters.telegram.request import POOL_TIMEOUT_MESSAGE, AiohttpRequest
from core.domain.actions import SendText
from core.domain.events import Event, TextMessage
from tests.adapters.telegram.botapi_server import MB, TOKEN, BotApiServer, text_update
from tests.adapters.telegram.conftest import ScriptedEngine

CLIENTS: dict[str, Callable[..., BaseRequest]] = {"aiohttp": AiohttpRequest, "httpx": HTTPXRequest}


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the test server parsed it."""

    http_method: str
    path: str
    content_type: str
    user_agent: str
    fields: dict[str, str]
    files: dict[str, tuple[str | None, str, bytes]]


class RecordingServer:
    """Records parsed requests; ``answer`` decides the status and JSON body of the next replies."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer: tuple[int, dict[str, Any]] = (200, {"ok": True, "result": True})
        self.delay_s = 0.0
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        fields: dict[str, str] = {}
        files: dict[str, tuple[str | None, str, bytes]] = {}
        if request.method == "POST":
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[name] = (value.filename, value.content_type, value.file.read())
                else:
                    fields[name] = str(value)
        self.received.append(
            Received(
                request.method,
                request.path,
                request.content_type,
                request.headers.get("User-Agent", ""),
                fields,
                files,
            )
        )
        await asyncio.sleep(self.delay_s)
        if request.path.startswith("/file/"):
            return web.Response(body=b"\x00file-bytes\xff" * 1000, content_type="application/octet-stream")
        status, body = self.answer
        return web.json_response(body, status=status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def recorder() -> AsyncIterator[RecordingServer]:
    server = RecordingServer()
    app = web.Application(client_max_size=60 * MB)
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield server
    await runner.cleanup()


def _data(**params: object) -> RequestData:
    return RequestData([RequestParameter.from_input(name, value) for name, value in params.items()])


KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("🔊 듣기", callback_data="v:1")]])

CALLS: dict[str, Callable[[], RequestData | None]] = {
    "no parameters": lambda: None,
    "form fields": lambda: _data(chat_id=42, text='안녕 "엄마" & a+b=c\n둘째 줄', reply_markup=KEYBOARD),
    "multipart": lambda: _data(
        chat_id=42,
        caption="목소리 🎙",
        voice=InputFile(b"OggS" + bytes(range(256)) * 40, filename='엄마 "목소리"\\1.ogg'),
    ),
    "two files": lambda: _data(
        chat_id=7,
        document=InputFile(b"PK\x03\x04 zip", filename="내보내기.zip"),
        thumbnail=InputFile(b"\xff\xd8 jpeg", filename="t.jpg"),
    ),
}


@pytest.mark.parametrize("call", CALLS)
async def test_bodies_arrive_as_httpx_sends_them(recorder: RecordingServer, call: str) -> None:
    for make in CLIENTS.values():
        async with make() as request:
            await request.post(f"{recorder.url}/bot{TOKEN}/sendSomething", CALLS[call]())
    with_aiohttp, with_httpx = recorder.received
    assert with_aiohttp.fields == with_httpx.fields
    assert with_aiohttp.files == with_httpx.files
    assert (with_aiohttp.http_method, with_aiohttp.path) == (with_httpx.http_method, with_httpx.path)
    assert with_aiohttp.content_type == with_httpx.content_type
    assert with_aiohttp.user_agent == with_httpx.user_agent == BaseRequest.USER_AGENT
    if call == "multipart":
        assert "엄마" in (with_aiohttp.files["voice"][0] or "")  # UTF-8, not %-encoded


async def test_retrieve_downloads_with_get(recorder: RecordingServer) -> None:
    async with AiohttpRequest() as request:
        content = await request.retrieve(f"{recorder.url}/file/bot{TOKEN}/voice/file_1.oga")
    assert content == b"\x00file-bytes\xff" * 1000
    (received,) = recorder.received
    assert received.http_method == "GET"
    assert received.path == f"/file/bot{TOKEN}/voice/file_1.oga"


async def test_error_statuses_become_ptb_errors(recorder: RecordingServer) -> None:
    url = f"{recorder.url}/bot{TOKEN}/sendMessage"
    async with AiohttpRequest() as request:
        recorder.answer = (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
        )
        with pytest.raises(BadRequest, match="Chat not found"):
            await request.post(url, _data(chat_id=1, text="x"))
        recorder.answer = (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": 7},
            },
        )
        with pytest.raises(RetryAfter) as raised:
            await request.post(url, _data(chat_id=1, text="x"))
        assert raised.value.retry_after == 7


async def test_read_timeout_raises_timed_out(recorder: RecordingServer) -> None:
    recorder.delay_s = 2.0
    async with AiohttpRequest(read_timeout=5.0) as request:
        with pytest.raises(TimedOut):
            await request.post(f"{recorder.url}/bot{TOKEN}/getMe", read_timeout=0.2)


async def test_pool_timeout_says_the_request_was_not_sent(recorder: RecordingServer) -> None:
    recorder.delay_s = 1.0
    url = f"{recorder.url}/bot{TOKEN}/getMe"
    async with AiohttpRequest(connection_pool_size=1, pool_timeout=0.1) as request, asyncio.TaskGroup() as tg:
        first = tg.create_task(request.post(url))
        await asyncio.sleep(0.2)  # the one connection is busy
        with pytest.raises(TimedOut) as raised:
            await request.post(url)
        assert raised.value.message == POOL_TIMEOUT_MESSAGE
        assert await first is True
    assert len(recorder.received) == 1


async def test_refused_connection_raises_network_error_without_the_token() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    assert not isinstance(raised.value, TimedOut)
    assert "ClientConnectorError" in raised.value.message
    assert TOKEN.partition(":")[2] not in str(raised.value)


async def test_stalled_upload_hits_the_media_write_timeout() -> None:
    """A server that never reads: each write must finish within the write timeout, as with httpx."""
    stalled: list[asyncio.StreamWriter] = []

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stalled.append(writer)

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AiohttpRequest(media_write_timeout=0.3, read_timeout=30.0) as request:
            upload = _data(chat_id=1, document=InputFile(b"x" * (40 * MB), filename="big.bin"))
            started = asyncio.get_running_loop().time()
            with pytest.raises(TimedOut):
                await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/sendDocument", upload)
            assert asyncio.get_running_loop().time() - started < 10
    finally:
        for writer in stalled:
            writer.close()
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


async def test_lifecycle() -> None:
    request = AiohttpRequest(read_timeout=12.5)
    assert request.read_timeout == 12.5
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:1/", "GET")
    await request.initialize()
    await request.shutdown()
    await request.shutdown()  # twice is fine
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:1/", "GET")
    await request.initialize()  # usable again, as HTTPXRequest
    await request.shutdown()


async def test_bot_uploads_50_mb_document(tmp_path: Path) -> None:
    content = bytes(range(256)) * (50 * MB // 256)
    async with BotApiServer() as server:
        bot = Bot(TOKEN, base_url=server.base_url, request=AiohttpRequest(media_write_timeout=60.0))
        async with bot:
            await bot.send_document(42, InputFile(content, filename="회의록.wav"))
        (call,) = server.calls("sendDocument")
    uploaded = call.files["document"]
    assert uploaded.filename == "회의록.wav"
    assert len(uploaded.content) == 50 * MB
    assert hashlib.sha256(uploaded.content).digest() == hashlib.sha256(content).digest()


@pytest.mark.parametrize("client", ["aiohttp", "httpx"])
async def test_adapter_serves_with_either_client(
    server: BotApiServer, engine: ScriptedEngine, start_adapter, client: str
) -> None:
    def script(event: Event) -> list[SendText]:
        return [SendText(text=f"re:{event.text}")] if isinstance(event, TextMessage) else []

    engine.script = script
    running = await start_adapter(http_client=client)
    request = running.adapter.application.bot.request
    assert type(request) is CLIENTS[client]
    await server.inject(text_update(3001, "안녕"))
    (reply,) = await server.wait_calls("sendMessage", chat_id=3001)
    assert reply.params["text"] == "re:안녕"


@pytest.mark.parametrize("stop", ["cancel", "read timeout"])
async def test_a_request_cut_short_gives_its_connection_back(recorder: RecordingServer, stop: str) -> None:
    """A cancelled or timed-out call frees its pool slot and closes its half-read connection."""
    url = f"{recorder.url}/bot{TOKEN}/getMe"
    async with AiohttpRequest(connection_pool_size=1, pool_timeout=0.5) as request:
        recorder.delay_s = 1.0
        if stop == "cancel":
            call = asyncio.create_task(request.post(url))
            await asyncio.sleep(0.2)  # sent; waiting for the answer
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
        else:
            with pytest.raises(TimedOut):
                await request.post(url, read_timeout=0.2)
        recorder.delay_s = 0.0
        # Both our slot and aiohttp's one connection are free again (aiohttp would wait for good).
        async with asyncio.timeout(5):
            assert await request.post(url) is True
    assert len(recorder.received) == 2


@pytest.mark.parametrize(
    "base", ["https://api.telegram.org", "https://api.telegram.org:443", "https://API.telegram.org"]
)
def test_error_texts_lose_the_token_however_aiohttp_spells_the_url(base: str) -> None:
    from yarl import URL

    from adapters.telegram.request import _without_url

    url = f"{base}/bot{TOKEN}/sendMessage"
    text = f"Can not write request body for {URL(url)!s}"  # aiohttp prints the URL normalised
    assert TOKEN.partition(":")[2] not in _without_url(text, url)
    assert _without_url(text, url).endswith("api.telegram.org/...")
