-- A mixed load for wrk (bench/load.sh runs three wrk processes with it at once).
-- Environment:
--   MIX_MODE  read  : GET servers?limit=100, servers/detail?limit=100, a server, flavors,
--                     spread over every measured project
--             write : POST /servers, then DELETE of what it created; wrk thread N works
--                     for project N (a created server can only be deleted with the token
--                     of its project, and wrk does not say which connection answered)
--             flood : the read mix, all as the flooder project (tier 1, default limits)
--   MIX_DATA  the Lua data file load.sh wrote in its temporary folder (tokens and ids:
--             kept out of the process list and the environment):
--               return { projects = { {token=, servers={ids}}, ... },
--                        flooder = {token=, servers={ids}}, create_body = "{...}" }
-- done() prints "mix: ..." lines for load.sh: requests, rate, latency percentiles,
-- the count of every status seen, the requests sent by kind and wrk's socket errors.

local mode = os.getenv("MIX_MODE") or "read"
local data = dofile(assert(os.getenv("MIX_DATA"), "MIX_DATA is not set"))

-- kinds of request, in the order of a read cycle of 20: 5 lists, 4 details,
-- 8 shows, 3 flavor lists
local cycle = { "list", "show", "detail", "show", "flavors", "list", "show", "detail",
                "show", "list", "show", "detail", "flavors", "list", "show", "show",
                "detail", "list", "show", "flavors" }

-- ---------------------------------------------------------------- main state

local threads = {}

function setup(thread)
    table.insert(threads, thread)
    thread:set("thread_no", #threads)
end

-- ---------------------------------------------------------------- thread state

statuses = {}   -- status -> count (read back by done())
sent = {}       -- kind -> requests sent
pending = 0     -- servers created and not yet deleted (write)

local reqs, kinds, pos = {}, {}, 1
local post, headers, queue, qhead, qtail

local function hdrs(token)
    return { ["Accept"] = "application/json", ["X-Auth-Token"] = token }
end

local function read_requests(projects)
    for s = 1, 20 do
        for k = 1, #cycle do
            for _, p in ipairs(projects) do
                local kind, path = cycle[k]
                if kind == "list" then
                    path = "/compute/v2.1/servers?limit=100"
                elseif kind == "detail" then
                    path = "/compute/v2.1/servers/detail?limit=100"
                elseif kind == "flavors" then
                    path = "/compute/v2.1/flavors"
                else
                    path = "/compute/v2.1/servers/" .. p.servers[(s + k - 2) % #p.servers + 1]
                end
                reqs[#reqs + 1] = wrk.format("GET", path, hdrs(p.token))
                kinds[#kinds + 1] = kind
            end
        end
    end
end

function init(args)
    local n = thread_no or 1
    if mode == "write" then
        local p = data.projects[(n - 1) % #data.projects + 1]
        headers = hdrs(p.token)
        local h = hdrs(p.token)
        h["Content-Type"] = "application/json"
        post = wrk.format("POST", "/compute/v2.1/servers", h, data.create_body)
        queue, qhead, qtail = {}, 1, 0
    else
        read_requests(mode == "flood" and { data.flooder } or data.projects)
        pos = (n * 7919) % #reqs + 1 -- threads start at different places
    end
end

local function count(t, k)
    t[k] = (t[k] or 0) + 1
end

function request()
    if mode == "write" then
        if qhead <= qtail then
            local id = queue[qhead]
            queue[qhead] = nil
            qhead = qhead + 1
            count(sent, "delete")
            return wrk.format("DELETE", "/compute/v2.1/servers/" .. id, headers)
        end
        count(sent, "create")
        return post
    end
    local r = reqs[pos]
    count(sent, kinds[pos])
    pos = pos % #reqs + 1
    return r
end

function response(status, hdr, body)
    count(statuses, status)
    if mode == "write" then
        if status == 202 then
            local loc = hdr["Location"] or hdr["location"] or ""
            local id = loc:match("/servers/([%x%-]+)$") or body:match('"id"%s*:%s*"([%x%-]+)"')
            if id then
                qtail = qtail + 1
                queue[qtail] = id
                pending = pending + 1
            else
                count(statuses, "202-without-id")
            end
        elseif status == 204 then
            pending = pending - 1
        end
    end
end

-- ---------------------------------------------------------------- report

local function add_all(into, from)
    for k, v in pairs(from or {}) do
        into[k] = (into[k] or 0) + v
    end
end

local function sorted_keys(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    return keys
end

function done(summary, latency, requests)
    local st, kd, left = {}, {}, 0
    for _, t in ipairs(threads) do
        add_all(st, t:get("statuses"))
        add_all(kd, t:get("sent"))
        left = left + (t:get("pending") or 0)
    end
    local secs = summary.duration / 1e6
    io.write(string.format("mix: mode %s\n", mode))
    io.write(string.format("mix: requests %d\n", summary.requests))
    io.write(string.format("mix: seconds %.3f\n", secs))
    io.write(string.format("mix: rps %.1f\n", summary.requests / secs))
    for _, p in ipairs({ 50, 90, 99, 99.9 }) do
        io.write(string.format("mix: p%s_ms %.3f\n", tostring(p), latency:percentile(p) / 1000))
    end
    io.write(string.format("mix: mean_ms %.3f\n", latency.mean / 1000))
    io.write(string.format("mix: max_ms %.3f\n", latency.max / 1000))
    for _, k in ipairs(sorted_keys(st)) do
        io.write(string.format("mix: status %s %d\n", tostring(k), st[k]))
    end
    for _, k in ipairs(sorted_keys(kd)) do
        io.write(string.format("mix: sent %s %d\n", k, kd[k]))
    end
    local e = summary.errors
    io.write(string.format("mix: socket_errors connect=%d read=%d write=%d timeout=%d\n",
        e.connect, e.read, e.write, e.timeout))
    if mode == "write" then
        io.write(string.format("mix: undeleted %d\n", left))
    end
end
