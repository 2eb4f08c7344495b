-- etcd_put.lua: wrk sending what etcd_put(key, value) of libskiffetcd
-- sends, keys as bench/etcd_bench's puts (128 per stream, in turn).
-- Usage and the rest: bench/etcd_wrk.lua.
PATH = "/v3/kv/put"
CYCLE = 128
function BODY(key, value)
	return '{"key":"' .. key .. '","value":"' .. value .. '"}'
end
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "etcd_wrk.lua")
