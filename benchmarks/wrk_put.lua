-- wrk script for bench_availability.py --load-generator wrk: PUT availability to random
-- groups, each request with its own Idempotency-Key, as a provider's system would send them.
--
-- PLEKWIJZER_WRK_GROUPS holds "group_id:capacity:auth header name:auth header value" entries
-- separated by "|" (the token of an admin, or each provider's own API key for its groups).
-- A response other than 200 is an error: wrk counts them ("Non-2xx or 3xx responses").

local groups = {}
local thread_number = 0
local sent = 0

function setup(thread)
  thread:set("thread_number", thread_number)
  thread_number = thread_number + 1
end

function init(args)
  for entry in string.gmatch(os.getenv("PLEKWIJZER_WRK_GROUPS"), "[^|]+") do
    local id, capacity, name, value = string.match(entry, "^(%d+):(%d+):([^:]+):(.+)$")
    table.insert(groups, {id = id, capacity = tonumber(capacity), name = name, value = value})
  end
  math.randomseed(1000 + thread_number)
end

function request()
  sent = sent + 1
  local group = groups[math.random(#groups)]
  local body = string.format('{"free_places": %d, "admitting": true}',
                             math.random(0, group.capacity))
  local headers = {["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = string.format("wrk-%d-%d-%d", thread_number, sent,
                                                       os.time())}
  headers[group.name] = group.value
  return wrk.format("PUT", "/api/v1/groups/" .. group.id .. "/availability", headers, body)
end
