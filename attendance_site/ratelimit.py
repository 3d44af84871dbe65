"""A fixed-window request counter in the cache, shared by every web process that shares the
cache (set CACHE_URL to Redis in production)."""
import time

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
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "unknown")
