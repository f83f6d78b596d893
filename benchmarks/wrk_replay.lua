-- Replays requests round-robin for benchmarks/wrk.py and prints one JSON summary line.
-- Usage: wrk -s wrk_replay.lua URL -- REQUESTS_FILE
-- REQUESTS_FILE: one request per line, "METHOD<TAB>PATH<TAB>JSON_BODY" (body may be empty).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per-thread state; globals, so done() can read them with thread:get().
prepared = {}
position = 0
non_2xx = 0
first_bad_status = 0

function init(args)
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    if body == "" then
      table.insert(prepared, wrk.format(method, path, {}, nil))
    else
      table.insert(prepared, wrk.format(method, path, {["Content-Type"] = "application/json"}, body))
    end
  end
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    if first_bad_status == 0 then
      first_bad_status = status
    end
  end
end

function done(summary, latency, per_request)
  local bad, first = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non_2xx")
    if first == 0 then
      first = thread:get("first_bad_status")
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "first_bad_status": %d, '
      .. '"errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, bad, first,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
