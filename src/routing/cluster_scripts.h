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
//   sb:peers             room memberships in the whole cluster (for the gauges)
//   sb:nodemembers:<node> set of "R peer" held by a node (reaped when it is lost)
//   sb:pr:<peer>         set of the rooms of a peer (read when its session moves)
// Keys of a resumable session S of peer P (cluster mode with resume on):
//   sb:s:<S>             hash: peer, user, secret, node (the node holding it)
//   sb:pn:<P>            the node holding P's session: where unicast relays to P go
//   sb:log:<P>           list of "<seq> <frame>": the frames stamped for P, newest last
//                        (trimmed to the replay buffer's message limit)
//   sb:in:<P>            list of what came for P while its node was gone (keep_for below):
//                        encoded PeerRelays (unicast and room-wide relays), KeptEvents
//                        (membership events, wire::KeptEvent), and 'X' once it overflowed
//   sb:inb:<P>           the size of sb:in:<P> in bytes
//   sb:nodesessions:<node> set of the session ids a node holds (reaped when it is lost)
// Channels: sb:r:R (membership events, metadata changes and room-wide relays), sb:n:<node> (unicast
// relays, their replies, and session handover messages).
//
// The session scripts touch keys they compute (a peer's rooms, the old and new
// node's sets): fine on one Redis server, which is what cluster mode uses; not
// Redis Cluster-safe.
#pragma once

#include <string>

namespace sb::routing::scripts {

// --- Frames for the members of a gone node ----------------------------------------
//
// A node that dies (SIGKILL) stops listening at once, but its members stay in
// their rooms until the resume window ends, and their sessions may be resumed
// on another node before that. What is published for them meanwhile reaches
// nobody, so the scripts that publish to a room also keep it, in the same
// script (atomic with kHandoff: a frame is either kept here or published after
// the handover point, where the taker holds it), in the inbox of each such
// member whose session no live node holds. kTake hands the inbox to the taker.
// Pasted in front of the scripts that use it. Their "inbox limit" argument is
// "<messages> <bytes>" (Cluster::inbox_limit), or "" with resume off: keep nothing.
inline constexpr const char* kKeepForGone = R"lua(
local function listening(node)
  return redis.call('PUBSUB', 'NUMSUB', 'sb:n:' .. node)[2] > 0
end
-- The nodes of `nodes` nobody listens for, as a set; nil when all are alive. O(nodes).
local function gone_of(nodes)
  local gone = nil
  for _, n in ipairs(nodes) do
    if not listening(n) then
      gone = gone or {}
      gone[n] = true
    end
  end
  return gone
end
-- Appends `entry` to the inbox of `peer` (sb:in, its size in bytes in sb:inb)
-- unless that passes `limit` ("<messages> <bytes>"); then the inbox ends with
-- one 'X' (whoever takes it knows something was lost). True when appended.
local function inbox_push(peer, entry, limit)
  local msgs, bytes = string.match(limit, '^(%d+) (%d+)$')
  local inbox, size = 'sb:in:' .. peer, 'sb:inb:' .. peer
  local b = tonumber(redis.call('GET', size) or '0')
  if redis.call('LLEN', inbox) < tonumber(msgs) and b + #entry <= tonumber(bytes) then
    redis.call('RPUSH', inbox, entry)
    redis.call('INCRBY', size, #entry)
    return true
  end
  if redis.call('LINDEX', inbox, -1) ~= 'X' then redis.call('RPUSH', inbox, 'X') end
  return false
end
-- inbox_push(peer, entry(peer), limit) when the node of `peer` (member JSON
-- `mj`) is in `gone` and no live node holds its session.
local function keep_for(peer, mj, gone, entry, limit)
  local node = string.match(mj, '"node":"([^"]*)"')
  if not node or not gone[node] then return end
  local at = redis.call('GET', 'sb:pn:' .. peer)
  if not at or (not gone[at] and listening(at)) then return end
  inbox_push(peer, entry(peer), limit)
end
-- keep_for each member of the room (members hash `members`) but `skip`;
-- `nodes`: the nodes to check, nil for every registered node.
-- O(nodes) when every node is alive; O(members) more while one is gone.
local function keep_for_room(members, nodes, skip, entry, limit)
  if limit == '' then return end
  local gone = gone_of(nodes or redis.call('SMEMBERS', 'sb:nodes'))
  if not gone then return end
  local all = redis.call('HGETALL', members)
  for i = 1, #all, 2 do
    if all[i] ~= skip then keep_for(all[i], all[i + 1], gone, entry, limit) end
  end
end
-- A membership event as kept in an inbox (wire::KeptEvent): 'E', the room, the event.
local function kept_event(room, ev)
  return function() return 'E' .. #room .. ':' .. room .. ev end
end
)lua";

// KEYS: meta, members, vers, rooms, nodemembers, peer rooms
// ARGV: room, peer, member_json, kind, max_peers, metadata, now, channel, inbox limit
// -> {"ok", ver, created, meta (HGETALL)} | {"already_joined"} | {"room_full", max_peers}
inline const std::string kJoin = std::string(kKeepForGone) + R"lua(
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
redis.call('SADD', KEYS[6], ARGV[1])
redis.call('INCR', 'sb:peers')
local ev = '{"ev":"join","ver":' .. ver .. ',"m":' .. ARGV[3] .. '}'
redis.call('PUBLISH', ARGV[8], ev)
keep_for_room(KEYS[2], nil, ARGV[2], kept_event(ARGV[1], ev), ARGV[9])
return {'ok', tostring(ver), tostring(created), redis.call('HGETALL', KEYS[1])}
)lua";

