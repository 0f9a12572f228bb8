"""SendGrid's SDK over kept-alive connections.

``SendGridAPIClient`` sends through ``python_http_client``, which opens a new connection
(``urllib``) for every request: a TCP handshake, and on the real API a TLS one, per email.
This client is the SDK's own, with only its last step (``_make_request``) going through
one ``urllib3`` pool shared by the sender threads, so connections are reused. Everything
else (URLs, headers, JSON bodies, the ``Response`` and ``HTTPError`` the SDK's callers
read) stays the SDK's. We chose urllib3 because it is what ``requests`` (and so the Twilio
SDK) already pools connections with: one more dependency was not needed.

What a failure means is kept exact, because exactly-once depends on it: a request whose
connection could not be made never left (``URLError``: safe to retry); once a request may
have been written, a lost answer is an unknown outcome (``ConnectionError``), never
retried blindly. urllib3 checks that a pooled connection is still open before reusing it.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.error import HTTPError as UrllibHTTPError
from urllib.error import URLError

import python_http_client
import urllib3
from python_http_client.exceptions import handle_error

__all__ = ["KeepAliveClient"]


class _Answer:
    """What ``python_http_client.Response`` reads from a urllib response."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def getcode(self) -> int:
        return int(self._response.status)

    def read(self) -> bytes:
        return bytes(self._response.data)

    def info(self) -> Any:
        return self._response.headers


class KeepAliveClient(python_http_client.Client):  # type: ignore[misc]
    """``python_http_client.Client`` whose requests share ``pool``'s connections."""

    def __init__(self, *args: Any, pool: urllib3.PoolManager, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool = pool

    def _build_client(self, name: str | None = None) -> KeepAliveClient:
        return KeepAliveClient(
            host=self.host,
            version=self._version,
            request_headers=self.request_headers,
            url_path=[*self._url_path, name] if name else self._url_path,
            append_slash=self.append_slash,
            timeout=self.timeout,
            pool=self._pool,
        )

    def _make_request(self, _opener: Any, request: Any, timeout: float | None = None) -> _Answer:
        try:
            response = self._pool.urlopen(
                request.get_method(),
                request.full_url,
                body=request.data,
                headers=dict(request.header_items()),
                timeout=timeout or self.timeout,
                retries=False,
                redirect=False,
            )
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                urllib3.exceptions.NameResolutionError) as exc:  # fmt: skip
            raise URLError(str(exc)) from exc  # never left
        except urllib3.exceptions.HTTPError as exc:  # written, maybe received: no answer
            raise ConnectionError(str(exc)) from exc
        if response.status >= 400:
            headers: Any = response.headers  # read with .get, as urllib's are
            error = UrllibHTTPError(
                request.full_url, response.status, response.reason or "", headers,
                io.BytesIO(response.data),
            )  # fmt: skip
            raise handle_error(error)
        return _Answer(response)
