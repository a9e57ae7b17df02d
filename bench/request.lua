-- One request shape for wrk, read from the environment (bench/run.sh sets it):
--   BENCH_METHOD         GET (default) or POST
--   BENCH_BODY           request body (JSON); sent with Content-Type: application/json
--   BENCH_TOKEN          X-Auth-Token
--   BENCH_SUBJECT_TOKEN  X-Subject-Token (token validation)
-- Status codes are checked by run.sh from wrk's "Non-2xx or 3xx responses" line.
-- The environment keeps secrets out of the process list.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
local token = os.getenv("BENCH_TOKEN") or ""
local subject = os.getenv("BENCH_SUBJECT_TOKEN") or ""

wrk.method = method
wrk.headers["Accept"] = "application/json"
if body ~= "" then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
end
if token ~= "" then
    wrk.headers["X-Auth-Token"] = token
end
if subject ~= "" then
    wrk.headers["X-Subject-Token"] = subject
end
