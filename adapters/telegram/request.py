"""PTB's HTTP transport on aiohttp: what ``HTTPXRequest`` does, for about half its CPU per Bot API call.

PTB's default transport (httpx over httpcore and anyio) spends more CPU per call than the rest of the
adapter: cancel scopes, cookie handling, URL models and a pool scan per request. :class:`AiohttpRequest`
keeps ``HTTPXRequest``'s behaviour (pool size and pool timeout, the four timeouts with their defaults, the
media write timeout, urlencoded and multipart bodies, no redirects, proxies from the environment, the
same errors) on an aiohttp session that lives in the running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import urllib.request
from typing import IO, Any, Final
from urllib.parse import urlencode

import aiohttp
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload
from multidict import CIMultiDict
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput, UploadFileDict
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent to "
    "Telegram. Consider adjusting the connection pool size or the pool timeout."
)
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class AiohttpRequest(BaseRequest):
    """A :class:`telegram.request.BaseRequest` on one :class:`aiohttp.ClientSession`.

    The arguments mean what they mean for ``HTTPXRequest`` (same defaults). Timeouts are per operation:
    ``connect_timeout`` per connection attempt, ``read_timeout`` per read from the socket once the body
    is sent, ``write_timeout`` (``media_write_timeout`` for uploads) per write of an upload chunk, and
    ``pool_timeout`` while waiting for one of ``connection_pool_size`` connections. ``proxy`` defaults to
    the ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY`` environment, as with httpx.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_proxy",
        "_read_timeout",
        "_session",
        "_slots",
        "_timeouts",
        "_write_timeout",
    )

    def __init__(  # noqa: PLR0917 (HTTPXRequest's parameters, positional there too)
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._proxies: dict[str, str | None] = {}  # origin -> proxy, resolved once per origin
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds (see :attr:`BaseRequest.read_timeout`)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session in the running loop (again after :meth:`shutdown`)."""
        if self._session is not None and not self._session.closed:
            return
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0, keepalive_timeout=5.0)
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets no cookies; skip the jar's work
            headers={"User-Agent": self.USER_AGENT},
            trust_env=False,  # proxies from the environment are resolved once per origin, below
        )
        self._slots = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is None or self._session.closed:
            log.debug("This AiohttpRequest is already shut down. Returning.")
            return
        await self._session.close()

    async def do_request(  # noqa: PLR0917 (BaseRequest's signature)
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; timeouts not passed take this object's defaults (see ``HTTPXRequest``)."""
        session, slots = self._session, self._slots
        if session is None or slots is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if files else self._write_timeout

        await self._acquire(slots, pool_timeout)
        try:
            async with asyncio.timeout(None) as write_deadline:
                data: Any = None
                headers: dict[str, str] | None = None
                if files:
                    form = _multipart(request_data.json_parameters if request_data else {}, files)
                    data = _WriteTimedPayload(form, write_deadline, write_timeout)
                elif request_data is not None and (parameters := request_data.json_parameters):
                    data, headers = urlencode(parameters).encode(), _FORM
                async with session.request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    timeout=self._client_timeout(connect_timeout, read_timeout),
                    proxy=self._proxy_for(url),
                    allow_redirects=False,  # as httpx: a redirect is the caller's business
                ) as response:
                    return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {_without_url(str(exc), url)}") from exc
        finally:
            slots.release()

    async def _acquire(self, slots: asyncio.Semaphore, pool_timeout: float | None) -> None:
        """Take one of the pool's connections, waiting at most ``pool_timeout`` when all are busy."""
        if not slots.locked():
            await slots.acquire()  # free slot: returns at once, no timer to arm
            return
        try:
            async with asyncio.timeout(pool_timeout):
                await slots.acquire()
        except TimeoutError as exc:
            raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from exc

    def _client_timeout(self, connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get((connect, read))
        if timeout is None:
            # sock_connect bounds each connection attempt (httpx's connect timeout); the pool wait is
            # ours (_acquire). sock_read starts once the body is sent and restarts on every read.
            timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=connect, sock_read=read)
            if len(self._timeouts) < 64:  # a handful of distinct values in practice
                self._timeouts[(connect, read)] = timeout
        return timeout

    def _proxy_for(self, url: str) -> str | None:
        if self._proxy is not None:
            return self._proxy
        scheme, _, rest = url.partition("://")
        host = rest.partition("/")[0]
        origin = f"{scheme}://{host}"
        if origin not in self._proxies:
            self._proxies[origin] = _environment_proxy(scheme, host.rpartition("@")[2])
        return self._proxies[origin]


