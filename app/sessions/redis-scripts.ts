// Lua scripts of the Redis store, called by SHA (EVALSHA). Each touches the keys of one session (one
// hash slot on a clustered Redis); channels are arguments, not keys. No script decodes JSON.
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-client.js';
import { padScripts } from './redis-scratchpad-scripts.js';

/**
 * Every write script takes a deadline (Unix ms) as its last argument and refuses to run after it,
 * returning LATE. A caller that timed out has told its client "not saved"; without the deadline, the
 * command could still run later (stuck in a socket buffer, or re-sent after a reconnect) and overwrite
 * a newer write that was confirmed meanwhile.
 */
export const LATE = -9;
const DEADLINE = `
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[#ARGV]) then return {${LATE}} end
`;

/**
 * `slide(at, record, log)`: the sliding expiry riding on a write the session sends anyway. `at` is the Unix ms
 * the session may live until (the idle TTL from now, capped by its absolute ceiling), turned into a PX
 * with Redis's own clock. A key's TTL is only ever extended, never shortened (a late flush carries an
 * older `at`); a missing key stays missing (PEXPIRE on no key is a no-op; callers check the record first).
 * The record is never given an expiry it did not have; a log that XADD just created is.
 */
const SLIDE = `
local function slide(at, record, log)
  local t = redis.call('TIME')
  local px = tonumber(at) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  local left = redis.call('PTTL', record)
  if px > 0 and left >= 0 and left < px then redis.call('PEXPIRE', record, px) end
  if log then
    left = redis.call('PTTL', log)
    if left == -1 or (left >= 0 and left < px) then redis.call('PEXPIRE', log, math.max(px, 1)) end
  end
end
`;

/** ARGV: shape, px, deadline. Creates the session hash at revision 1 unless the key exists. Returns {1} or {0}. */
export const CREATE = `${DEADLINE}
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
redis.call('HSET', KEYS[1], 'rev', '1', 'shape', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1}`;

/**
 * ARGV: expected rev, shape, px, channel, message, deadline. Writes only over the expected revision, then announces
 * "<message> <new rev>". Returns {1, rev} written, {2, rev, shape} conflict, {0} gone.
 */
export const UPDATE_SHAPE = `${DEADLINE}
local rev = redis.call('HGET', KEYS[1], 'rev')
if not rev then return {0} end
if rev ~= ARGV[1] then return {2, rev, redis.call('HGET', KEYS[1], 'shape')} end
local nextRev = tostring(tonumber(rev) + 1)
redis.call('HSET', KEYS[1], 'rev', nextRev, 'shape', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. nextRev)
return {1, nextRev}`;

/**
 * KEYS: session, its events (optional). ARGV: field, value, px, max keys, max total bytes, growth floor,
 * [expire at], deadline. Sets one data field within the session's limits. A growth floor >= 0 (the store
 * is nearly full) refuses a write that grows the data past that floor. With `expire at` (Unix ms) the
 * session's keys slide to it (only ever extended, see SLIDE); without it (a previous release's argument
 * list) the record gets `px` as before. Returns {1} set, {0} gone, {2} full (key count), {3, bytes} too
 * large (total), {4} refused growth.
 */
export const DATA_SET = `${DEADLINE}${SLIDE}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local fields = redis.call('HGETALL', KEYS[1])
local count, total, before, exists = 0, #ARGV[1] + #ARGV[2], 0, false
for i = 1, #fields, 2 do
  local f = fields[i]
  if string.sub(f, 1, 2) == 'd:' then
    before = before + #f + #fields[i + 1]
    if f == ARGV[1] then exists = true else
      count = count + 1
      total = total + #f + #fields[i + 1]
    end
  end
end
if not exists and count >= tonumber(ARGV[4]) then return {2} end
if total > tonumber(ARGV[5]) then return {3, total} end
local floor = tonumber(ARGV[6])
if floor >= 0 and total > before and total > floor then return {4} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if #ARGV >= 8 then slide(ARGV[7], KEYS[1], KEYS[2]) else redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1}`;

/**
 * KEYS: session, its events (optional). ARGV: field, px, [expire at], deadline. Deletes one data field and
 * slides the session's keys as DATA_SET does. Returns {-1} gone, else {fields removed}.
 */
export const DATA_DELETE = `${DEADLINE}${SLIDE}
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if #ARGV >= 4 then slide(ARGV[3], KEYS[1], KEYS[2]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {removed}`;