// KEYS: meta, members, vers, rooms, nodemembers, peer rooms
// ARGV: room, peer, reason, channel, extra (appended to the event: "" or `,"why":"<JSON-escaped text>"`),
//       inbox limit
// A kicked member of a gone node keeps the event too (its notice).
// -> {0} when the peer was not a member; {1, ver, finished, meta (HGETALL, as it was), member_json}
inline const std::string kLeave = std::string(kKeepForGone) + R"lua(
local mj = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[5], ARGV[1] .. ' ' .. ARGV[2])
redis.call('SREM', KEYS[6], ARGV[1])
if not mj then return {0} end
local pub = 'false'
if string.find(mj, '"pub":true', 1, true) then pub = 'true' end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('DECR', 'sb:peers')
local meta = redis.call('HGETALL', KEYS[1])
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
local ev = '{"ev":"leave","ver":' .. ver .. ',"peer":"' .. ARGV[2] .. '","pub":' .. pub ..
           ',"reason":"' .. ARGV[3] .. '"' .. ARGV[5] .. '}'
redis.call('PUBLISH', ARGV[4], ev)
local limit = ARGV[6]
if limit ~= '' then
  local nodes = redis.call('SMEMBERS', 'sb:nodes')
  keep_for_room(KEYS[2], nodes, '', kept_event(ARGV[1], ev), limit)
  local gone = ARGV[3] == 'kicked' and gone_of(nodes)
  if gone then keep_for(ARGV[2], mj, gone, kept_event(ARGV[1], ev), limit) end
end
local finished = 0
if redis.call('HLEN', KEYS[2]) == 0 and redis.call('HGET', KEYS[1], 'persistent') ~= '1' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  redis.call('SREM', KEYS[4], ARGV[1])
  finished = 1
end
return {1, tostring(ver), tostring(finished), meta, mj}
)lua";

// KEYS: meta, members
// ARGV: peer, member_json, channel, room, inbox limit
// -> the new version, or 0 when the peer is not a member
inline const std::string kUpdate = std::string(kKeepForGone) + R"lua(
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
local ev = '{"ev":"update","ver":' .. ver .. ',"m":' .. ARGV[2] .. '}'
redis.call('PUBLISH', ARGV[3], ev)
keep_for_room(KEYS[2], nil, ARGV[1], kept_event(ARGV[4], ev), ARGV[5])
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
// KEYS: meta, members, vers, rooms, nodemembers, peer rooms
// ARGV: room, peer, member_json, kind, max_peers, metadata, created_at, persistent, min_ver, channel
// -> 1 when the member was put back, 0 when it was there
inline constexpr const char* kRestore = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'kind', ARGV[4], 'max_peers', ARGV[5], 'metadata', ARGV[6],
             'created_at', ARGV[7], 'persistent', ARGV[8], 'ver', '0')
end
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1] .. ' ' .. ARGV[2])
redis.call('SADD', KEYS[6], ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'ver'))
if cur < tonumber(ARGV[9]) then redis.call('HSET', KEYS[1], 'ver', ARGV[9]) end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ver)
redis.call('INCR', 'sb:peers')
redis.call('PUBLISH', ARGV[10], '{"ev":"join","ver":' .. ver .. ',"m":' .. ARGV[3] .. '}')
return 1
)lua";

// --- Operators (the admin API, whichever node is asked) --------------------------

