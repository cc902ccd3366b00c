"""A small per-address counter for the public survey pages (nothing in the project limited anonymous pages yet:
django-axes counts sign-in failures by username, DRF throttles only the API).

Fixed 10-minute windows in the default cache: shared by every process with Redis (``REDIS_URL``), per process
with the local-memory cache — an attacker then gets at most one window per process, still far from guessing a
256-bit secret.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from pharmacrm.core import policy

WINDOW_SECONDS = 600


def _key(kind: str, address: str) -> str:
    return f"surveys:rl:{kind}:{address}:{int(time.time()) // WINDOW_SECONDS}"


def _count(kind: str, address: str) -> int:
    key = _key(kind, address)
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
        return 1


def over_limit(address: str | None) -> bool:
    """Count one request from ``address``; True once it made more than ``surveys.public_requests_per_10_minutes``
    in this window, or tried more than ``surveys.public_bad_links_per_10_minutes`` unknown links."""
    address = address or "unknown"
    if (cache.get(_key("bad", address)) or 0) >= int(policy.get("surveys.public_bad_links_per_10_minutes")):
        return True
    return _count("all", address) > int(policy.get("surveys.public_requests_per_10_minutes"))


def count_bad_link(address: str | None) -> None:
    _count("bad", address or "unknown")
