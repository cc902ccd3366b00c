"""Who and where the current write comes from, for audit entries.

Set by ``RequestIdMiddleware`` for web requests; jobs and commands leave it
empty (or set it with ``request_meta``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    request_id: str = ""
    ip_address: str | None = None
    username: str = ""


_current: contextvars.ContextVar[RequestMeta] = contextvars.ContextVar("request_meta", default=RequestMeta())  # noqa: B039 (frozen)


def current_request_meta() -> RequestMeta:
    return _current.get()


@contextlib.contextmanager
def request_meta(meta: RequestMeta) -> Iterator[None]:
    token = _current.set(meta)
    try:
        yield
    finally:
        _current.reset(token)
