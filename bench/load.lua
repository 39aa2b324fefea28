-- bench/load.lua: the mixed workload of bench/load.sh, for wrk.
--
-- Every connection sends, in turn and for a tenant picked round robin:
--   put    POST /api/put, 100 points (10 series of a writer, 10 instants)
--   query  POST /api/query, an hour of a vScope metric of every host, 5-minute means
--   stats  GET /v2/meters/cpu_util/statistics?period=3600 (Ceilometer)
--   live   GET /dedicatedCloud/{tenant}/datacenter/869/vm/{id} (vScope live data)
-- in the proportions of LOAD_MIX ("put:3,query:3,stats:2,live:2" by
-- default).  Tenants and their tokens come from LOAD_TENANTS and
-- LOAD_TOKENS (comma-separated, in the same order).  At the end: requests,
-- requests/s, p50/p99/max latency, socket errors and every status seen.

local function split(s, sep)
	local out = {}
	for part in string.gmatch(s or "", "[^" .. sep .. "]+") do
		out[#out + 1] = part
	end
	return out
end

local threads = {}
local thread_no = 0

function setup(thread)
	thread_no = thread_no + 1
	thread:set("id", thread_no)
	threads[#threads + 1] = thread
end

local tenants, tokens, kinds
local n = 0
local base_ts
local shown = 0
-- global: done() reads each thread's table with thread:get()
statuses = {}

function init(args)
	tenants = split(os.getenv("LOAD_TENANTS"), ",")
	tokens = split(os.getenv("LOAD_TOKENS"), ",")
	kinds = {}
	for _, item in ipairs(split(os.getenv("LOAD_MIX") or "put:3,query:3,stats:2,live:2", ",")) do
		local kind, weight = string.match(item, "^(%a+):(%d+)$")
		for _ = 1, tonumber(weight) do
			kinds[#kinds + 1] = kind
		end
	end
	-- points go into the last hour, which is writable (the load script
	-- makes today and yesterday writable)
	base_ts = os.time() - 3600
	statuses = {}
end

local function put_body(writer, k)
	local points = {}
	-- 10 series x 10 instants; the instants move on with k, within the hour
	local t0 = base_ts + (k * 10) % 3000
	for s = 0, 9 do
		for i = 0, 9 do
			points[#points + 1] = string.format(
				'{"metric":"load.cpu","timestamp":%d,"value":%d.5,"tags":{"writer":"w%d","core":"c%d"}}',
				t0 + i, (s * 7 + i + k) % 100, writer, s)
		end
	end
	return "[" .. table.concat(points, ",") .. "]"
end

function request()
	n = n + 1
	local t = (n + id) % #tenants + 1
	local kind = kinds[n % #kinds + 1]
	local headers = { ["X-Auth-Token"] = tokens[t] }
	if kind == "put" then
		headers["Content-Type"] = "application/json"
		return wrk.format("POST", "/api/put", headers, put_body(id, n))
	elseif kind == "query" then
		headers["Content-Type"] = "application/json"
		return wrk.format("POST", "/api/query", headers,
			'{"start":"1h-ago","queries":[{"metric":"vscope.host.cpu.usage.perc",' ..
			'"aggregator":"avg","downsample":"5m-avg","tags":{"host":"*"}}]}')
	elseif kind == "stats" then
		return wrk.format("GET", "/v2/meters/cpu_util/statistics?period=3600", headers)
	else
		-- the demo's VMs of datacenter 869 are 5000 .. 5005
		return wrk.format("GET", string.format("/dedicatedCloud/%s/datacenter/869/vm/%d",
			tenants[t], 5000 + n % 6), headers)
	end
end

function response(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
	-- LOAD_DEBUG=1: the first answers of each thread that are not 2xx, shown
	if status >= 300 and shown < 3 and os.getenv("LOAD_DEBUG") == "1" then
		shown = shown + 1
		io.write(string.format("load: answer %d: %s\n", status, string.sub(body or "", 1, 300)))
	end
end

function done(summary, latency, requests)
	local total = {}
	for _, thread in ipairs(threads) do
		local s = thread:get("statuses")
		for code, count in pairs(s) do
			total[code] = (total[code] or 0) + count
		end
	end
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format("load: requests %d in %.1f s = %.0f/s\n", summary.requests, secs,
		summary.requests / secs))
	io.write(string.format("load: latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		latency:percentile(50) / 1000, latency:percentile(90) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000))
	io.write(string.format("load: socket errors connect %d, read %d, write %d, timeout %d\n",
		e.connect, e.read, e.write, e.timeout))
	local codes = {}
	for code in pairs(total) do
		codes[#codes + 1] = code
	end
	table.sort(codes)
	for _, code in ipairs(codes) do
		io.write(string.format("load: status %d: %d\n", code, total[code]))
	end
end
