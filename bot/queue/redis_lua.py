"""The Redis queue's atomic steps, one Lua script each (bot/queue/redis_queue.py runs them).

A script runs alone on the server: no other client sees a half-made step, so "a key is live at
most once", "only the claim token may finish a job" and "a key enqueued while it runs is marked
dirty" hold across any number of processes and machines without locks.

Layout under the prefix P (ARGV[1] of every script; standalone Redis or a Sentinel primary, not
Redis Cluster, since keys are built inside the scripts):

- ``P seq``               job id counter
- ``P live``              hash key -> id of its pending-or-running job (at most one per key)
- ``P job:<id>``          hash of the job's fields
- ``P hints:<id>``        list of hint parts (JSON), merged in order by Python (bot/queue/hints.py)
- ``P dirty:<id>``        list of hint parts that arrived while the job ran
- ``P due:<inst>``        zset of an installation's pending job ids by not_before
- ``P rr``                zset of installations with pending jobs, by when they were last served
                          (round robin: the least recently served installation with a due job wins)
- ``P rrclock``           the round robin's counter
- ``P leases``            zset of running job ids by lease expiry (expired ones are taken over)
- ``P running:<inst>``    zset of an installation's running job ids (the per-installation cap)
- ``P waiting``           zset of pending job ids by when they started waiting (oldest age)
- ``P failed``            zset of dead-lettered job ids by when they failed
- ``P workers``           zset of worker processes by heartbeat expiry; ``P worker-threads`` their threads
- ``P seen``              zset of installations by when they last had an event (the cap applies
                          only where two or more had work in the last 10 minutes)
- ``P delivery:<id>``     when a delivery id was accepted (expires after the retention window)
- ``P wakeups``           zset of keys by the moment of their timed wake-up (one per key: the earliest)
- ``P wakeup-specs``      hash key -> JSON [inst, repo, reason, hints] of the job a wake-up enqueues

Hints are kept as a list of parts rather than merged here: merging is Python's (lists unioned by
JSON equality), and folding the parts in arrival order gives the same result as merging each one
as it came. A part equal to the last one is not appended again (bursts of identical events), and
after a claim the parts are replaced by their merge (COMPACT_HINTS), so a retried job carries one.
"""

from __future__ import annotations

