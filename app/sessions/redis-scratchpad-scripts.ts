// Lua scripts of the Redis scratchpads: each touches one handle's hash, checks its owner and slides its expiry.
/**
 * ARGV[1] owner, ARGV[2] idle ms. The hash's owner must match (an absent hash has none); its PX becomes
 * min(idle, max - now), and a pad past its absolute end is deleted. {-1}: unknown to this owner.
 */
const OWNED = `
local meta = redis.call('HMGET', KEYS[1], 'owner', 'max')
if meta[1] ~= ARGV[1] then return {-1} end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local px = math.min(tonumber(ARGV[2]), tonumber(meta[2]) - now)
if px <= 0 then
  redis.call('DEL', KEYS[1])
  return {-1}
end
redis.call('PEXPIRE', KEYS[1], math.floor(px))
`;

/**
 * The scripts by the name the clients know them under, with their number of keys. `deadline` is the
 * session scripts' prologue that refuses to run past the caller's deadline (the last argument).
 */
export function padScripts(DEADLINE: string) {
  /** ARGV: owner, max expiry (Unix ms), px, deadline. Creates the hash unless it exists. {1} or {0}. */
  const PAD_OPEN = `${DEADLINE}
  if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'max', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1}`;

  /** ARGV: owner, idle, field. {1, value or nil}. */
  const PAD_GET = `${OWNED}
  return {1, redis.call('HGET', KEYS[1], ARGV[3])}`;

  /** ARGV: owner, idle. {1, {field, value, …}} (every field; the caller keeps the data ones). */
  const PAD_LIST = `${OWNED}
  return {1, redis.call('HGETALL', KEYS[1])}`;

  /**
   * ARGV: owner, idle, field, value, max keys, max total bytes, channel, message, deadline. Sets one data
   * field within the limits and announces it. {1} set, {2} full, {3, bytes} too large.
   */
  const PAD_SET = `${DEADLINE}${OWNED}
  local fields = redis.call('HGETALL', KEYS[1])
  local count, total, exists = 0, #ARGV[3] + #ARGV[4], false
  for i = 1, #fields, 2 do
    local f = fields[i]
    if string.sub(f, 1, 2) == 'd:' then
      if f == ARGV[3] then exists = true else
        count = count + 1
        total = total + #f + #fields[i + 1]
      end
    end
  end
  if not exists and count >= tonumber(ARGV[5]) then return {2} end
  if total > tonumber(ARGV[6]) then return {3, total} end
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PUBLISH', ARGV[7], ARGV[8])
  return {1}`;

  /** ARGV: owner, idle, field, channel, message, deadline. {fields removed}; announced when one was. */
  const PAD_DELETE = `${DEADLINE}${OWNED}
  local removed = redis.call('HDEL', KEYS[1], ARGV[3])
  if removed == 1 then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
  return {removed}`;

  /** ARGV: owner, idle, channel, message, deadline. Removes every data field. {fields removed}. */
  const PAD_CLEAR = `${DEADLINE}${OWNED}
  local fields = redis.call('HKEYS', KEYS[1])
  local removed = 0
  for i = 1, #fields do
    if string.sub(fields[i], 1, 2) == 'd:' then removed = removed + redis.call('HDEL', KEYS[1], fields[i]) end
  end
  if removed > 0 then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
  return {removed}`;

  return {
    mcpPadOpen: [1, PAD_OPEN],
    mcpPadGet: [1, PAD_GET],
    mcpPadList: [1, PAD_LIST],
    mcpPadSet: [1, PAD_SET],
    mcpPadDelete: [1, PAD_DELETE],
    mcpPadClear: [1, PAD_CLEAR],
  } as const;
}
