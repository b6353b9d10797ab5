-- The wrk script of test_lookup_load_bench.py: look-ups of recipients' accounts with a bearer token,
-- each request for the next ID of a file, counting the answers' status codes.
--
-- Read from the environment (the benchmark sets them):
--   NEMKONTO_WRK_IDS      a file with one recipient ID a line
--   NEMKONTO_WRK_PATH     the path with %s where the ID goes
--   NEMKONTO_WRK_TOKEN    the OAuth2 access token
--   NEMKONTO_WRK_RATE     requests per second over all threads; 0 or unset: as fast as the
--                         connections go (a closed loop). Paced, each thread hands out send times
--                         1/rate apart to whichever of its connections is free (wrk's delay()).
--   NEMKONTO_WRK_THREADS  wrk's -t, to split the rate between the threads
-- done() prints one line "NEMKONTO-WRK {json}" with the counts and the latency distribution (us).

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } nemkonto_timespec;
int clock_gettime(int clock_id, nemkonto_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("nemkonto_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local rate = tonumber(os.getenv("NEMKONTO_WRK_RATE") or "0") or 0
local thread_count = tonumber(os.getenv("NEMKONTO_WRK_THREADS") or "1") or 1

-- Main state: one entry per thread, for done().
local threads = {}

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

-- Thread state.
statuses = {}
local ids = {}
local position = 0
local path = ""
local interval = 0
local next_send = 0

function init(args)
  for line in io.lines(os.getenv("NEMKONTO_WRK_IDS")) do
    ids[#ids + 1] = line
  end
  assert(#ids > 0, "no IDs")
  path = os.getenv("NEMKONTO_WRK_PATH")
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("NEMKONTO_WRK_TOKEN")
  wrk.headers["Accept"] = "application/json"
  -- The TLS-terminating proxy's header: production settings redirect plain HTTP otherwise.
  wrk.headers["X-Forwarded-Proto"] = "https"
  position = (number * math.floor(#ids / thread_count)) % #ids
  if rate > 0 then
    interval = 1000 * thread_count / rate
  end
end

function request()
  position = position % #ids + 1
  return wrk.format("GET", string.format(path, ids[position]))
end

if rate > 0 then
  -- wrk asks before each request how many ms to wait: the next free send time of this thread.
  function delay()
    local now = now_ms()
    if next_send < now then
      next_send = now
    end
    local wait = next_send - now
    next_send = next_send + interval
    return math.floor(wait)
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local codes = {}
  for status, count in pairs(merged) do
    codes[#codes + 1] = string.format('"%d": %d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'NEMKONTO-WRK {"requests": %d, "duration_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "non_2xx_3xx": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f, "statuses": {%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean, table.concat(codes, ", ")
  ))
end