/** KEYS: session, its events. ARGV: channel, message. DEL both, then PUBLISH only when the session existed. */
export const DELETE_AND_ANNOUNCE = `
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
if existed == 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return 1
end
return 0`;

/**
 * KEYS: session, its events. ARGV: max count, max bytes, px, channel, announcement ('' for none), expire
 * at ('' for none), then (event id, stream id, message, request ids) quadruples. `expire at` (Unix ms) is
 * the session's sliding expiry riding on the append: record and log are extended to it, never shortened
 * (SLIDE); without it the log gets `px`. A previous release's list has no `expire at` (its quadruples
 * start at ARGV[6]); the count of arguments tells the two apart, so either list runs here. Appends to
 * the log only while the session exists (a late flush never resurrects a deleted session's events),
 * then drops the oldest entries until the log is within both bounds, then publishes the announcement
 * (which may name other sessions of the flush, appended before it on the same connection). The log's byte count lives in the session hash
 * (field `eb`); a log without one is counted once.
 */
export const APPEND_EVENTS = `${SLIDE}
local first, at = 6, ''
if (#ARGV - 5) % 4 ~= 0 then first, at = 7, ARGV[6] end
local function announce() if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end end
if redis.call('EXISTS', KEYS[1]) == 0 then announce() return 0 end
local function size(fields)
  local n = 0
  for j = 2, #fields, 2 do n = n + #fields[j] end
  return n
end
local bytes = 0
if redis.call('EXISTS', KEYS[2]) == 1 then
  local counted = redis.call('HGET', KEYS[1], 'eb')
  if counted then bytes = tonumber(counted) else
    for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '-', '+')) do bytes = bytes + size(entry[2]) end
  end
end
for i = first, #ARGV, 4 do
  if ARGV[i + 3] == '' then
    redis.call('XADD', KEYS[2], '*', 'i', ARGV[i], 's', ARGV[i + 1], 'm', ARGV[i + 2])
  else
    redis.call('XADD', KEYS[2], '*', 'i', ARGV[i], 's', ARGV[i + 1], 'm', ARGV[i + 2], 'r', ARGV[i + 3])
  end
  bytes = bytes + #ARGV[i] + #ARGV[i + 1] + #ARGV[i + 2] + #ARGV[i + 3]
end
local count, maxCount, maxBytes = redis.call('XLEN', KEYS[2]), tonumber(ARGV[1]), tonumber(ARGV[2])
while count > maxCount or bytes > maxBytes do
  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 16)
  if #oldest == 0 then bytes = 0 break end
  for _, entry in ipairs(oldest) do
    if count <= maxCount and bytes <= maxBytes then break end
    redis.call('XDEL', KEYS[2], entry[1])
    count = count - 1
    bytes = bytes - size(entry[2])
  end
end
redis.call('HSET', KEYS[1], 'eb', bytes)
if at == '' then redis.call('PEXPIRE', KEYS[2], ARGV[3]) else slide(at, KEYS[1], KEYS[2]) end
announce()
return 1`;

/** Every script by the name the clients know it under, with its number of keys. */
const SCRIPTS = {
  mcpCreate: [1, CREATE],
  mcpUpdateShape: [1, UPDATE_SHAPE],
  mcpDataSet: [2, DATA_SET],
  mcpDataDelete: [2, DATA_DELETE],
  mcpDelete: [2, DELETE_AND_ANNOUNCE],
  mcpAppendEvents: [2, APPEND_EVENTS],
  ...padScripts(DEADLINE),
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** Teaches a client the scripts: it then sends EVALSHA, and loads a script again after NOSCRIPT. */
export function defineScripts(client: RedisClient): void {
  for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys, lua });
}

type ScriptCall = (...keysAndArgs: Array<string | number>) => Promise<unknown>;

/** Runs a script by name: keys first, then arguments. */
export function runScript(client: RedisClient, name: ScriptName, ...keysAndArgs: Array<string | number>): Promise<unknown> {
  return (client as unknown as Record<ScriptName, ScriptCall>)[name](...keysAndArgs);
}

/** Queues a script call on a pipeline. */
export function queueScript(pipeline: ChainableCommander, name: ScriptName, ...keysAndArgs: Array<string | number>): void {
  void (pipeline as unknown as Record<ScriptName, ScriptCall>)[name](...keysAndArgs);
}
