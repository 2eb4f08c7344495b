-- etcd_txn.lua: wrk sending the guarded create of libskiffetcd (one
-- compare CREATE(key) == 0, one put: what the scheduler's bindings and the
-- controllers' creates are), each on a key never written before.
-- Usage and the rest: bench/etcd_wrk.lua.
PATH = "/v3/kv/txn"
function BODY(key, value)
	return '{"compare":[{"target":"CREATE","result":"EQUAL","key":"' .. key .. '","create_revision":"0"}],'
		.. '"success":[{"request_put":{"key":"' .. key .. '","value":"' .. value .. '"}}],"failure":[]}'
end
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "etcd_wrk.lua")
