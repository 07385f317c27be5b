-- wrk script for bench/ (recordbase and PocketBase doing the same work); prints one JSON line.
-- Usage: wrk -t2 -c32 -d10s -s bench/wrk.lua URL -- MODE ARG
--   rb_get IDS_FILE TOKEN [ENTITY]  GET one Item (or ENTITY) by a random id of IDS_FILE (one id per line)
--   rb_list TOKEN           GET a page of 50 Items at a random offset below 1,000 (with the total)
--   rb_query TOKEN [ENTITY] POST /query on Item (or ENTITY): category = random AND qty >= 10, sort price desc,
--                           50 rows (with the total)
--   rb_insert TOKEN         POST /insert: one BulkItem
--   rb_update IDS_FILE TOKEN POST /update/{id}: a random Item's qty
--   rb_batch TOKEN          POST /insert-batch: 1,000 BulkItems
--   pb_get N / pb_list / pb_query / pb_insert / pb_batch   the same on PocketBase (ids r%014d, 1..N)
--   pb_get N TOKEN / pb_insert TOKEN / pb_update N TOKEN    the same with PocketBase's token on each request

local counter = 0
local threads = {}
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  threads[#threads + 1] = thread
end

local mode, ids, nids, body
local entity = "Item"

local function row_json(i)
  return string.format('{"name":"bulk %d","category":"cat_%d","price":%.2f,"qty":%d,"active":%s}',
    i, i % 100, ((i * 7919) % 100000) / 100.0, math.floor(i / 100) % 100, (i % 2 == 0) and "true" or "false")
end

local function rows_json(n, wrap)
  local parts = {}
  for i = 1, n do parts[#parts + 1] = wrap(row_json(i)) end
  return table.concat(parts, ",")
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function read_ids(path)
  local found = {}
  for line in io.lines(path) do found[#found + 1] = line end
  return found
end

function init(args)
  mode = args[1]
  bench_mode = mode
  math.randomseed(os.time() * 1000 + (tid or 0))
  wrk.headers["Accept"] = "application/json"
  wrk.headers["Content-Type"] = "application/json"
  local token = args[2]
  if mode == "rb_get" or mode == "rb_update" then
    ids = read_ids(args[2])
    token = args[3]
    entity = args[4] or entity
  elseif mode == "rb_query" then
    entity = args[3] or entity
  elseif mode == "pb_get" or mode == "pb_update" then
    nids = tonumber(args[2])
    token = args[3]
  end
  if mode:sub(1, 3) == "rb_" then
    wrk.headers["Authorization"] = "Bearer " .. token
  elseif token then
    wrk.headers["Authorization"] = token
  end
  if mode == "rb_insert" or mode == "pb_insert" then
    body = row_json(1)
  elseif mode == "rb_batch" then
    body = "[" .. rows_json(1000, function(r) return r end) .. "]"
  elseif mode == "pb_batch" then
    body = '{"requests":[' .. rows_json(1000, function(r)
      return '{"method":"POST","url":"/api/collections/bulk_items/records?fields=id","body":' .. r .. '}'
    end) .. "]}"
  end
end

local function rb_query_body()
  return string.format('{"filterGroup":{"logicalOperator":0,"queryFilters":[' ..
    '{"fieldName":"category","operator":"=","value":"cat_%d"},{"fieldName":"qty","operator":">=","value":"10"}]},' ..
    '"sortOptions":[{"fieldName":"price","isDescending":true}],"start":0,"limit":50}', math.random(0, 99))
end

function request()
  if mode == "rb_get" then
    return wrk.format("GET", "/api/EntityService/" .. entity .. "/read/" .. ids[math.random(1, #ids)] ..
      "?expansionLevel=0")
  elseif mode == "rb_list" then
    return wrk.format("GET", string.format("/api/EntityService/Item/read?start=%d&limit=50&expansionLevel=0",
      math.random(0, 999)))
  elseif mode == "rb_query" then
    return wrk.format("POST", "/api/EntityService/" .. entity .. "/query?expansionLevel=0", nil, rb_query_body())
  elseif mode == "rb_insert" then
    return wrk.format("POST", "/api/EntityService/BulkItem/insert?expansionLevel=0", nil, body)
  elseif mode == "rb_update" then
    return wrk.format("POST", "/api/EntityService/Item/update/" .. ids[math.random(1, #ids)] ..
      "?expansionLevel=0", nil, string.format('{"qty":%d}', math.random(0, 99)))
  elseif mode == "rb_batch" then
    return wrk.format("POST", "/api/EntityService/BulkItem/insert-batch?expansionLevel=0", nil, body)
  elseif mode == "pb_get" then
    return wrk.format("GET", string.format("/api/collections/items/records/r%014d", math.random(1, nids)))
  elseif mode == "pb_list" then
    return wrk.format("GET", string.format("/api/collections/items/records?page=%d&perPage=50",
      math.random(1, 20)))
  elseif mode == "pb_query" then
    local f = urlencode(string.format("(category='cat_%d' && qty>=10)", math.random(0, 99)))
    return wrk.format("GET", "/api/collections/items/records?filter=" .. f .. "&sort=-price&perPage=50")
  elseif mode == "pb_insert" then
    return wrk.format("POST", "/api/collections/bulk_items/records", nil, body)
  elseif mode == "pb_update" then
    return wrk.format("PATCH", string.format("/api/collections/items/records/r%014d", math.random(1, nids)),
      nil, string.format('{"qty":%d}', math.random(0, 99)))
  elseif mode == "pb_batch" then
    return wrk.format("POST", "/api/batch", nil, body)
  end
  error("unknown mode " .. tostring(mode))
end

function done(summary, latency, requests)
  mode = threads[1] and threads[1]:get("bench_mode") or mode
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"mode":"%s","requests":%d,"duration_s":%.3f,"rps":%.2f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"non2xx_or_3xx":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d}\n',
    mode, summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
