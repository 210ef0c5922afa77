-- One live HLS player per wrk connection (bench/hls_load.py runs wrk with as many threads as
-- connections, because wrk keeps one Lua state per thread and tells a callback nothing about the
-- connection it serves: one connection per thread is what lets each viewer keep its own state).
--
-- A player tunes in at a random moment within the tune-in spread (at least one target duration), fetches its channel's
-- playlist, then each segment named there that it has not fetched yet (starting three from the
-- live edge, as hls.js does), and polls the playlist again one target duration after the previous
-- poll began (wrk's delay() hook).
--
-- Arguments after `--`: <measure-from epoch seconds> <report file> <tune-in spread s> [token ...];
-- thread k uses the k-th token (mod their number) as `?token=`. Only requests begun after the first argument are
-- counted, so a run's warm-up (every player's first playlist and three segments) stays out of
-- the rates. done() writes one JSON object to the report file: counts, bytes, statuses and a
-- latency histogram per kind (playlist, segment), and wrk's own error counters.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long seconds; long nanoseconds; } hls_viewer_timespec;
  int clock_gettime(int clock, hls_viewer_timespec *now);
]]
local clock = ffi.new("hls_viewer_timespec")
local function now()
  ffi.C.clock_gettime(0, clock) -- CLOCK_REALTIME: comparable with the bench's wall clock
  return tonumber(clock.seconds) + tonumber(clock.nanoseconds) * 1e-9
end

-- setup() runs in the main Lua state, once per thread, before the thread's init().
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local measure_from, token
-- A global: done() runs in wrk's main Lua state, which init() never sees, and reads it from a thread.
report_path = nil
local folder, playlist_path
local target = 2.0
-- Segments to fetch, first in first out: queue[head] … queue[tail] (`#` is unreliable once the front is nil).
local queue, head, tail = {}, 1, 0
local newest_fetched = nil
local next_poll, polled_at = nil, 0
local started_at, kind = 0, nil
local stats = {}
-- The thread's counts as JSON text, a global: done() reads it with thread:get(), which copies
-- strings and numbers safely but not nested tables (wrk 4.1 pops one value too many).
stats_json = "{}"

function init(args)
  measure_from = tonumber(args[1])
  report_path = args[2]
  local spread = math.max(tonumber(args[3]) or 0, target)
  local tokens = {}
  for i = 4, #args do
    tokens[#tokens + 1] = args[i]
  end
  if #tokens > 0 then
    token = tokens[(id % #tokens) + 1]
  end
  playlist_path = wrk.path
  folder = playlist_path:match("^(.*/)")
  math.randomseed(id * 7919 + 17)
  -- Tune in at a random moment of the spread, so 2,000 players don't poll in lockstep.
  next_poll = now() + math.random() * spread
  for _, name in ipairs({ "playlist", "segment" }) do
    stats[name] = { requests = 0, bytes = 0, statuses = {}, latency_us = {} }
  end
end

local function with_token(path)
  if token == nil or path:find("token=", 1, true) then
    return path
  end
  return path .. (path:find("?", 1, true) and "&" or "?") .. "token=" .. token
end

function delay()
  if head <= tail then
    return 0
  end
  local wait = next_poll - now()
  return wait > 0 and math.floor(wait * 1000) or 0
end

function request()
  local path
  if head <= tail then
    kind = "segment"
    path = queue[head]
    queue[head] = nil
    head = head + 1
  else
    kind = "playlist"
    path = with_token(playlist_path)
    polled_at = now()
    next_poll = polled_at + target
  end
  started_at = now()
  return wrk.format("GET", path)
end

-- Latency histogram buckets: two significant digits of the microsecond count.
local function bucket(us)
  local step = 1
  while us >= step * 100 do
    step = step * 10
  end
  return math.floor(us / step) * step
end

local function take_playlist(body)
  local sequence = tonumber(body:match("#EXT%-X%-MEDIA%-SEQUENCE:(%d+)")) or 0
  local duration = tonumber(body:match("#EXT%-X%-TARGETDURATION:(%d+)"))
  if duration and duration > 0 then
    target = duration
    next_poll = polled_at + target
  end
  local uris = {}
  for line in body:gmatch("[^\r\n]+") do
    if line:sub(1, 1) ~= "#" then
      uris[#uris + 1] = line
    end
  end
  local first_new = newest_fetched and (newest_fetched + 1) or (sequence + #uris - 3)
  for index, uri in ipairs(uris) do
    local msn = sequence + index - 1
    if msn >= first_new then
      local path = uri:sub(1, 1) == "/" and uri or (folder .. uri)
      tail = tail + 1
      queue[tail] = with_token(path)
      newest_fetched = msn
    end
  end
end

-- A tiny JSON writer: wrk's Lua has no JSON library, and the report holds only tables of numbers.
local function json(value)
  if type(value) == "table" then
    local parts = {}
    for key, item in pairs(value) do
      parts[#parts + 1] = string.format("%q:%s", tostring(key), json(item))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return string.format("%.17g", value)
end

function response(status, headers, body)
  local finished = now()
  if kind == "playlist" and status == 200 then
    take_playlist(body)
  end
  if started_at < measure_from then
    return
  end
  local row = stats[kind]
  row.requests = row.requests + 1
  row.bytes = row.bytes + #body
  local code = tostring(status)
  row.statuses[code] = (row.statuses[code] or 0) + 1
  local key = tostring(bucket(math.floor((finished - started_at) * 1e6)))
  row.latency_us[key] = (row.latency_us[key] or 0) + 1
  stats_json = json(stats)
end

-- json()'s output read back: a table of tables of numbers, keys always quoted.
function decode(text)
  local lua = text:gsub('"([^"]*)":', '["%1"]=')
  return assert(loadstring("return " .. lua))()
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for name, row in pairs(decode(thread:get("stats_json"))) do
      local into = merged[name]
      if into == nil then
        into = { requests = 0, bytes = 0, statuses = {}, latency_us = {} }
        merged[name] = into
      end
      into.requests = into.requests + row.requests
      into.bytes = into.bytes + row.bytes
      for code, count in pairs(row.statuses) do
        into.statuses[code] = (into.statuses[code] or 0) + count
      end
      for key, count in pairs(row.latency_us) do
        into.latency_us[key] = (into.latency_us[key] or 0) + count
      end
    end
  end
  local report = {
    kinds = merged,
    wrk = {
      requests = summary.requests,
      bytes = summary.bytes,
      duration_us = summary.duration,
      connect_errors = summary.errors.connect,
      read_errors = summary.errors.read,
      write_errors = summary.errors.write,
      status_errors = summary.errors.status,
      timeouts = summary.errors.timeout,
    },
  }
  local out = assert(io.open(threads[1]:get("report_path"), "w"))
  out:write(json(report), "\n")
  out:close()
end
