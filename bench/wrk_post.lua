-- wrk script: POST one JSON body with extra headers; count non-200 and GraphQL errors.
-- usage: wrk ... -s bench/wrk_post.lua URL -- BODY_FILE ["Header: value" ...]
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  local headers = { ["Content-Type"] = "application/json" }
  for i = 2, #args do
    local k, v = string.match(args[i], "^([^:]+):%s*(.*)$")
    if k then headers[k] = v end
  end
  prepared = wrk.format("POST", nil, headers, body)
  bad = 0
end

function request()
  return prepared
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do
    b = b + (t:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"bad":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, b,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
