"""The Bot API's HTTP client on aiohttp: the same contract as PTB's HTTPXRequest, less CPU.

PTB's default `HTTPXRequest` (httpx over httpcore and anyio) spent 1.8 ms of CPU per Bot API
call with 8 connections in use and 5–7 ms with 32 (its pool polls every connection's socket
on every request), aiohttp 0.35–0.38 ms with 32, PTB's request building included
(bench/fixes.md, "#16 send"); at a paid broadcast's 1,000 messages a second httpx alone is
more than a core. aiohttp parses HTTP in C and keeps its pool in a dict of
queues: `AiohttpRequest` is PTB's public extension point (`telegram.request.BaseRequest`)
over one `aiohttp.ClientSession`, with HTTPXRequest's defaults and error mapping:

- timeouts (read 5 s, write 5 s, connect 5 s, pool 1 s; 20 s to write an upload) are taken
  per call as PTB passes them; a timeout raises `TimedOut` (a full pool with httpx's
  message), any other client error `NetworkError("aiohttp.<Error>: …")`, as HTTPXRequest
  does for httpx's. aiohttp has no write timeout: a call is bounded as a whole by the sum of
  the read, write and connect timeouts (see `_timeouts`);
- parameters go as JSON (see `_body`); uploads as a multipart form, as httpx sends them;
- proxies come from the environment (HTTPS_PROXY…), as with httpx; a proxy aiohttp would
  not use (ALL_PROXY alone, an https:// proxy URL: `ignored_proxy`) makes build_application
  take httpx instead, with a warning.

`DEPOSIT_HTTP_CLIENT=httpx` keeps PTB's client (bot/config.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal
from urllib.request import getproxies

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

HttpClient = Literal["aiohttp", "httpx"]


def ignored_proxy(proxies: dict[str, str] | None = None) -> str | None:
    """A proxy of the environment that httpx uses and aiohttp would not (aiohttp reads only
    HTTP(S)_PROXY, and skips a proxy reached over https://), else None."""
    found = getproxies() if proxies is None else proxies
    https = found.get("https") or ("" if "https" in found else found.get("all", ""))
    if https and ("https" not in found or https.lower().startswith("https://")):
        return https
    return None


def redact_proxy(url: str) -> str:
    """The proxy's address without its credentials, for a log line."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url.rpartition("@")[2]
_JSON = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """`BaseRequest` over one aiohttp session (keep-alive pool of `connection_pool_size`)."""

    __slots__ = ("_connect", "_media_write", "_pool", "_read", "_session", "_shut", "_size",
                 "_slots", "_write")

    def __init__(self, connection_pool_size: int = 256, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0,
                 media_write_timeout: float | None = 20.0) -> None:
        self._size = connection_pool_size
        self._read, self._write, self._connect = read_timeout, write_timeout, connect_timeout
        self._pool, self._media_write = pool_timeout, media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._shut = False
        self._slots = asyncio.Semaphore(connection_pool_size)  # the pool timeout's count

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds."""
        return self._read

    async def initialize(self) -> None:
        """Open the session (in the running loop, where aiohttp wants it)."""
        if self._session is None or self._session.closed:
            # Reading the proxy variables costs a thread hop per request: only when set
            connector = aiohttp.TCPConnector(limit=self._size, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT},
                trust_env=bool(getproxies()), timeout=aiohttp.ClientTimeout(total=None))
        self._shut = False

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        self._shut = True
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         ) -> tuple[int, bytes]:
        """One call: the status code and the body."""
        if self._shut:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        if self._session is None:  # like HTTPXRequest, usable before initialize()
            await self.initialize()
        assert self._session is not None
        files = request_data.multipart_data if request_data else None
        body, headers = _body(request_data, files)
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        write = ((self._media_write if files else self._write)
                 if isinstance(write_timeout, DefaultValue) else write_timeout)
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        await self._take_slot(self._pool if isinstance(pool_timeout, DefaultValue)
                              else pool_timeout)
        try:
            async with self._session.request(
                    method, url, data=body, headers=headers,
                    timeout=_timeouts(read, write, connect)) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's timeouts (asyncio.TimeoutError is this one)
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
        finally:
            self._slots.release()

    async def _take_slot(self, pool_timeout: float | None) -> None:
        """A connection of the pool, waited for at most `pool_timeout` (HTTPXRequest's pool
        timeout, with its message: aiohttp's own bound also counts the connecting)."""
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(pool_timeout):
                await self._slots.acquire()
        except TimeoutError as err:
            raise TimedOut(message=(
                "Pool timeout: All connections in the connection pool are occupied. Request "
                "was *not* sent to Telegram. Consider adjusting the connection pool size or "
                "the pool timeout.")) from err


def _timeouts(read: float | None, write: float | None,
              connect: float | None) -> aiohttp.ClientTimeout:
    """httpx's timeouts in aiohttp's terms: connecting bounded by `connect`, each wait for
    the answer by `read` (aiohttp starts it once the body is written). aiohttp has no write
    timeout: writing is bounded with the whole call, by the sum of the three."""
    whole = None if None in (read, write, connect) else read + write + connect  # type: ignore[operator]
    return aiohttp.ClientTimeout(total=whole, sock_connect=connect, sock_read=read)


def _body(request_data: RequestData | None, files: dict[str, Any] | None
          ) -> tuple[Any, dict[str, str] | None]:
    """The parameters as JSON (PTB's own encoding for webhook replies: every value as the
    string a form would carry, so a Bot API reads both alike; a C encoder instead of
    urlencode's per-byte quoting of Chinese text), or a multipart form with the uploads."""
    if request_data is None:
        return None, None
    if files:
        form = aiohttp.FormData(quote_fields=False)
        for name, value in request_data.json_parameters.items():
            form.add_field(name, value)
        for name, part in files.items():
            filename, content, *rest = part
            form.add_field(name, content, filename=filename,
                           content_type=rest[0] if rest else "application/octet-stream")
        return form, None
    if not request_data.parameters:
        return None, None
    return request_data.json_payload, _JSON
