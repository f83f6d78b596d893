-- Replays requests round-robin for benchmarks/wrk.py and prints one JSON summary line.
-- Usage: wrk -s wrk_replay.lua URL -- REQUESTS_FILE: one request per line, "METHOD<TAB>PATH<TAB>K<TAB>JSON_BODY" (body may be
-- empty; K, or nothing, marks a request sent with a new Idempotency-Key each time).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per-thread state; globals, so done() can read them with thread:get().
prepared = {}
keyed = {}
position = 0
sent = 0
non_2xx = 0
first_bad_status = 0
run = ""

function init(args)
  math.randomseed(os.time())
  run = string.format("%08x", math.random(0, 0x7fffffff))
  for line in io.lines(args[1]) do
    local method, path, key, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if body ~= "" then
      headers["Content-Type"] = "application/json"
    else
      body = nil
    end
    if key == "K" then
      table.insert(keyed, {method = method, path = path, headers = headers, body = body})
      table.insert(prepared, false)
    else
      table.insert(keyed, false)
      table.insert(prepared, wrk.format(method, path, headers, body))
    end
  end
end

function request()
  position = position % #prepared + 1
  local template = keyed[position]
  if template then
    sent = sent + 1
    local headers = {}
    for name, value in pairs(template.headers) do
      headers[name] = value
    end
    headers["Idempotency-Key"] = string.format('"%s-%d"', run, sent)
    return wrk.format(template.method, template.path, headers, template.body)
  end
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
