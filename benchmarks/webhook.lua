-- wrk script: POST one real signed webhook body with a fresh X-GitHub-Delivery per request.
-- The body never changes, so neither does its signature (passed in by webhook_throughput.py).
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  body_file = args[1]
  signature = args[2]
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*all")
  f:close()
  prefix = string.format("bench-%d-%d-", os.time(), tid)
end

function request()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "milestone",
    ["X-GitHub-Delivery"] = prefix .. counter,
    ["X-Hub-Signature-256"] = signature,
    ["User-Agent"] = "GitHub-Hookshot/bench",
  }
  return wrk.format("POST", "/api/github/webhooks", headers, body)
end

function response(status, headers, body)
  if status ~= 202 then
    bad = (bad or 0) + 1
    if bad <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n") end
  end
end
