/**
 * The Lua scripts of the Redis presence (Redis 7.0). Two keys, in one hash slot: `nodes`, a
 * sorted set of node ids scored by the time (Redis's clock, ms) their heartbeat expires, and
 * `users`, a hash from a name's key to the JSON `{name, room, node, owner, since}` of its holder.
 * Invariant: every user's node is in `nodes` (a claim refreshes its node; a reap removes a dead
 * node and its users in one step), so a dead node's users are always found and announced once.
 * A third key, `reaped` (sorted set: node id -> when), remembers for a day which nodes were reaped,
 * so that a node that was only cut off knows its users were announced as gone (and after a
 * Redis restart, which forgets everything, that they were not).
 *
 * @module
 */

/** Redis's clock in milliseconds, and `%.0f` (Lua numbers become strings without exponents). */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function ms(x) return string.format('%.0f', x) end`;

/**
 * KEYS nodes, users; ARGV key, value, owner, previous key ('' none), node, ttlMs, session ('' none).
 * 1: claimed, 0: taken (by another owner of another session: a resumed session takes its name over).
 */
export const CLAIM = `${NOW}
local current = redis.call('HGET', KEYS[2], ARGV[1])
local value = ARGV[2]
if current then
  local holder = cjson.decode(current)
  if holder.owner ~= ARGV[3] and (ARGV[7] == '' or holder.session ~= ARGV[7]) then return 0 end
  -- A resumed session keeps its place in /users.
  local claimed = cjson.decode(value)
  claimed.since = holder.since
  value = cjson.encode(claimed)
end
if ARGV[4] ~= '' and ARGV[4] ~= ARGV[1] then
  local old = redis.call('HGET', KEYS[2], ARGV[4])
  if old and cjson.decode(old).owner == ARGV[3] then redis.call('HDEL', KEYS[2], ARGV[4]) end
end
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[6])), ARGV[5])
redis.call('HSET', KEYS[2], ARGV[1], value)
return 1`;

/** KEYS users; ARGV key, value, owner: replaces the entry if `owner` still holds it. */
export const UPDATE = `local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and cjson.decode(current).owner == ARGV[3] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0`;

/** KEYS users; ARGV key, owner: deletes the entry if `owner` holds it. */
export const RELEASE = `local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and cjson.decode(current).owner == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) return 1 end
return 0`;

/** KEYS nodes; ARGV node, ttlMs. 1 when the node was known, 0 when it is new (or was reaped). */
export const HEARTBEAT = `${NOW}
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), ARGV[1])
if known then return 1 end
return 0`;

/**
 * KEYS nodes, users, reaped; ARGV node, ttlMs, then key, value pairs: makes the node's users
 * exactly these (after an outage or a reap). Returns 1 when the node had been reaped (else 0),
 * then the owners whose key someone else holds now.
 */
export const SYNC = `${NOW}
local reaped = redis.call('ZSCORE', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1]).node == ARGV[1] then redis.call('HDEL', KEYS[2], all[i]) end
end
local conflicts = {reaped and 1 or 0}
for i = 3, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]) == 0 then
    table.insert(conflicts, cjson.decode(ARGV[i + 1]).owner)
  end
end
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), ARGV[1])
return conflicts`;

/**
 * KEYS nodes, users, reaped: removes every node whose heartbeat expired and its users,
 * atomically, so exactly one caller gets (and announces) them. Returns the removed users' values.
 */
export const REAP = `${NOW}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms(now))
if #dead == 0 then return {} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ms(now - 86400000))
local isDead = {}
for _, node in ipairs(dead) do
  isDead[node] = true
  redis.call('ZREM', KEYS[1], node)
  redis.call('ZADD', KEYS[3], ms(now), node)
end
local gone = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if isDead[cjson.decode(all[i + 1]).node] then
    redis.call('HDEL', KEYS[2], all[i])
    table.insert(gone, all[i + 1])
  end
end
return gone`;

/** KEYS nodes, users; ARGV node: the node leaves (a clean shutdown) with all its users. */
export const LEAVE = `local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1]).node == ARGV[1] then redis.call('HDEL', KEYS[2], all[i]) end
end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1`;