_COMMON = r"""
local P = ARGV[1]
local function jk(id) return P .. 'job:' .. id end

local function append_part(list, part)
  if part ~= '' and part ~= '{}' then
    local last = redis.call('LINDEX', list, -1)
    if last ~= part then redis.call('RPUSH', list, part) end
  end
end

local function add_pending(id, inst, not_before, waiting_since)
  redis.call('ZADD', P .. 'due:' .. inst, not_before, id)
  redis.call('ZADD', P .. 'rr', 'NX', 0, inst)
  redis.call('ZADD', P .. 'waiting', waiting_since, id)
end

local function remove_pending(id, inst)
  redis.call('ZREM', P .. 'due:' .. inst, id)
  redis.call('ZREM', P .. 'waiting', id)
end

local function stop_running(id, inst)
  redis.call('ZREM', P .. 'leases', id)
  redis.call('ZREM', P .. 'running:' .. inst, id)
  redis.call('HDEL', jk(id), 'claim_token', 'lease_expires')
end

local function merge_dirty_into_hints(id)
  local parts = redis.call('LRANGE', P .. 'dirty:' .. id, 0, -1)
  for _, part in ipairs(parts) do append_part(P .. 'hints:' .. id, part) end
  redis.call('DEL', P .. 'dirty:' .. id)
end

local function new_job(key, inst, repo, reason, now)
  local id = redis.call('INCR', P .. 'seq')
  redis.call('HSET', jk(id), 'key', key, 'inst', inst, 'repo', repo, 'reason', reason, 'state', 'pending',
             'attempts', 0, 'not_before', now, 'created_at', now, 'updated_at', now, 'dirty', 0,
             'permanent', 0)
  redis.call('HSET', P .. 'live', key, id)
  add_pending(id, inst, now, now)
  return id
end

local function enqueue_one(key, inst, repo, reason, hints, now)
  redis.call('ZADD', P .. 'seen', now, inst)
  local id = redis.call('HGET', P .. 'live', key)
  if not id then
    id = new_job(key, inst, repo, reason, now)
    append_part(P .. 'hints:' .. id, hints)
    return
  end
  local job = jk(id)
  local state = redis.call('HGET', job, 'state')
  redis.call('HSET', job, 'reason', reason, 'updated_at', now)
  if repo ~= '' then redis.call('HSET', job, 'repo', repo) end
  if state == 'pending' then
    -- Coalesce: one waiting job per key; its due time is kept (a key in backoff is not hurried).
    local old = redis.call('HGET', job, 'inst')
    if inst ~= '-' and old ~= inst then
      local due = redis.call('ZSCORE', P .. 'due:' .. old, id) or now
      redis.call('ZREM', P .. 'due:' .. old, id)
      redis.call('ZADD', P .. 'due:' .. inst, due, id)
      redis.call('ZADD', P .. 'rr', 'NX', 0, inst)
      redis.call('HSET', job, 'inst', inst)
    end
    append_part(P .. 'hints:' .. id, hints)
  else
    -- Running: what it read may already be stale, so it runs once more afterwards.
    redis.call('HSET', job, 'dirty', 1)
    append_part(P .. 'dirty:' .. id, hints)
  end
end

local function owned(id, token)
  local vals = redis.call('HMGET', jk(id), 'state', 'claim_token')
  return vals[1] == 'running' and vals[2] == token
end

local function dead_letter(id, error, permanent, now)
  local job = jk(id)
  local f = redis.call('HMGET', job, 'key', 'inst', 'repo', 'reason', 'dirty')
  stop_running(id, f[2])
  redis.call('HDEL', P .. 'live', f[1])
  redis.call('HSET', job, 'state', 'failed', 'dirty', 0, 'last_error', error, 'permanent', permanent,
             'updated_at', now)
  redis.call('ZADD', P .. 'failed', now, id)
  if f[5] == '1' then
    -- Events arrived while it ran: they deserve a fresh run of their own.
    local fresh = new_job(f[1], f[2], f[3], f[4], now)
    if redis.call('EXISTS', P .. 'dirty:' .. id) == 1 then
      redis.call('RENAME', P .. 'dirty:' .. id, P .. 'hints:' .. fresh)
    end
    return 'dead_requeued'
  end
  redis.call('DEL', P .. 'dirty:' .. id)
  return 'dead'
end

local function delete_job(id)
  redis.call('DEL', jk(id), P .. 'hints:' .. id, P .. 'dirty:' .. id)
end
"""

# ARGV: P, now, delivery_id ('' for a plain enqueue), delivery_ttl, then 5 fields per job:
# key, inst ('-' for none), repo ('' for none), reason, hints JSON. Returns 1, or 0 for a delivery
# id accepted within the retention window (nothing is enqueued then).
ENQUEUE = _COMMON + r"""
local now = tonumber(ARGV[2])
local delivery = ARGV[3]
if delivery ~= '' then
  local dk = P .. 'delivery:' .. delivery
  local seen = redis.call('GET', dk)
  local ttl = tonumber(ARGV[4])
  if seen and tonumber(seen) >= now - ttl then return 0 end
  -- Redis expires the id itself one day after GitHub stops redelivering (the margin absorbs
  -- clock differences between the hosts that compute ``now``).
  redis.call('SET', dk, ARGV[2], 'EX', math.floor(ttl) + 86400)
end
local i = 5
while i + 4 <= #ARGV do
  enqueue_one(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], now)
  i = i + 5
end
return 1
"""