// Every room: {{name, meta (HGETALL), members}, ...}. O(rooms): one script, so
// a listing is one consistent picture.
inline constexpr const char* kRoomList = R"lua(
local out = {}
for _, r in ipairs(redis.call('SMEMBERS', 'sb:rooms')) do
  local meta = 'sb:room:{' .. r .. '}'
  out[#out + 1] = {r, redis.call('HGETALL', meta), redis.call('HLEN', meta .. ':members')}
end
return out
)lua";

// One room. KEYS: meta, members. ARGV: metadata to set and the room's channel (both optional).
// Setting metadata is a change of the room like a membership change: its
// version goes up and `{"ev":"room","ver":N,"metadata":"<JSON text>"}` is
// published, so every mirror keeps the metadata (and puts it back if Redis
// comes back empty).
// -> {} when there is no room; {meta (HGETALL), members}
inline constexpr const char* kRoomInfo = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if ARGV[1] then
  redis.call('HSET', KEYS[1], 'metadata', ARGV[1])
  local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
  redis.call('PUBLISH', ARGV[2], '{"ev":"room","ver":' .. ver .. ',"metadata":' .. cjson.encode(ARGV[1]) .. '}')
end
return {redis.call('HGETALL', KEYS[1]), redis.call('HLEN', KEYS[2])}
)lua";

// A persistent room made ahead of its peers.
// KEYS: meta, rooms. ARGV: room, kind, max_peers, metadata, now
// -> {0} when it exists; {1, meta (HGETALL)}
inline constexpr const char* kCreateRoom = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
redis.call('HSET', KEYS[1], 'kind', ARGV[2], 'max_peers', ARGV[3], 'metadata', ARGV[4],
           'created_at', ARGV[5], 'persistent', '1', 'ver', '0')
redis.call('SADD', KEYS[2], ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
)lua";

// Closes a room: every member leaves with reason room-closed (one event each,
// in join order is not needed: every node drops them all), then the room goes.
// Members of a gone node keep their own event (their notice).
// KEYS: meta, members, vers, rooms. ARGV: room, channel, inbox limit
// -> {} when there is no room; {meta (HGETALL, as it was), {member_json, ...}}
inline const std::string kCloseRoom = std::string(kKeepForGone) + R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local limit = ARGV[3]
local gone = nil
if limit ~= '' then gone = gone_of(redis.call('SMEMBERS', 'sb:nodes')) end
local meta = redis.call('HGETALL', KEYS[1])
local closed = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local peer, mj = all[i], all[i + 1]
  local ok, m = pcall(cjson.decode, mj)
  if ok and m.node then redis.call('SREM', 'sb:nodemembers:' .. m.node, ARGV[1] .. ' ' .. peer) end
  redis.call('SREM', 'sb:pr:' .. peer, ARGV[1])
  redis.call('DECR', 'sb:peers')
  local pub = 'false'
  if string.find(mj, '"pub":true', 1, true) then pub = 'true' end
  local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
  local ev = '{"ev":"leave","ver":' .. ver .. ',"peer":"' .. peer .. '","pub":' .. pub .. ',"reason":"room-closed"}'
  redis.call('PUBLISH', ARGV[2], ev)
  if gone then keep_for(peer, mj, gone, kept_event(ARGV[1], ev), limit) end
  closed[#closed + 1] = mj
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
return {meta, closed}
)lua";

// --- Sessions (resume on any node) ---------------------------------------------

// Registers a resumable session held by `node` (at hello, and again after Redis
// lost its data).
// KEYS: session, peer node, node sessions
// ARGV: peer, user, secret, node, session
inline constexpr const char* kSessionPut = R"lua(
redis.call('HSET', KEYS[1], 'peer', ARGV[1], 'user', ARGV[2], 'secret', ARGV[3], 'node', ARGV[4])
redis.call('SET', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[5])
return 1
)lua";

// Forgets a session that ended for good, unless another node holds it by now.
// KEYS: session, node sessions (of `node`)
// ARGV: session, node
// -> 1 when forgotten, 0 when not held by `node`
inline constexpr const char* kSessionEnd = R"lua(
redis.call('SREM', KEYS[2], ARGV[1])
local peer = redis.call('HGET', KEYS[1], 'peer')
if not peer then return 0 end
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], 'sb:log:' .. peer, 'sb:in:' .. peer, 'sb:inb:' .. peer, 'sb:pr:' .. peer)
if redis.call('GET', 'sb:pn:' .. peer) == ARGV[2] then redis.call('DEL', 'sb:pn:' .. peer) end
return 1
)lua";

