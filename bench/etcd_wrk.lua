-- etcd_wrk.lua: what bench/etcd_put.lua and bench/etcd_txn.lua share, the
-- wrk side of bench/etcd_bench's "... wrk=" lines. The including script
-- sets the globals PATH (the gateway path), BODY(key64, value64) (the body
-- libskiffetcd sends for that call, byte for byte: the bench checks it
-- with "print" before it runs wrk) and CYCLE (keys per stream before they
-- repeat, nil: never). The value is 128 x 'x', as the library bench's.
-- Keys are the library bench's: PREFIX STREAM/SEQ, STREAM one of the C
-- connections (a thread's requests dealt round-robin over its PER of them),
-- SEQ that stream's count (modulo CYCLE). It does not read the answers:
-- wrk counts non-2xx ones as errors; the bench checks the writes in etcd.
--
--   wrk -t T -c C -d S -s SCRIPT URL -- run PREFIX PER
--   wrk -t 1 -c 1 -d 1 -s SCRIPT URL -- print KEY   (the body for KEY, then exit)
local A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local enc = {}
for i = 0, 63 do
	enc[i] = A:sub(i + 1, i + 1)
end

local function b64(s)
	local out = {}
	for i = 1, #s, 3 do
		local a, b, c = s:byte(i, i + 2)
		local v = a * 65536 + (b or 0) * 256 + (c or 0)
		out[#out + 1] = enc[math.floor(v / 262144)]
			.. enc[math.floor(v / 4096) % 64]
			.. (b and enc[math.floor(v / 64) % 64] or "=")
			.. (c and enc[v % 64] or "=")
	end
	return table.concat(out)
end

local value = b64(string.rep("x", 128))
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "*/*" }
local prefix, per, n = "/wrk/", 1, 0
local threads = 0

function setup(thread)
	thread:set("tid", threads)
	threads = threads + 1
end

function init(args)
	if args[1] == "print" then
		io.write(BODY(b64(args[2]), value))
		io.flush()
		os.exit(0)
	end
	prefix = args[2] or prefix
	per = tonumber(args[3]) or per
end

function request()
	local stream = tid * per + n % per
	local seq = math.floor(n / per)
	n = n + 1
	if CYCLE then
		seq = seq % CYCLE
	end
	return wrk.format("POST", PATH, headers, BODY(b64(prefix .. stream .. "/" .. seq), value))
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("wrk-result requests=%d duration_us=%d errors=%d (connect %d read %d write %d "
		.. "status %d timeout %d)\n", summary.requests, summary.duration,
		e.connect + e.read + e.write + e.status + e.timeout, e.connect, e.read, e.write, e.status, e.timeout))
end