def _environment_proxy(scheme: str, host: str) -> str | None:
    """The proxy httpx would take from the environment for ``scheme://host`` (None when bypassed)."""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme.lower()) or proxies.get("all")
    # proxy_bypass_environment is public in CPython but missing from typeshed.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if proxy is None or bypass(host, proxies):
        return None
    return proxy


def _without_url(text: str, url: str) -> str:
    """aiohttp puts the request URL, which holds the bot token, into some messages: keep the origin only."""
    # By the path: aiohttp prints the URL normalised (host lower-cased, default port dropped).
    path = url.partition("://")[2].partition("/")[2]
    return text.replace(path, "...") if path else text


def _multipart(parameters: dict[str, str], files: UploadFileDict) -> aiohttp.MultipartWriter:
    """The form httpx sends for ``data=parameters, files=files``: fields first, then the files."""
    # Unquoted fields: file names travel as UTF-8, as httpx (and browsers) send them, not %-encoded.
    form = aiohttp.FormData(quote_fields=False, default_to_multipart=True)
    for name, value in parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        body: IO[bytes] = io.BytesIO(content) if isinstance(content, bytes) else content
        form.add_field(name, body, filename=_html5_escaped(filename), content_type=mimetype)
    writer = form()
    assert isinstance(writer, aiohttp.MultipartWriter)
    return writer


# httpx's (HTML5's) escapes in a form-data file name; aiohttp then doubles the backslashes, as httpx does.
_HTML5_ESCAPES = {ord('"'): "%22"} | {c: f"%{c:02X}" for c in range(0x20) if c != 0x1B}


def _html5_escaped(filename: str) -> str:
    return filename.translate(_HTML5_ESCAPES)


class _WriteTimedPayload(Payload):
    """A multipart body whose every socket write must finish within the write timeout.

    httpx bounds each write, not the whole upload; aiohttp has no write timeout, so each write
    re-arms the request's deadline and a write that stalls cancels the request as a timeout.
    """

    def __init__(
        self, form: aiohttp.MultipartWriter, deadline: asyncio.Timeout, write_timeout: float | None
    ) -> None:
        super().__init__(form, content_type=form.content_type)
        self._form = form
        self._size = form.size
        self._deadline = deadline
        self._write_timeout = write_timeout

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Not used for uploads (aiohttp calls it for logging and tests only)."""
        return self._form.decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Write the form through a writer that times every write."""
        if self._write_timeout is None:
            await self._form.write(writer)
            return
        await self._form.write(_TimedWriter(writer, self._deadline, self._write_timeout))

    async def close(self) -> None:
        """Release the form's parts."""
        await self._form.close()


class _TimedWriter(AbstractStreamWriter):
    """Delegates to aiohttp's writer, arming ``deadline`` for ``timeout`` seconds around each write."""

    def __init__(self, inner: AbstractStreamWriter, deadline: asyncio.Timeout, timeout: float) -> None:
        self._inner = inner
        self._deadline = deadline
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        self._rearm(self._loop.time() + self._timeout)
        await self._inner.write(chunk)
        self._rearm(None)

    def _rearm(self, when: float | None) -> None:
        # The request may already be over (a server can answer before reading the whole upload):
        # the deadline has then been left and cannot change any more, and nothing needs timing.
        with contextlib.suppress(RuntimeError):
            self._deadline.reschedule(when)

    async def write_eof(self, chunk: bytes = b"") -> None:
        await self._inner.write_eof(chunk)

    async def drain(self) -> None:
        await self._inner.drain()

    def enable_compression(self, encoding: str = "deflate", strategy: int | None = None) -> None:
        self._inner.enable_compression(encoding, strategy)

    def enable_chunking(self) -> None:
        self._inner.enable_chunking()

    async def write_headers(self, status_line: str, headers: CIMultiDict[str]) -> None:
        await self._inner.write_headers(status_line, headers)
