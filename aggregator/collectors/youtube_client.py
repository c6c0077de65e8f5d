"""The YouTube Data API through google-api-python-client, callable from asyncio.

The Google client is synchronous and `httplib2.Http` is not thread-safe (the client's own
docs/thread_safety.md says each thread needs its own): every call runs in a worker thread
(`asyncio.to_thread`) with an HTTP object made for that call alone and closed after it. The service
object is built once from the bundled (static) discovery document, so building it makes no network
call.

Errors become `ApiError(kind, ...)`, decided by the reason code in the body,
`error.errors[0].reason` (never `HttpError.reason`, which is the human message), then by the
HTTP status (docs/platforms.md, YouTube, lists the reason codes). The request URL carries the
API key (`key=`), so neither it nor `str(HttpError)` is ever put into a message or a log line.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import httplib2

from ..sanitize import clean_line

#: kinds of failure, and what the collector does with each
TRANSIENT = "transient"      # back off from the current interval and retry
QUOTA = "quota"              # stop until midnight Pacific
ENDED = "ended"              # the chat is over
NOT_FOUND = "not_found"      # resolve the chat again once, then stop
PAGE_TOKEN = "page_token"    # drop the page token and start again from the recent messages
AUTH = "auth"                # refresh the OAuth token once, then stop
REVOKED = "revoked"          # the refresh token is gone: run youtube-login again
STOP = "stop"                # a person has to act (forbidden, chat disabled, bad key)

_BY_REASON = {
    "rateLimitExceeded": TRANSIENT,
    "userRateLimitExceeded": TRANSIENT,
    "backendError": TRANSIENT,
    "internalError": TRANSIENT,
    "quotaExceeded": QUOTA,
    "dailyLimitExceeded": QUOTA,
    "liveChatEnded": ENDED,
    "liveChatNotFound": NOT_FOUND,
    "pageTokenInvalid": PAGE_TOKEN,
    "authError": AUTH,
    "forbidden": STOP,
    "liveChatDisabled": STOP,
}

DEFAULT_TIMEOUT = 30.0


class ApiError(Exception):
    def __init__(self, kind: str, message: str, *, reason: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.reason, self.status, self.message = kind, reason, status, message

    def describe(self) -> str:
        code = " ".join(str(p) for p in (self.status, self.reason) if p)
        return f"{code}: {self.message}" if code else self.message


def classify(status: int | None, reason: str | None) -> str:
    if reason in _BY_REASON:
        return _BY_REASON[reason]
    if status is not None and (status >= 500 or status == 429):
        return TRANSIENT
    if status == 401:
        return AUTH
    return STOP


def stream_refused(exc: ApiError) -> bool:
    """Whether the chat stream is unavailable to us, so that polling may still work: it is not
    offered (404, other than an unknown chat) or it is refused (403 for a reason other than
    quota, speed or the chat's end, e.g. `forbidden` for this form of the call)."""
    if exc.status == 404:
        return exc.kind != NOT_FOUND
    if exc.status == 403:
        return exc.kind not in (QUOTA, TRANSIENT, ENDED)
    return False


def error_from_http(status: int | None, content: bytes | str | None) -> ApiError:
    """An ApiError from an HTTP error status and its (untrusted) body: `{"error": {...}}`, or
    the chat stream's `[{"error": {...}}]`."""
    reason: str | None = None
    message = ""
    try:
        body = json.loads(content or b"{}")
        if isinstance(body, list) and body:
            body = body[0]
        error = body.get("error", {})
        first = (error.get("errors") or [{}])[0]
        reason = first.get("reason") if isinstance(first.get("reason"), str) else None
        message = error.get("message") if isinstance(error.get("message"), str) else ""
    except (ValueError, AttributeError, TypeError, IndexError):
        pass
    reason = clean_line(reason, 60) or None if reason else None
    message = clean_line(message, 200) or f"HTTP {status}"
    return ApiError(classify(status, reason), message, reason=reason, status=status)


class YouTubeApi:
    """One collector's access to the API: an API key, or OAuth credentials."""

    def __init__(self, *, api_key: str | None = None, credentials: Any = None,
                 api_endpoint: str = "", timeout: float = DEFAULT_TIMEOUT,
                 on_token_refreshed: Callable[[Any], None] | None = None) -> None:
        if not api_key and credentials is None:
            raise ValueError("YouTubeApi needs an API key or OAuth credentials")
        self.api_key, self.credentials = api_key, credentials
        self.api_endpoint, self.timeout = api_endpoint, timeout
        self.on_token_refreshed = on_token_refreshed
        self._service: Any = None
        self._lock = threading.Lock()

    @property
    def uses_oauth(self) -> bool:
        return self.credentials is not None

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Run `resource.list(**params)` in a worker thread, e.g. `call("videos.list", ...)`."""
        return await asyncio.to_thread(self._execute, method, params)

    async def refresh_credentials(self) -> None:
        await asyncio.to_thread(self._refresh)

    # --- in the worker thread ---------------------------------------------------------------

    def _build(self) -> Any:
        from googleapiclient.discovery import build

        with self._lock:
            if self._service is None:
                options = {"api_endpoint": self.api_endpoint} if self.api_endpoint else None
                self._service = build(
                    "youtube", "v3", developerKey=None if self.credentials else self.api_key,
                    credentials=self.credentials, client_options=options,
                    static_discovery=True, cache_discovery=False)
            return self._service

    def _new_http(self) -> Any:
        http = httplib2.Http(timeout=self.timeout)
        if self.credentials is None:
            return http  # the key travels in the URL
        import google_auth_httplib2

        return google_auth_httplib2.AuthorizedHttp(self.credentials, http=http)

    def _execute(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import HttpError

        resource, _, verb = method.partition(".")
        token_before = getattr(self.credentials, "token", None)
        http = self._new_http()
        try:
            request = getattr(getattr(self._build(), resource)(), verb)(**params)
            response = request.execute(http=http)
        except HttpError as exc:
            raise error_from_http(exc.status_code, exc.content) from None
        except RefreshError as exc:
            raise ApiError(REVOKED, refresh_message(exc)) from None
        except (OSError, httplib2.HttpLib2Error, TransportError) as exc:
            raise ApiError(TRANSIENT, f"network: {type(exc).__name__}: "
                                      f"{clean_line(str(exc), 150)}") from None
        except ValueError as exc:  # a body that is not JSON
            raise ApiError(TRANSIENT, f"unreadable response: {clean_line(str(exc), 150)}") from None
        finally:
            _close(http)
        self.notice_refresh(token_before)
        if not isinstance(response, dict):
            raise ApiError(TRANSIENT, "unreadable response: not a JSON object")
        return response

    def _refresh(self) -> None:
        from google.auth.exceptions import RefreshError
        from google.auth.transport.requests import Request

        token_before = self.credentials.token
        try:
            self.credentials.refresh(Request())
        except RefreshError as exc:
            raise ApiError(REVOKED, refresh_message(exc)) from None
        self.notice_refresh(token_before)

    def notice_refresh(self, token_before: Any) -> None:
        """Save the credentials when a call refreshed their token."""
        if self.credentials is not None and self.credentials.token != token_before:
            if self.on_token_refreshed is not None:
                self.on_token_refreshed(self.credentials)


def refresh_message(exc: Exception) -> str:
    detail = clean_line(exc.args[0] if exc.args else exc, 150)
    return (f"the YouTube OAuth token was revoked or has expired ({detail}); "
            "run `townhall youtube-login` again")


def _close(http: Any) -> None:
    inner = getattr(http, "http", http)  # AuthorizedHttp wraps an httplib2.Http
    close = getattr(inner, "close", None)
    if callable(close):
        close()