# ARGV: P, now, lease_seconds, token, share (0..1: the most of all registered worker threads one
# installation's jobs may hold while other installations have work; >= 1: no cap), worker (who
# claims: for operators).
# Returns false, or {id, {field, value, ...}, {hint parts}}.
CLAIM = _COMMON + r"""
local now = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local token = ARGV[4]
local share = tonumber(ARGV[5])
local cap = 0
if share < 1 then
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', P .. 'workers', '-inf', now)) do
    redis.call('HDEL', P .. 'worker-threads', gone)
  end
  redis.call('ZREMRANGEBYSCORE', P .. 'workers', '-inf', now)
  local alive = redis.call('ZRANGE', P .. 'workers', 0, -1)
  local total = 0
  for _, w in ipairs(alive) do
    total = total + (tonumber(redis.call('HGET', P .. 'worker-threads', w)) or 0)
  end
  -- Only where several installations had work lately: alone, one installation may use every thread.
  redis.call('ZREMRANGEBYSCORE', P .. 'seen', '-inf', now - 600)
  if total >= 2 and redis.call('ZCARD', P .. 'seen') >= 2 then
    cap = math.min(total - 1, math.max(1, math.ceil(total * share)))
  end
end
local chosen, inst
for _, candidate in ipairs(redis.call('ZRANGE', P .. 'rr', 0, -1)) do
  local first = redis.call('ZRANGE', P .. 'due:' .. candidate, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', P .. 'rr', candidate)
  elseif tonumber(first[2]) <= now
      and (cap == 0 or redis.call('ZCARD', P .. 'running:' .. candidate) < cap) then
    chosen = first[1]
    inst = candidate
    break
  end
end
if chosen then
  remove_pending(chosen, inst)
  redis.call('ZADD', P .. 'rr', redis.call('INCR', P .. 'rrclock'), inst)
else
  -- A running job whose lease lapsed: its process died (or hung) mid-job.
  local expired = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', '(' .. ARGV[2], 'LIMIT', 0, 1)
  if #expired == 0 then return false end
  chosen = expired[1]
  inst = redis.call('HGET', jk(chosen), 'inst')
end
merge_dirty_into_hints(chosen)
local job = jk(chosen)
local expires = now + lease
redis.call('HSET', job, 'state', 'running', 'claim_token', token, 'lease_expires', expires, 'dirty', 0,
           'updated_at', now, 'worker', ARGV[6])
redis.call('HINCRBY', job, 'attempts', 1)
redis.call('ZADD', P .. 'leases', expires, chosen)
redis.call('ZADD', P .. 'running:' .. inst, expires, chosen)
return {chosen, redis.call('HGETALL', job), redis.call('LRANGE', P .. 'hints:' .. chosen, 0, -1)}
"""

# ARGV: P, id, token, count, merged. After a claim: the job's ``count`` hint parts replaced by their
# merge (one part), if the claim still owns the job and no part was added meanwhile.
COMPACT_HINTS = _COMMON + r"""
local id, token = ARGV[2], ARGV[3]
if not owned(id, token) then return 0 end
local list = P .. 'hints:' .. id
if redis.call('LLEN', list) ~= tonumber(ARGV[4]) then return 0 end
redis.call('DEL', list)
append_part(list, ARGV[5])
return 1
"""

# ARGV: P, id, token, now, lease_seconds. Returns 1 when the lease was extended.
RENEW = _COMMON + r"""
local id, token = ARGV[2], ARGV[3]
if not owned(id, token) then return 0 end
local expires = tonumber(ARGV[4]) + tonumber(ARGV[5])
local inst = redis.call('HGET', jk(id), 'inst')
redis.call('HSET', jk(id), 'lease_expires', expires)
redis.call('ZADD', P .. 'leases', expires, id)
redis.call('ZADD', P .. 'running:' .. inst, expires, id)
return 1
"""

# ARGV: P, id, token, now. Returns 'stale', 'requeued' or 'done'.
COMPLETE = _COMMON + r"""
local id, token, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if not owned(id, token) then return 'stale' end
local job = jk(id)
local f = redis.call('HMGET', job, 'key', 'inst', 'dirty')
stop_running(id, f[2])
if f[3] == '1' then
  redis.call('DEL', P .. 'hints:' .. id)
  if redis.call('EXISTS', P .. 'dirty:' .. id) == 1 then
    redis.call('RENAME', P .. 'dirty:' .. id, P .. 'hints:' .. id)
  end
  redis.call('HSET', job, 'state', 'pending', 'attempts', 0, 'not_before', now, 'dirty', 0, 'updated_at', now)
  redis.call('HDEL', job, 'last_error')
  add_pending(id, f[2], now, now)
  return 'requeued'
end
redis.call('HDEL', P .. 'live', f[1])
delete_job(id)
return 'done'
"""

