"""The pacer's windows and concurrency cap in Redis: one GitHub budget per installation for every
process on every machine (QUEUE_URL=redis://, bot/github/pacer.py for the in-process one).

One Lua script per admission does what ``Pacer._reserve`` does in memory, atomically on the
server: drop what left the windows, find the earliest moment the request fits the writes windows
(a minute and an hour) and the points window, and either reserve that slot (plus a concurrency slot) or
reserve nothing and answer "retry later" when the wait would exceed ``max_wait``. So N workers
together send what one worker alone would: the limits are GitHub's, undivided.

Time is the Redis server's clock (``TIME``), so the windows agree whatever the hosts' clocks say.
A concurrency slot is held until ``release()`` or, for a process killed mid-request, until it
expires (``INFLIGHT_TTL_SECONDS``, longer than the request timeout).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from bot.errors import RetryLater
from bot.github.pacer import (
    HOUR_WINDOW_SECONDS,
    READ_POINTS,
    WINDOW_SECONDS,
    WRITE_METHODS,
    WRITE_POINTS,
    PacerLimits,
    share,
)

INFLIGHT_TTL_SECONDS = 120.0  # > the GitHub client's 30 s timeout and its retries' waits
BUSY_POLL_SECONDS = 0.02

# KEYS: writes zset, points zset, points total, inflight zset.
# ARGV: now ('' = the server's TIME), is_write, cost, writes limit, points limit, max_wait, window,
#       max_concurrent, token, inflight ttl, hourly writes limit, hour window.
# Returns {'ok', delay} | {'wait', delay} (nothing reserved) | {'busy', 0} (concurrency cap reached).
ADMIT = r"""
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local is_write = ARGV[2] == '1'
local cost = tonumber(ARGV[3])
local wl = math.floor(tonumber(ARGV[4]))
local pl = tonumber(ARGV[5])
local max_wait = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
local max_conc = tonumber(ARGV[8])
local horizon = now - window
local hl = math.floor(tonumber(ARGV[11]))
local hour = tonumber(ARGV[12])
-- Writes are kept as long as the longest write window switched on.
local write_window = window
if tonumber(ARGV[11]) > 0 then write_window = math.max(window, hour) end

redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)  -- slots of requests whose process died
if max_conc > 0 and redis.call('ZCARD', KEYS[4]) >= max_conc then return {'busy', '0'} end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - write_window)
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', horizon)
for _, member in ipairs(gone) do total = total - tonumber(string.match(member, '^(%d+):')) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', horizon)
if total < 0 then total = 0 end

local at = now
local function earliest_write(limit, seconds)
  limit = math.max(limit, 1)
  local n = redis.call('ZCARD', KEYS[1])
  if n >= limit then
    -- The request may go once the limit-th most recent write leaves the window (when fewer than
    -- limit writes lie in a shorter window than the set spans, that moment is already past).
    local entry = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
    at = math.max(at, tonumber(entry[2]) + seconds)
  end
end
if is_write and tonumber(ARGV[4]) > 0 then earliest_write(wl, window) end
if is_write and tonumber(ARGV[11]) > 0 then earliest_write(hl, hour) end
if pl > 0 and total + cost > pl then
  local left = total
  local start = 0
  while left + cost > pl do
    local batch = redis.call('ZRANGE', KEYS[2], start, start + 99, 'WITHSCORES')
    if #batch == 0 then break end
    for i = 1, #batch, 2 do
      if left + cost <= pl then break end
      left = left - tonumber(string.match(batch[i], '^(%d+):'))
      at = math.max(at, tonumber(batch[i + 1]) + window)
    end
    start = start + 100
  end
end
local delay = at - now
if delay > max_wait then
  redis.call('SET', KEYS[3], total, 'EX', math.ceil(window * 2))
  return {'wait', tostring(delay)}
end
local token = ARGV[9]
if is_write and (tonumber(ARGV[4]) > 0 or tonumber(ARGV[11]) > 0) then
  redis.call('ZADD', KEYS[1], at, token)
end
if pl > 0 then
  redis.call('ZADD', KEYS[2], at, cost .. ':' .. token)
  total = total + cost
end
redis.call('SET', KEYS[3], total, 'EX', math.ceil(window * 2))
redis.call('ZADD', KEYS[4], now + delay + tonumber(ARGV[10]), token)
-- An installation that goes quiet leaves nothing behind.
redis.call('EXPIRE', KEYS[1], math.ceil(write_window * 2))
redis.call('EXPIRE', KEYS[2], math.ceil(window * 2))
redis.call('EXPIRE', KEYS[4], math.ceil(delay + tonumber(ARGV[10]) + 1))
return {'ok', tostring(delay)}
"""


class RedisPacer:
    """Admission control for one installation's requests, shared through Redis. Thread-safe."""

    def __init__(
        self,
        limits: PacerLimits,
        client: Any,
        installation_id: int,
        prefix: str = "release-bot:",
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self._client = client
        self._keys = [
            f"{prefix}pace:{installation_id}:{part}" for part in ("writes", "points", "total", "inflight")
        ]
        self._clock = clock  # None: the Redis server's clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._admit = client.register_script(ADMIT)
        self._held = threading.local()  # the concurrency slot this thread's request holds

    def acquire(self, method: str) -> None:
        """Wait for a slot for one request (briefly), or raise ``RetryLater``."""
        is_write = method.upper() in WRITE_METHODS
        token = uuid.uuid4().hex
        waited = 0.0
        while True:
            now = "" if self._clock is None else repr(self._clock())
            verdict, value = self._admit(
                keys=self._keys,
                args=[
                    now,
                    "1" if is_write else "0",
                    WRITE_POINTS if is_write else READ_POINTS,
                    share(self.limits.writes_per_minute),  # bulk requests fill only their share
                    share(self.limits.points_per_minute),
                    self.limits.max_wait,
                    WINDOW_SECONDS,
                    self.limits.max_concurrent,
                    token,
                    INFLIGHT_TTL_SECONDS,
                    share(self.limits.writes_per_hour),
                    HOUR_WINDOW_SECONDS,
                ],
            )
            if verdict == "busy":
                if waited >= self.limits.max_wait:
                    raise RetryLater(
                        self._wall_clock() + self.limits.max_wait,
                        f"{self.limits.max_concurrent} concurrent GitHub requests in flight",
                    )
                self._sleep(BUSY_POLL_SECONDS)
                waited += BUSY_POLL_SECONDS
                continue
            delay = float(value)
            if verdict == "wait":
                # Reserve nothing: the job goes back to the queue and comes back when the window moved.
                raise RetryLater(
                    self._wall_clock() + delay, f"pacing GitHub requests: next slot in {delay:.1f}s"
                )
            break
        stack = getattr(self._held, "tokens", None)
        if stack is None:
            stack = self._held.tokens = []
        stack.append(token)
        if delay > 0:
            self._sleep(delay)

    def release(self) -> None:
        stack = getattr(self._held, "tokens", None)
        if stack:
            self._client.zrem(self._keys[3], stack.pop())


def redis_pacers(
    limits: PacerLimits, client: Any, prefix: str = "release-bot:"
) -> Callable[[int], RedisPacer]:
    """The pacer factory of a Redis deployment (``GitHubApp(pacer_factory=...)``)."""
    return lambda installation_id: RedisPacer(limits, client, installation_id, prefix)
