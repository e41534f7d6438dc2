import { FINAL_IMAGE_STATUSES, STATS_COUNTER_OF } from '../generation/states.js';

/**
 * The Lua scripts that change a job in Redis. Each runs atomically, so that replicas writing to one job at once
 * never number two events alike, never record a second final state for an image, and write `done` exactly once.
 *
 * Keys of one job share the `{jobId}` hash tag: KEYS[1] is its hash, KEYS[2] its event stream, and its image keys
 * are `<hash key>:img:<index>` (same slot, so the scripts may touch them in a Cluster too).
 *
 * Hash fields: id owner fingerprint status createdAt finishedAt ('' while running) total successful failed
 * cancelled retries durationMs seq cancel ('1' once cancelled) flight, enq ('0' until the job's images are in the
 * work queue, '1' after; absent on jobs that never go through it), and r:<index> = the image's result as JSON, its
 * picture replaced by { mimeType, size, ref } where ref is the index of the image key. flight lists the images in
 * flight as JSON, most recently started last: [{ i = index, p = prompt }].
 *
 * The scripts keep raw counts only, and write them into every event as { sequence, image, done, tally, current }:
 * pending, progress and the final event's lack of a current prompt are derived on read (src/generation/job-tally.ts),
 * by the same code as in the in-process mode.
 */

/** Shared helpers: the job's raw counts, its images in flight, and appending one event. */
const HELPERS = `
local h, s = KEYS[1], KEYS[2]
local TERMINAL = { ${FINAL_IMAGE_STATUSES.map((status) => `${status} = true`).join(', ')} }
local COUNTER = { ${FINAL_IMAGE_STATUSES.map((status) => `${status} = '${STATS_COUNTER_OF[status]}'`).join(', ')} }
local function num(value) return tonumber(value) or 0 end
local function tally(now)
  local v = redis.call('HMGET', h, 'total', 'successful', 'failed', 'cancelled', 'retries',
    'createdAt', 'finishedAt', 'durationMs')
  local duration = num(v[8])
  if v[7] == '' or v[7] == false then duration = math.max(0, now - num(v[6])) end
  return { total = num(v[1]), successful = num(v[2]), failed = num(v[3]), cancelled = num(v[4]),
    retries = num(v[5]), durationMs = duration }
end
local function inFlight()
  local raw = redis.call('HGET', h, 'flight')
  if not raw or raw == '' then return {} end
  return cjson.decode(raw)
end
local function keepLike(key)
  local ttl = redis.call('PTTL', h)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end
local function append(image, done, now)
  local seq = redis.call('HINCRBY', h, 'seq', 1)
  local flight = inFlight()
  local newest = flight[#flight]
  local current = cjson.null
  if newest then current = newest.p end
  local event = { sequence = seq, image = image or cjson.null, done = done, tally = tally(now), current = current }
  redis.call('XADD', s, '0-' .. seq, 'e', cjson.encode(event))
  keepLike(s)
  return seq
end
local function settle(index, patch, prompt, now)
  local field = 'r:' .. index
  local raw = redis.call('HGET', h, field)
  if not raw then return 0 end
  local result = cjson.decode(raw)
  if TERMINAL[result.status] then return 0 end
  for key, value in pairs(patch) do result[key] = value end
  if result.status ~= 'RETRYING' then result.retryInMs = cjson.null end
  if result.status == 'SUCCEEDED' then result.error = cjson.null end
  redis.call('HSET', h, field, cjson.encode(result))
  if TERMINAL[result.status] then redis.call('HINCRBY', h, COUNTER[result.status], 1) end
  -- An image that starts (again) goes last; one that stops leaves, whichever it was.
  local flight, kept = inFlight(), {}
  for _, entry in ipairs(flight) do
    if entry.i ~= index then kept[#kept + 1] = entry end
  end
  if result.status == 'GENERATING' then kept[#kept + 1] = { i = index, p = prompt } end
  if #kept ~= #flight or result.status == 'GENERATING' then redis.call('HSET', h, 'flight', cjson.encode(kept)) end
  append(result, false, now)
  return 1
end
local function expireAll(ttl)
  redis.call('PEXPIRE', h, ttl)
  redis.call('PEXPIRE', s, ttl)
  local total = num(redis.call('HGET', h, 'total'))
  local bytes = 0
  for i = 0, total - 1 do
    local key = h .. ':img:' .. i
    if redis.call('EXISTS', key) == 1 then
      redis.call('PEXPIRE', key, ttl)
      bytes = bytes + redis.call('STRLEN', key)
    end
  end
  return bytes
end
local function finishIfDone(now, retention)
  local v = redis.call('HMGET', h, 'total', 'successful', 'failed', 'cancelled')
  if num(v[2]) + num(v[3]) + num(v[4]) < num(v[1]) then return -1 end
  local status = 'COMPLETED'
  if redis.call('HGET', h, 'cancel') == '1' then status = 'CANCELLED' end
  local createdAt = num(redis.call('HGET', h, 'createdAt'))
  redis.call('HSET', h, 'status', status, 'finishedAt', tostring(now),
    'durationMs', tostring(math.max(0, now - createdAt)))
  append(nil, true, now)
  return expireAll(retention)
end
`;

/**
 * Creates the job unless its id is taken. ARGV: fingerprint, now, ttl while running, announce ('1': append one
 * QUEUED event per image, as the in-process tracker does), grace (ms), then field/value pairs.
 * Answers 'created', 'existing' (same fingerprint) or 'conflict'; 'unstarted' instead of 'existing' when the job is
 * running, was created more than `grace` ago and its images never reached the work queue (its creator failed or
 * died between creating it and enqueueing them): the caller enqueues them.
 */