# ARGV: P, id, token, now, error, max_attempts, delay. Returns 'stale', 'requeued', 'dead' or
# 'dead_requeued'.
FAIL = _COMMON + r"""
local id, token, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if not owned(id, token) then return 'stale' end
local job = jk(id)
local attempts = tonumber(redis.call('HGET', job, 'attempts'))
if attempts >= tonumber(ARGV[6]) then return dead_letter(id, ARGV[5], 0, now) end
local inst = redis.call('HGET', job, 'inst')
stop_running(id, inst)
merge_dirty_into_hints(id)
local due = now + tonumber(ARGV[7])
redis.call('HSET', job, 'state', 'pending', 'not_before', due, 'dirty', 0, 'last_error', ARGV[5],
           'updated_at', now)
add_pending(id, inst, due, now)
return 'requeued'
"""

# ARGV: P, id, token, now, reason.
FAIL_PERMANENTLY = _COMMON + r"""
local id, token, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if not owned(id, token) then return 'stale' end
return dead_letter(id, ARGV[5], 1, now)
"""

# ARGV: P, id, token, now, not_before, reason.
RETRY_LATER = _COMMON + r"""
local id, token, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if not owned(id, token) then return 'stale' end
local job = jk(id)
local inst = redis.call('HGET', job, 'inst')
stop_running(id, inst)
merge_dirty_into_hints(id)
local due = math.max(tonumber(ARGV[5]), now)
local attempts = math.max(0, tonumber(redis.call('HGET', job, 'attempts')) - 1)
redis.call('HSET', job, 'state', 'pending', 'not_before', due, 'attempts', attempts, 'dirty', 0,
           'last_error', ARGV[6], 'updated_at', now)
add_pending(id, inst, due, now)
return 'requeued'
"""

# ARGV: P, id, now. Operators: a failed job back to pending (folded into a live job of its key).
RETRY = _COMMON + r"""
local id, now = ARGV[2], tonumber(ARGV[3])
local job = jk(id)
local f = redis.call('HMGET', job, 'state', 'key', 'inst', 'repo', 'reason')
if f[1] ~= 'failed' then return 0 end
redis.call('ZREM', P .. 'failed', id)
if redis.call('HEXISTS', P .. 'live', f[2]) == 1 then
  local parts = redis.call('LRANGE', P .. 'hints:' .. id, 0, -1)
  if #parts == 0 then parts = {''} end
  for _, part in ipairs(parts) do enqueue_one(f[2], f[3], f[4], f[5], part, now) end
  delete_job(id)
  return 1
end
redis.call('HSET', job, 'state', 'pending', 'attempts', 0, 'not_before', now, 'permanent', 0,
           'updated_at', now)
redis.call('HSET', P .. 'live', f[2], id)
add_pending(id, f[3], now, now)
return 1
"""

# ARGV: P, id. Deletes a pending or failed job.
DROP = _COMMON + r"""
local id = ARGV[2]
local f = redis.call('HMGET', jk(id), 'state', 'key', 'inst')
if f[1] == 'pending' then
  remove_pending(id, f[3])
  redis.call('HDEL', P .. 'live', f[2])
elseif f[1] == 'failed' then
  redis.call('ZREM', P .. 'failed', id)
else
  return 0
end
delete_job(id)
return 1
"""

# ARGV: P, inst, repo... (none: every pending job of the installation). Returns how many were dropped.
DROP_INSTALLATION = _COMMON + r"""
local inst = ARGV[2]
local repos = {}
local filtered = #ARGV > 2
for i = 3, #ARGV do repos[ARGV[i]] = true end
local dropped = 0
for _, id in ipairs(redis.call('ZRANGE', P .. 'due:' .. inst, 0, -1)) do
  local f = redis.call('HMGET', jk(id), 'key', 'repo')
  if not filtered or repos[f[2]] then
    remove_pending(id, inst)
    redis.call('HDEL', P .. 'live', f[1])
    delete_job(id)
    dropped = dropped + 1
  end
end
return dropped
"""

