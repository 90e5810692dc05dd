// Lua scripts of the Redis store. Each touches one session key (one hash slot on a clustered Redis);
// channels are arguments, not keys. No script decodes JSON: stored strings are opaque to Redis.

/** ARGV: shape, px. Creates the session hash at revision 1 unless the key exists. */
export const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', '1', 'shape', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * ARGV: expected rev, shape, px, channel, message. Writes only over the expected revision, then announces
 * "<message> <new rev>". Returns {1, rev} written, {2, rev, shape} conflict, {0} gone.
 */
export const UPDATE_SHAPE = `
local rev = redis.call('HGET', KEYS[1], 'rev')
if not rev then return {0} end
if rev ~= ARGV[1] then return {2, rev, redis.call('HGET', KEYS[1], 'shape')} end
local nextRev = tostring(tonumber(rev) + 1)
redis.call('HSET', KEYS[1], 'rev', nextRev, 'shape', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. nextRev)
return {1, nextRev}`;

/**
 * ARGV: field, value, px, max keys, max total bytes. Sets one data field within the session's limits.
 * Returns {1} set, {0} gone, {2} full (key count), {3, bytes} too large (total).
 */
export const DATA_SET = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local fields = redis.call('HGETALL', KEYS[1])
local count, total, exists = 0, #ARGV[1] + #ARGV[2], false
for i = 1, #fields, 2 do
  local f = fields[i]
  if string.sub(f, 1, 2) == 'd:' then
    if f == ARGV[1] then exists = true else
      count = count + 1
      total = total + #f + #fields[i + 1]
    end
  end
end
if not exists and count >= tonumber(ARGV[4]) then return {2} end
if total > tonumber(ARGV[5]) then return {3, total} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1}`;

/** ARGV: field, px. Deletes one data field. Returns -1 gone, else the number of fields removed. */
export const DATA_DELETE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return removed`;

/** ARGV: channel, message. DEL, then PUBLISH only when a key was removed. */
export const DELETE_AND_ANNOUNCE = `
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return 1
end
return 0`;