// A unicast relay to a peer of another node: published on the channel of the
// node holding the peer's session now; when nobody listens there (that node is
// gone), kept in the peer's inbox for whichever node resumes the session.
// KEYS: peer node. ARGV: encoded PeerRelay, peer, inbox limit
// -> 1 published (that node answers), 2 kept, -1 no such peer, -2 inbox full
// (the session ends when resumed: what it missed is lost)
inline const std::string kDeliver = std::string(kKeepForGone) + R"lua(
local node = redis.call('GET', KEYS[1])
if not node then return -1 end
if redis.call('PUBLISH', 'sb:n:' .. node, ARGV[1]) > 0 then return 1 end
if inbox_push(ARGV[2], ARGV[1], ARGV[3]) then return 2 end
return -2
)lua";

// A room-wide relay: published on the room's channel (each node delivers it to
// its members), and kept for the members of gone nodes (keep_for_room), as a
// PeerRelay to each: `head` .. <length>:<peer> .. `tail` (wire::PeerRelayParts).
// KEYS: members. ARGV: channel, encoded RoomRelay, head, tail, inbox limit,
// sender (not kept for), then the nodes to check (none: every registered node).
// O(nodes) while every node is alive.
inline const std::string kRoomSend = std::string(kKeepForGone) + R"lua(
redis.call('PUBLISH', ARGV[1], ARGV[2])
local nodes = nil
if #ARGV > 6 then nodes = {unpack(ARGV, 7)} end
local function entry(peer) return ARGV[3] .. #peer .. ':' .. peer .. ARGV[4] end
keep_for_room(KEYS[1], nodes, ARGV[6], entry, ARGV[5])
return 1
)lua";

// Takes a peer's inbox (what was kept while its node did not listen): its entries, oldest first; empties it.
// KEYS: inbox, its size
inline constexpr const char* kTakeInbox = R"lua(
local inbox = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1], KEYS[2])
return inbox
)lua";

// Hands the session of a peer from node `from` to node `to`: from now on its
// relays go to `to`. Publishes the handover point on both nodes' channels:
// `from` has then seen every relay routed to it before, and `to` keeps what
// comes after. Handover messages: tag, then length-prefixed peer, session, node.
// KEYS: peer node, session
// ARGV: from, to, peer, session
// -> 1 handed over, 0 `from` does not hold it
inline constexpr const char* kHandoff = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'node', ARGV[2])
local function f(x) return #x .. ':' .. x end
local body = f(ARGV[3]) .. f(ARGV[4]) .. f(ARGV[2])
redis.call('PUBLISH', 'sb:n:' .. ARGV[1], 'H' .. body)
redis.call('PUBLISH', 'sb:n:' .. ARGV[2], 'T' .. body)
return 1
)lua";

// The node `to` takes the session over (after kHandoff): returns what the
// client may have missed and moves the peer's memberships to `to` (a "move"
// event per room, which nodes apply without telling clients).
// KEYS: session, log, inbox, peer rooms, node sessions of `from`, node sessions of `to`
// ARGV: session, peer, from, to, home loop on `to`
// -> {log entries, inbox entries, rooms} or {} when `to` does not hold it
inline constexpr const char* kTake = R"lua(
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[4] then return {} end
local log = redis.call('LRANGE', KEYS[2], 0, -1)
local inbox = redis.call('LRANGE', KEYS[3], 0, -1)
redis.call('DEL', KEYS[3], 'sb:inb:' .. ARGV[2])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SADD', KEYS[6], ARGV[1])
local rooms = redis.call('SMEMBERS', KEYS[4])
local node = string.gsub(ARGV[4], '%%', '%%%%')
for _, room in ipairs(rooms) do
  local meta = 'sb:room:{' .. room .. '}'
  local mj = redis.call('HGET', meta .. ':members', ARGV[2])
  if mj then
    mj = string.gsub(mj, '"node":"[^"]*"', '"node":"' .. node .. '"', 1)
    mj = string.gsub(mj, '"shard":%d+', '"shard":' .. ARGV[5], 1)
    redis.call('HSET', meta .. ':members', ARGV[2], mj)
    redis.call('SREM', 'sb:nodemembers:' .. ARGV[3], room .. ' ' .. ARGV[2])
    redis.call('SADD', 'sb:nodemembers:' .. ARGV[4], room .. ' ' .. ARGV[2])
    local ver = redis.call('HINCRBY', meta, 'ver', 1)
    redis.call('PUBLISH', 'sb:r:' .. room, '{"ev":"move","ver":' .. ver .. ',"m":' .. mj .. '}')
  end
end
return {log, inbox, rooms}
)lua";

}  // namespace sb::routing::scripts