# ARGV: P, horizon. Dead letters that failed before the horizon are forgotten.
PURGE_FAILED = _COMMON + r"""
local old = redis.call('ZRANGEBYSCORE', P .. 'failed', '-inf', ARGV[2])
for _, id in ipairs(old) do delete_job(id) end
redis.call('ZREMRANGEBYSCORE', P .. 'failed', '-inf', ARGV[2])
return #old
"""

# ARGV: P, worker id, threads, expires. A worker process says it is alive and how many threads it runs.
HEARTBEAT = r"""
local P = ARGV[1]
redis.call('ZADD', P .. 'workers', ARGV[4], ARGV[2])
redis.call('HSET', P .. 'worker-threads', ARGV[2], ARGV[3])
return 1
"""

# ARGV: P, worker id. A worker process that stops.
LEAVE = r"""
local P = ARGV[1]
redis.call('ZREM', P .. 'workers', ARGV[2])
redis.call('HDEL', P .. 'worker-threads', ARGV[2])
return 1
"""


# Timed wake-ups (``JobQueue.schedule``): kept apart from the jobs, so a wake-up weeks ahead holds
# back no event of its key; WAKE_DUE turns the due ones into enqueues.

# ARGV: P, at, key, spec JSON ([inst, repo, reason, hints JSON]). Returns 1 when ``at`` is kept, 0
# when the key's wake-up was already as early (never postponed; the newer spec is kept either way).
SCHEDULE_WAKEUP = _COMMON + r"""
local key = ARGV[3]
redis.call('HSET', P .. 'wakeup-specs', key, ARGV[4])
local current = redis.call('ZSCORE', P .. 'wakeups', key)
if current and tonumber(current) <= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', P .. 'wakeups', ARGV[2], key)
return 1
"""

# ARGV: P, now, limit. Enqueues up to ``limit`` due wake-ups, each in the step that removes it: a
# waiting job of the key is hurried to run now (not left to a later backoff or rate-limit due
# time), a running one is marked dirty. Returns how many were due.
WAKE_DUE = _COMMON + r"""
local now = tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', P .. 'wakeups', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, key in ipairs(due) do
  local raw = redis.call('HGET', P .. 'wakeup-specs', key)
  if raw then
    local spec = cjson.decode(raw)
    enqueue_one(key, spec[1], spec[2], spec[3], spec[4], now)
    local id = redis.call('HGET', P .. 'live', key)
    if id and redis.call('HGET', jk(id), 'state') == 'pending' then
      local inst = redis.call('HGET', jk(id), 'inst')
      local at = redis.call('ZSCORE', P .. 'due:' .. inst, id)
      if at and tonumber(at) > now then
        redis.call('ZADD', P .. 'due:' .. inst, ARGV[2], id)
        redis.call('HSET', jk(id), 'not_before', ARGV[2])
      end
    end
  end
  redis.call('ZREM', P .. 'wakeups', key)
  redis.call('HDEL', P .. 'wakeup-specs', key)
end
return #due
"""

# ARGV: P, inst, then repos ("owner/name"; none: every repository of the installation). Returns
# how many wake-ups were dropped.
DROP_WAKEUPS = _COMMON + r"""
local repos = {}
local any = #ARGV < 3
for i = 3, #ARGV do repos[ARGV[i]] = true end
local dropped = 0
local specs = redis.call('HGETALL', P .. 'wakeup-specs')
for i = 1, #specs, 2 do
  local spec = cjson.decode(specs[i + 1])
  if spec[1] == ARGV[2] and (any or repos[spec[2]]) then
    redis.call('ZREM', P .. 'wakeups', specs[i])
    redis.call('HDEL', P .. 'wakeup-specs', specs[i])
    dropped = dropped + 1
  end
end
return dropped
"""
