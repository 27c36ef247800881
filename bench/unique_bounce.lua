-- wrk script: POST a Tencent SES "bounce" callback whose event id differs on every request.
--
--   wrk -t1 -c64 -d10s --latency -s bench/unique_bounce.lua URL -- SALT
--
-- seshook identifies an event by (bulkId, email, event, timestamp, link), so the script varies
-- bulkId, email and timestamp with a per-thread counter. SALT (any word, e.g. "r1-fsync-run")
-- goes into bulkId too, so two wrk runs against the same daemon (warm-up, then the measured
-- run) never send the same id and deduplication discards nothing. The body stays valid in
-- schema mode "strict". done() prints one machine-readable RESULT line.

local next_thread_id = 0

function setup(thread)
    next_thread_id = next_thread_id + 1
    thread:set("thread_id", next_thread_id)
end

local salt = "nosalt"
local counter = 0
local headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "seshook-spool-bench/1",
}

-- Every field as a strict schema wants it; %s holds the varying parts.
local template = '{"event":"bounce","email":"user-%s-%d@customer.example",' ..
    '"bulkId":"qcloudses-30-1300123456-date-20250114093012-%s-%d-%d",' ..
    '"timestamp":%d,"reason":"550 5.1.1 Recipient address rejected: User unknown",' ..
    '"bounceType":"hard_bounce","username":"1300123456","from":"noreply@notify.shop.example",' ..
    '"fromDomain":"notify.shop.example","templateId":28411}'

function init(args)
    if args[1] ~= nil and args[1] ~= "" then salt = args[1] end
end

function request()
    counter = counter + 1
    local tid = thread_id or 0
    local body = string.format(template, salt, counter, salt, tid, counter, 1736818212 + counter)
    return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    -- NOTE: wrk counts a response as an error ("status") when its code is 400 or above.
    io.write(string.format(
        "RESULT requests=%d duration_s=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
        "non2xx=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
        summary.requests, secs, summary.requests / secs,
        latency:percentile(50), latency:percentile(99), latency.max,
        e.status, e.connect, e.read, e.write, e.timeout))
end
