-- Prints one JSON line with wrk's figures: requests per second and latency percentiles in ms.
-- With BENCH_LINES, requests come from that file, one "METHOD PATH [BODY]" a line, split between the
-- BENCH_THREADS threads so that no two connections send the same line (a claim is made once).
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local items, position = nil, 0

function init(args)
  local file = os.getenv("BENCH_LINES")
  if file then
    items = {}
    local total, n = tonumber(os.getenv("BENCH_THREADS") or "1"), 0
    for line in io.lines(file) do
      n = n + 1
      if n % total == id % total then table.insert(items, line) end
    end
  end
end

function request()
  if items and #items > 0 then
    position = position + 1
    local line = items[((position - 1) % #items) + 1]  -- wraps around when the run outlasts the file
    local method, path, body = line:match("^(%S+) (%S+) ?(.*)$")
    return wrk.format(method, path, nil, body ~= "" and body or nil)
  end
  return wrk.format(nil)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50": %.2f, "p95": %.2f, "p99": %.2f, "socket_errors": %d, "bad_status": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
