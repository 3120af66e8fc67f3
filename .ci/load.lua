-- Mixed load for wrk (.ci/load.sh): every connection rotates through the requests below. Each
-- request carries an X-Request-Id naming its kind; hwcost echoes it, so response() knows which
-- statuses are expected even though one Lua state serves many connections. done() prints the
-- figures and a machine-readable line `WRK_RESULT key=value ...` for load.sh.
--
-- Arguments (after `--`): a hardware id to fetch (default nvidia-h100-sxm-80gb).

local inference = [[{"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4,
  "parallelism": {"tensor": 4}, "weights": "fp8", "batch_size": 32,
  "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm"}]]
local training = [[{"model": "llama-2-70b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 2048, "tokens": 2e12,
  "sequence_length": 4096, "global_batch_tokens": 4194304, "sharding": "zero1",
  "parallelism": {"tensor": 8, "pipeline": 4, "sequence_parallel": true},
  "activation_checkpointing": "selective", "engine": "megatron"}]]
-- A negative batch size: the request is well-formed JSON with one invalid field.
local invalid = [[{"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "batch_size": -5}]]

-- kind -> {method, path, body, expected statuses}
local kinds = {}
local order = {}
local requests = {}
local counter = 0

local function kind(name, method, path, body, expected)
  kinds[name] = {method = method, path = path, body = body, expected = expected}
  table.insert(order, name)
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local hw = args[1] or "nvidia-h100-sxm-80gb"
  kind("healthz", "GET", "/healthz", nil, {[200] = true})
  kind("hardware", "GET", "/v1/hardware", nil, {[200] = true})
  kind("models", "GET", "/v1/models", nil, {[200] = true})
  kind("hardware-id", "GET", "/v1/hardware/" .. hw, nil, {[200] = true})
  kind("inference", "POST", "/v1/estimate/inference", inference, {[200] = true})
  kind("training", "POST", "/v1/estimate/training", training, {[200] = true})
  kind("invalid", "POST", "/v1/estimate/inference", invalid, {[400] = true, [422] = true})
  -- A method the route does not serve on a parameterised path: each wrote a WARN line.
  kind("method405", "DELETE", "/v1/hardware/" .. hw, nil, {[405] = true})
  for i, name in ipairs(order) do
    local k = kinds[name]
    local headers = {["X-Request-Id"] = "load-" .. name}
    if k.body then headers["Content-Type"] = "application/json" end
    requests[i] = wrk.format(k.method, k.path, headers, k.body)
  end
  -- Per-thread tallies, read by done() through thread:get().
  seen = {}        -- kind -> responses
  unexpected = {}  -- "kind status" -> count
  unexpected_n = 0
  -- Threads start at different points of the rotation.
  counter = math.random(#requests) - 1
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end

function response(status, headers, body)
  local id = headers["x-request-id"] or headers["X-Request-Id"] or ""
  local name = string.match(id, "^load%-(.+)$")
  local k = name and kinds[name]
  if not k then
    name = "unknown"
  end
  seen[name] = (seen[name] or 0) + 1
  if not k or not k.expected[status] then
    local key = name .. " " .. status
    unexpected[key] = (unexpected[key] or 0) + 1
    unexpected_n = unexpected_n + 1
  end
end

function done(summary, latency, requests)
  local seen_all, unexpected_all, unexpected_total = {}, {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("seen") or {}) do seen_all[k] = (seen_all[k] or 0) + v end
    for k, v in pairs(t:get("unexpected") or {}) do unexpected_all[k] = (unexpected_all[k] or 0) + v end
    unexpected_total = unexpected_total + (t:get("unexpected_n") or 0)
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local names = {}
  for k in pairs(seen_all) do table.insert(names, k) end
  table.sort(names)
  local per = {}
  for _, k in ipairs(names) do table.insert(per, k .. "=" .. seen_all[k]) end
  io.write("responses per kind: " .. table.concat(per, " ") .. "\n")
  local keys = {}
  for k in pairs(unexpected_all) do table.insert(keys, k) end
  table.sort(keys)
  for _, k in ipairs(keys) do
    io.write(string.format("unexpected status: %s x%d\n", k, unexpected_all[k]))
  end
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format(
    "WRK_RESULT requests=%d seconds=%.1f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f unexpected=%d socket_errors=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, unexpected_total, socket_errors))
end
