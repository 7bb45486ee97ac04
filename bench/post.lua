-- wrk script for the fusion benchmark suite (bench/run sets the environment).
--   BENCH_BODY     file holding the JSON request body
--   BENCH_AUTH     bearer token (client key), optional
--   BENCH_HEADERS  extra headers, "Name: value" separated by "|", optional
--   BENCH_DELAY_MS pause before each request on a connection, optional
--                  (mostly idle keep-alive connections)
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. auth
end

local extra = os.getenv("BENCH_HEADERS")
if extra and extra ~= "" then
  for h in string.gmatch(extra, "[^|]+") do
    local name, value = string.match(h, "^%s*([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d mean_us=%.1f " ..
    "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
