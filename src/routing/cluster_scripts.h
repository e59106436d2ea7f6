// routing/cluster_scripts.h — the Lua scripts that change room state in Redis.
//
// Each membership change is one script, so Redis runs it atomically: the cap
// and duplicate checks, the change, the room's version bump and the event
// published on the room's channel happen with nothing in between. Every node
// subscribed to the channel therefore sees the changes of a room in one order
// (`ver`), whichever node made them. Peer ids are hex and room names are
// [A-Za-z0-9._-], so they are pasted into event JSON unescaped; member JSON is
// produced by the nodes (wire::member_json) and pasted as is.
//
// Keys of room R (the braces keep a room's keys in one Redis Cluster slot):
//   sb:room:{R}          hash: kind, max_peers, metadata, created_at, persistent, ver
//   sb:room:{R}:members  hash: peer -> member JSON
//   sb:room:{R}:vers     hash: peer -> the room version of its join (join order)
//   sb:rooms             set of room names
//   sb:nodemembers:<node> set of "R peer" held by a node (reaped when it is lost)
// Channels: sb:r:R (membership events and room-wide relays), sb:n:<node> (unicast).
#pragma once

namespace sb::routing::scripts {

// KEYS: meta, members, vers, rooms, nodemembers
// ARGV: room, peer, member_json, kind, max_peers, metadata, now, channel
// -> {"ok", ver, created, meta (HGETALL)} | {"already_joined"} | {"room_full", max_peers}
inline constexpr const char* kJoin = R"lua(
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'kind', ARGV[4], 'max_peers', ARGV[5], 'metadata', ARGV[6],
             'created_at', ARGV[7], 'persistent', '0', 'ver', '0')
  redis.call('SADD', KEYS[4], ARGV[1])
  created = 1
end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {'already_joined'} end
local maxp = tonumber(redis.call('HGET', KEYS[1], 'max_peers'))
if redis.call('HLEN', KEYS[2]) >= maxp then return {'room_full', tostring(maxp)} end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ver)
redis.call('SADD', KEYS[5], ARGV[1] .. ' ' .. ARGV[2])
redis.call('PUBLISH', ARGV[8], '{"ev":"join","ver":' .. ver .. ',"m":' .. ARGV[3] .. '}')
return {'ok', tostring(ver), tostring(created), redis.call('HGETALL', KEYS[1])}
)lua";

// KEYS: meta, members, vers, rooms, nodemembers
// ARGV: room, peer, reason, channel
// -> {0} when the peer was not a member; {1, ver, finished, meta (HGETALL, as it was), member_json}
inline constexpr const char* kLeave = R"lua(
local mj = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[5], ARGV[1] .. ' ' .. ARGV[2])
if not mj then return {0} end
local pub = 'false'
if string.find(mj, '"pub":true', 1, true) then pub = 'true' end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
local meta = redis.call('HGETALL', KEYS[1])
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('PUBLISH', ARGV[4], '{"ev":"leave","ver":' .. ver .. ',"peer":"' .. ARGV[2] .. '","pub":' .. pub ..
           ',"reason":"' .. ARGV[3] .. '"}')
local finished = 0
if redis.call('HLEN', KEYS[2]) == 0 and redis.call('HGET', KEYS[1], 'persistent') ~= '1' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  redis.call('SREM', KEYS[4], ARGV[1])
  finished = 1
end
return {1, tostring(ver), tostring(finished), meta, mj}
)lua";

// KEYS: meta, members
// ARGV: peer, member_json, channel
// -> the new version, or 0 when the peer is not a member
inline constexpr const char* kUpdate = R"lua(
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('PUBLISH', ARGV[3], '{"ev":"update","ver":' .. ver .. ',"m":' .. ARGV[2] .. '}')
return ver
)lua";

// The whole room as it is now, for a node that starts holding members of it.
// KEYS: meta, members, vers
// -> {ver, meta (HGETALL), members (HGETALL), vers (HGETALL)}; ver 0 when there is no room
inline constexpr const char* kSnapshot = R"lua(
local ver = redis.call('HGET', KEYS[1], 'ver')
if not ver then return {'0', {}, {}, {}} end
return {ver, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])}
)lua";

// After Redis lost its data (a restart) or the node lost its connection: puts
// back one of the node's members, with the room's settings as the node knew
// them, and publishes its join when it was missing. The room's version never
// goes back: it becomes at least `min_ver` (what the node had seen).
// KEYS: meta, members, vers, rooms, nodemembers
// ARGV: room, peer, member_json, kind, max_peers, metadata, created_at, persistent, min_ver, channel
// -> 1 when the member was put back, 0 when it was there
inline constexpr const char* kRestore = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'kind', ARGV[4], 'max_peers', ARGV[5], 'metadata', ARGV[6],
             'created_at', ARGV[7], 'persistent', ARGV[8], 'ver', '0')
end
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1] .. ' ' .. ARGV[2])
local cur = tonumber(redis.call('HGET', KEYS[1], 'ver'))
if cur < tonumber(ARGV[9]) then redis.call('HSET', KEYS[1], 'ver', ARGV[9]) end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ver)
redis.call('PUBLISH', ARGV[10], '{"ev":"join","ver":' .. ver .. ',"m":' .. ARGV[3] .. '}')
return 1
)lua";

}  // namespace sb::routing::scripts
