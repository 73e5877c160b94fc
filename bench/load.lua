-- wrk script for the webhook load benchmark (bench/all): sends the signed Stripe events of
-- load-bench's requests.tsv, each once and in order, over every connection of one wrk
-- thread, and stops once every event has been answered `applied`. While the last events
-- are in flight, the idle connections send the last event again, as a provider retrying
-- would: the server must answer those `duplicate` (load-bench check confirms nothing was
-- applied twice). Prints a JSON line of the results.
-- Usage: wrk -t1 -cC -dMAXs --latency -s bench/load.lua URL -- requests.tsv

local sigs, bodies, n = {}, {}, 0
local sent, applied = 0, 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    n = n + 1
    sigs[n] = line:sub(1, tab - 1)
    bodies[n] = line:sub(tab + 1)
  end
end

-- wrk 4.1 calls request() once per thread before connecting and discards the result.
local primed = false

function request()
  if not primed then
    primed = true
    return wrk.format("POST", "/webhooks/stripe",
      {["Content-Type"] = "application/json", ["Stripe-Signature"] = sigs[1]}, bodies[1])
  end
  sent = sent + 1
  local k = math.min(sent, n)
  return wrk.format("POST", "/webhooks/stripe",
    {["Content-Type"] = "application/json", ["Stripe-Signature"] = sigs[k]}, bodies[k])
end

function response(status, headers, body)
  if status == 200 and body:find('"outcome":"applied"', 1, true) then
    applied = applied + 1
    if applied >= n then wrk.thread:stop() end
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "errors": %d, "non2xx": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
