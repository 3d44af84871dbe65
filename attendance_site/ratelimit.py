"""A fixed-window request counter in the cache, shared by every web process that shares the
cache (set CACHE_URL to Redis in production)."""

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache


def over_limit(scope, who, limit, window_seconds):
    """Count one request by `who` in `scope`; True when this one is past `limit` in the window."""
    window = int(time.time() // window_seconds)
    key = f"ratelimit:{scope}:{who}:{window}"
    if cache.add(key, 1, timeout=window_seconds + 1):
        return limit < 1
    try:
        return cache.incr(key) > limit
    except ValueError:  # the key expired between add and incr: a new window has begun
        cache.add(key, 1, timeout=window_seconds + 1)
        return False


def client_address(request):
    """The address of whoever sent the request, as far as it can be trusted.

    Each of the TRUSTED_PROXY_HOPS proxies in front of the site appends the address it was
    reached from to X-Forwarded-For, so the client's address is the entry that many places
    from the end; everything before it is the client's own say-so. A header shorter than that,
    or an entry that is not an address, did not come through those proxies as they write it:
    then the immediate peer's address is used, which the client cannot choose.
    """
    peer = request.META.get("REMOTE_ADDR", "unknown")
    hops = settings.TRUSTED_PROXY_HOPS
    if hops == 0:
        return peer
    entries = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(entries) < hops:
        return peer
    try:
        return str(ipaddress.ip_address(entries[-hops].strip()))
    except ValueError:
        return peer
