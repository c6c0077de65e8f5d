"""Reading YouTube's server-streaming live chat over HTTP, from asyncio.

`GET {root}youtube/v3/liveChat/messages/stream?liveChatId=C&part=...[&pageToken=T]` answers
with a chunked body that is one JSON array; its elements, each shaped like a
`liveChatMessages.list` response, arrive as the chat happens (`[{...}` then `,{...}` ...), and
the server closes the array after a while. An error is an array holding `{"error": {...}}`.

google-api-python-client reads a body to its end before it returns anything, so it cannot
serve a response that lasts as long as the chat. Instead:
- with an API key, aiohttp reads the response on the event loop (the key goes in `key=`);
- with OAuth, google-auth's `AuthorizedSession` (requests) reads it in a thread of its own,
  because it is synchronous; it adds the bearer token and refreshes it when it has expired.

`JsonArrayReader` turns the bytes into elements as they complete, wherever the chunks happen
to split the text (even inside a UTF-8 character): `json.JSONDecoder.raw_decode` over what has
arrived, trying again when more comes. The request URL carries the API key, so neither it nor
the text of an HTTP library's exception (which often quotes the URL) is ever put into a
message or a log line.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import re
import threading
from collections.abc import AsyncIterator
from typing import Any

from .youtube_client import (
    REVOKED, TRANSIENT, ApiError, YouTubeApi, error_from_http, refresh_message,
)

PATH = "youtube/v3/liveChat/messages/stream"
DEFAULT_ROOT = "https://youtube.googleapis.com/"
#: the most text one element may take before we give up on it (a full page is ~3 MB)
MAX_ELEMENT_CHARS = 16 * 1024 * 1024
#: how much of an error response we read
MAX_ERROR_BYTES = 64 * 1024
_WHITESPACE = " \t\r\n"
_AFTER_ELEMENT = _WHITESPACE + ",]"
#: what changes the nesting of a JSON text: quotes, backslashes, brackets
_STRUCTURE = re.compile(r'["\\{}\[\]]')


class StreamFormatError(ValueError):
    """The body is not the JSON array the stream promises."""


class JsonArrayReader:
    """Elements of one top-level JSON array, as soon as each is complete.

    `feed(bytes)` returns the elements completed by those bytes; `close()` says the body has
    ended and raises StreamFormatError when it ended before the array did, or when what came
    was not an array of JSON values. An element that does not parse yet is kept and tried
    again when more bytes arrive; one that grows past `max_chars` is refused.
    """

    def __init__(self, max_chars: int = MAX_ELEMENT_CHARS) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._json = json.JSONDecoder()
        self._buffer = ""
        self._max = max_chars
        self.started = False
        self.finished = False
        # How far the element at the start of the buffer has been scanned (it is decoded only
        # once its brackets close, so a large element arriving in many chunks costs one pass,
        # not one decode per chunk): position, bracket depth, inside a string.
        self._scanned, self._depth, self._in_string = 0, 0, False

    def feed(self, data: bytes) -> list[Any]:
        self._buffer += self._text.decode(data)
        return self._drain(final=False)

    def close(self) -> list[Any]:
        self._buffer += self._text.decode(b"", final=True)
        elements = self._drain(final=True)
        if not self.finished:
            raise StreamFormatError("the stream ended inside its JSON array" if self.started
                                    else "the stream's body is empty")
        return elements

    def _drain(self, *, final: bool) -> list[Any]:
        elements: list[Any] = []
        text, pos = self._buffer, 0
        end_of_text = len(text)
        while True:
            while pos < end_of_text and text[pos] in _WHITESPACE:
                pos += 1
            if pos == end_of_text:
                break
            char = text[pos]
            if self.finished:
                raise StreamFormatError("text after the end of the stream's JSON array")
            if not self.started:
                if char != "[":
                    raise StreamFormatError("the stream's body is not a JSON array")
                self.started, pos = True, pos + 1
                continue
            if char == "]":
                self.finished, pos = True, pos + 1
                continue
            if char == ",":
                pos += 1
                continue
            if char in "{[" and not self._closes(text, pos):
                break  # its brackets are not closed yet: wait for more
            try:
                value, end = self._json.raw_decode(text, pos)
            except json.JSONDecodeError:
                if final:
                    raise StreamFormatError("an element of the stream is not valid JSON"
                                            ) from None
                break  # most likely incomplete: wait for more
            if end < end_of_text and text[end] not in _AFTER_ELEMENT:
                if final:
                    raise StreamFormatError("an element of the stream is not valid JSON")
                break  # e.g. "1.5" of "1.5e+3" still arriving
            if end == end_of_text and not final and isinstance(value, (int, float)):
                break  # a number at the very end may still be growing ("12" of "123")
            elements.append(value)
            pos = end
            self._scanned, self._depth, self._in_string = 0, 0, False
        self._buffer = text[pos:]  # the element still arriving, if any, starts it
        if len(self._buffer) > self._max:
            raise StreamFormatError(f"an element of the stream is larger than {self._max} "
                                    "characters")
        return elements


    def _closes(self, text: str, start: int) -> bool:
        """Do the brackets of the object or array starting at `start` close within `text`?
        Resumes where the last call stopped (`_scanned` counts from `start`)."""
        if self._scanned:
            pos, depth, in_string = start + self._scanned, self._depth, self._in_string
        else:
            pos, depth, in_string = start + 1, 1, False
        while True:
            match = _STRUCTURE.search(text, pos)
            if match is None:
                pos = len(text)  # nothing here changes the nesting: never look at it again
                break
            char, pos = match.group(), match.end()
            if char == "\\":
                if pos >= len(text):  # the escaped character has not arrived yet
                    pos -= 1
                    break
                pos += 1
            elif char == '"':
                in_string = not in_string
            elif not in_string:
                depth += 1 if char in "{[" else -1
                if depth == 0:
                    self._scanned, self._depth, self._in_string = 0, 0, False
                    return True
        self._scanned, self._depth, self._in_string = pos - start, depth, in_string
        return False


def element_error(element: Any) -> ApiError | None:
    """The error an element carries (`{"error": {...}}`), if it is one."""
    if isinstance(element, dict) and isinstance(element.get("error"), dict):
        code = element["error"].get("code")
        status = code if isinstance(code, int) and not isinstance(code, bool) else None
        return error_from_http(status, json.dumps(element))
    return None


def stream_url(api_endpoint: str) -> str:
    root = api_endpoint or DEFAULT_ROOT
    return root.rstrip("/") + "/" + PATH


class StreamClient:
    """Connections to the chat stream for one collector; `aclose()` when done."""

    def __init__(self, api: YouTubeApi, *, read_timeout: float) -> None:
        self.api = api
        self.read_timeout = read_timeout
        self._session: Any = None  # aiohttp.ClientSession, made on first use (in the loop)

    async def elements(self, chat_id: str, parts: str, page_token: str | None
                       ) -> AsyncIterator[Any]:
        """One connection: yields each element as it arrives, returns when the server ends
        the array; raises ApiError for an HTTP error, an error element, a broken body or a
        network failure."""
        params = {"liveChatId": chat_id, "part": parts}
        if page_token:
            params["pageToken"] = page_token
        if self.api.uses_oauth:
            source: _Body = _ThreadedBody(self.api, stream_url(self.api.api_endpoint), params,
                                          self.read_timeout)
        else:
            source = _AiohttpBody(await self._aiohttp(), stream_url(self.api.api_endpoint),
                                  {**params, "key": self.api.api_key or ""})
        try:
            status = await source.open()
            if status != 200:
                raise error_from_http(status, await _read_some(source.chunks()))
            reader = JsonArrayReader()
            async for chunk in source.chunks():
                for element in reader.feed(chunk):
                    yield _checked(element)
            for element in reader.close():
                yield _checked(element)
        except StreamFormatError as exc:
            raise ApiError(TRANSIENT, f"unreadable stream: {exc}") from None
        finally:
            await source.close()

    async def _aiohttp(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.read_timeout,
                                            sock_read=self.read_timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _checked(element: Any) -> Any:
    error = element_error(element)
    if error is not None:
        raise error
    return element


async def _read_some(chunks: AsyncIterator[bytes]) -> bytes:
    body = b""
    async for chunk in chunks:
        body += chunk
        if len(body) >= MAX_ERROR_BYTES:
            break
    return body[:MAX_ERROR_BYTES]


def _network_error(exc: BaseException) -> ApiError:
    # the exception's text is left out: HTTP libraries quote the URL, which holds the key
    name = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
    return ApiError(TRANSIENT, f"network: {name} while streaming the chat")


class _Body:
    async def open(self) -> int: ...
    def chunks(self) -> AsyncIterator[bytes]: ...
    async def close(self) -> None: ...


class _AiohttpBody(_Body):
    def __init__(self, session: Any, url: str, params: dict[str, str]) -> None:
        self._session, self._url, self._params = session, url, params
        self._response: Any = None

    async def open(self) -> int:
        import aiohttp

        try:
            self._response = await self._session.get(self._url, params=self._params)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _network_error(exc) from None
        return int(self._response.status)

    async def chunks(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _network_error(exc) from None

    async def close(self) -> None:
        if self._response is not None:
            self._response.close()


class _ThreadedBody(_Body):
    """`AuthorizedSession.get(stream=True)` in a daemon thread, its chunks handed to the loop.

    A daemon thread of its own (not the default executor): a read blocked on a quiet socket
    must never hold up the process's exit. `close()` closes the response from the loop's side,
    which ends a blocked read."""

    def __init__(self, api: YouTubeApi, url: str, params: dict[str, str],
                 timeout: float) -> None:
        self._api, self._url, self._params, self._timeout = api, url, params, timeout
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._stop = threading.Event()
        self._response: Any = None
        self._token_before = getattr(api.credentials, "token", None)

    async def open(self) -> int:
        threading.Thread(target=self._run, name="youtube-stream", daemon=True).start()
        kind, value = await self._queue.get()
        if kind == "error":
            raise value
        return int(value)

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            kind, value = await self._queue.get()
            if kind == "data":
                yield value
            elif kind == "error":
                raise value
            else:
                return

    async def close(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            await asyncio.to_thread(response.close)
        self._api.notice_refresh(self._token_before)

    def _put(self, kind: str, value: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._stop.set()

    def _run(self) -> None:
        import requests
        from google.auth.exceptions import RefreshError, TransportError
        from google.auth.transport.requests import AuthorizedSession

        session = AuthorizedSession(self._api.credentials)
        try:
            self._response = session.get(self._url, params=self._params, stream=True,
                                         timeout=(self._timeout, self._timeout))
            self._put("status", self._response.status_code)
            for chunk in self._response.iter_content(chunk_size=None):
                if self._stop.is_set():
                    return
                if chunk:
                    self._put("data", chunk)
            self._put("end", None)
        except RefreshError as exc:
            self._put("error", ApiError(REVOKED, refresh_message(exc)))
        except (requests.RequestException, TransportError, OSError, ValueError) as exc:
            self._put("error", _network_error(exc))
        except Exception as exc:  # noqa: BLE001 - e.g. the response closed under a read
            if not self._stop.is_set():
                self._put("error", _network_error(exc))
        finally:
            if self._response is not None:
                self._response.close()
            session.close()