export const CREATE_JOB = `${HELPERS}
if redis.call('EXISTS', h) == 1 then
  if redis.call('HGET', h, 'fingerprint') ~= ARGV[1] then return 'conflict' end
  local v = redis.call('HMGET', h, 'enq', 'finishedAt', 'createdAt')
  if v[1] == '0' and v[2] == '' and tonumber(ARGV[2]) - num(v[3]) >= tonumber(ARGV[5]) then return 'unstarted' end
  return 'existing'
end
local now = tonumber(ARGV[2])
redis.call('HSET', h, unpack(ARGV, 6))
redis.call('PEXPIRE', h, tonumber(ARGV[3]))
if ARGV[4] == '1' then
  local total = num(redis.call('HGET', h, 'total'))
  for i = 0, total - 1 do append(cjson.decode(redis.call('HGET', h, 'r:' .. i)), false, now) end
end
return 'created'
`;

/** Notes that the job's images are in the work queue (see CREATE_JOB); a job gone meanwhile is not brought back. */
export const MARK_ENQUEUED = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'enq', '1') end
return 0
`;

/**
 * Forgets a job whose images could not be enqueued, so that the client's retry with the same id creates it afresh.
 * Only a job still marked not enqueued and still unfinished: one whose images did reach the queue meanwhile stays.
 * Answers 1 when it was removed.
 */
export const DISCARD_UNQUEUED = `
local h, s = KEYS[1], KEYS[2]
local v = redis.call('HMGET', h, 'enq', 'finishedAt', 'total')
if v[1] ~= '0' or v[2] ~= '' then return 0 end
for i = 0, (tonumber(v[3]) or 0) - 1 do redis.call('DEL', h .. ':img:' .. i) end
redis.call('DEL', h, s)
return 1
`;

/**
 * Applies one state change to the images at the given indexes (identical requests share one upstream call).
 * ARGV: indexes (JSON array), patch (JSON object), now, retention (ms), retries to add, the prompt.
 * An image already final is left alone: a retried or recovered task never records a second final state.
 * When the last image becomes final, the final event is appended, the job finished and its keys set to expire.
 * Answers { events appended (the final one included), the finished job's picture bytes or -1 while it runs, the
 * job's status }.
 */
export const RECORD_IMAGE = `${HELPERS}
if redis.call('EXISTS', h) == 0 then return { 0, -1, '' } end
if redis.call('HGET', h, 'finishedAt') ~= '' then return { 0, -1, '' } end
local indexes = cjson.decode(ARGV[1])
local patch = cjson.decode(ARGV[2])
local now = tonumber(ARGV[3])
local appended = 0
if tonumber(ARGV[5]) > 0 then redis.call('HINCRBY', h, 'retries', ARGV[5]) end
for _, index in ipairs(indexes) do appended = appended + settle(index, patch, ARGV[6], now) end
local finishedBytes = finishIfDone(now, tonumber(ARGV[4]))
if finishedBytes >= 0 then appended = appended + 1 end
return { appended, finishedBytes, redis.call('HGET', h, 'status') }
`;

/**
 * Marks the job cancelled and settles every image that has not started (QUEUED) with the given patch; images in
 * flight are settled by the replica running them once it has aborted its request (the caller broadcasts that).
 * ARGV: now, retention, the patch (JSON). Answers -2 for an unknown job, else the finished job's picture bytes when
 * this finished it, else -1.
 */
export const CANCEL_JOB = `${HELPERS}
if redis.call('EXISTS', h) == 0 then return -2 end
if redis.call('HGET', h, 'finishedAt') ~= '' then return -1 end
redis.call('HSET', h, 'cancel', '1')
local now = tonumber(ARGV[1])
local patch = cjson.decode(ARGV[3])
local total = num(redis.call('HGET', h, 'total'))
for i = 0, total - 1 do
  local result = cjson.decode(redis.call('HGET', h, 'r:' .. i))
  if result.status == 'QUEUED' then settle(i, patch, '', now) end
end
return finishIfDone(now, tonumber(ARGV[2]))
`;

/**
 * Keeps finished jobs within the retention budget: at most ARGV[5] jobs and ARGV[6] picture bytes, the oldest going
 * first, never the newest. KEYS: the sorted set of finished jobs (score: when), the hash of their picture bytes.
 * ARGV: the job id just finished, its bytes, now, retention, max jobs, max bytes, the job key prefix.
 * Jobs whose retention has passed have expired by themselves and are only forgotten here. Answers how many jobs
 * were removed early. (Not Cluster-safe: it deletes other jobs' keys; run a single Redis, as the README says.)
 */
export const RETAIN_JOB = `
local now, retention = tonumber(ARGV[3]), tonumber(ARGV[4])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - retention)) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
local bytes = 0
for _, value in ipairs(redis.call('HVALS', KEYS[2])) do bytes = bytes + tonumber(value) end
local removed = 0
while count > 1 and (count > tonumber(ARGV[5]) or bytes > tonumber(ARGV[6])) do
  local id = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  bytes = bytes - (tonumber(redis.call('HGET', KEYS[2], id)) or 0)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  local h = ARGV[7] .. '{' .. id .. '}'
  local total = tonumber(redis.call('HGET', h, 'total') or '0')
  for i = 0, total - 1 do redis.call('DEL', h .. ':img:' .. i) end
  redis.call('DEL', h, h .. ':events')
  count = count - 1
  removed = removed + 1
end
redis.call('PEXPIRE', KEYS[1], retention)
redis.call('PEXPIRE', KEYS[2], retention)
return removed
`;
