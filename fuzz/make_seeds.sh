#!/bin/sh
# Writes the seed corpus of the fuzz targets from the example events: fuzz/corpus/callback/ gets
# the bodies, fuzz/corpus/request/ gets them wrapped in HTTP requests (plain, chunked, pipelined,
# and with the header edge cases that the server must refuse or survive). Run it from anywhere;
# it rewrites only the seed-*.json and seed-*.http files, not the inputs found by fuzzing.
set -eu
cd "$(dirname "$0")/.."
events=examples/events
callback=fuzz/corpus/callback
request=fuzz/corpus/request
mkdir -p "$callback" "$request"
rm -f "$callback"/seed-* "$request"/seed-*

crlf() { printf '%s\r\n' "$@"; }

# A POST of file $2 to /callback with the extra header lines $3..., framed by Content-Length.
post() {
    target=$1 body=$2
    shift 2
    crlf "POST $target HTTP/1.1" "Host: 127.0.0.1:8080" "Content-Type: application/json"
    for line in "$@"; do crlf "$line"; done
    crlf "Content-Length: $(wc -c <"$body" | tr -d ' ')" ""
    cat "$body"
}

# The same body in chunks of at most $2 bytes, with a chunk extension and a trailer.
post_chunked() {
    body=$1 size=$2
    crlf "POST /callback HTTP/1.1" "Host: 127.0.0.1:8080" "Transfer-Encoding: chunked" ""
    total=$(wc -c <"$body" | tr -d ' ')
    offset=0
    while [ "$offset" -lt "$total" ]; do
        piece=$(dd if="$body" bs=1 skip="$offset" count="$size" 2>/dev/null | wc -c | tr -d ' ')
        printf '%x;ext=1\r\n' "$piece"
        dd if="$body" bs=1 skip="$offset" count="$size" 2>/dev/null
        printf '\r\n'
        offset=$((offset + piece))
    done
    crlf "0" "X-Trailer: done" ""
}

# The bodies alone, one event a file, and batches.
for file in "$events"/*.json; do
    cp "$file" "$callback/seed-$(basename "$file")"
done
{
    printf '['
    first=1
    for file in "$events"/*.json; do
        [ "$first" = 1 ] || printf ','
        first=0
        cat "$file"
    done
    printf ']'
} >"$callback/seed-batch-all.json"
printf '[%s,%s]' "$(cat "$events/open.json")" "$(cat "$events/open.json")" \
    >"$callback/seed-batch-repeat.json"
printf '%s' '{"event":"Open","EMAIL":"a@example.com","timestamp":"1700000000123","eventid":"4","X-Tencentcloudses-Cb-Order":"42","extra":{"nested":[1,2.5,null,true]}}' \
    >"$callback/seed-case-and-strings.json"
printf '%s' '{"event":"processed","email":"a@example.com","bulkId":"qcloud-ses-0a1b","link":"","subject":"=?UTF-8?B?5L2g5aW9?=","taskId":18446744073709551615}' \
    >"$callback/seed-unknown-event.json"

# Each event as a plain request, as Tencent sends it.
for file in "$events"/*.json; do
    post /callback "$file" >"$request/seed-plain-$(basename "$file" .json).http"
done

# Chunked bodies, in pieces of several sizes.
post_chunked "$events/bounce.json" 64 >"$request/seed-chunked-bounce.http"
post_chunked "$events/click.json" 200 >"$request/seed-chunked-click.http"
post_chunked "$callback/seed-batch-repeat.json" 1000 >"$request/seed-chunked-batch.http"

# Pipelined requests on one connection, the last one closing it.
{
    post /callback "$events/delivered.json"
    post_chunked "$events/open.json" 100
    crlf "GET /healthz HTTP/1.1" "Host: 127.0.0.1" ""
    post /callback "$events/dropped.json" "Connection: close"
} >"$request/seed-pipelined.http"
{
    crlf "HEAD /healthz HTTP/1.1" "Host: 127.0.0.1" ""
    post "/callback/0123456789abcdef0123456789abcdef" "$events/spamreport.json"
    post "/callback?token=0123456789abcdef" "$events/unsubscribe.json"
} >"$request/seed-pipelined-token.http"

# Other request forms the server takes.
post /callback "$events/deferred.json" "Connection: keep-alive" |
    sed '1s|HTTP/1.1|HTTP/1.0|' >"$request/seed-http10.http"
post /callback "$events/bounce.json" "Expect: 100-continue" >"$request/seed-expect.http"
post "http://127.0.0.1:8080/callback" "$events/open.json" \
    "Authorization: Basic c2VzOnNlY3JldA==" "X-Forwarded-For: 198.51.100.1, 203.0.113.9" \
    "X-Real-IP: 2001:db8::1" >"$request/seed-absolute-form.http"
post /callback "$events/click.json" "Content-Encoding: gzip" >"$request/seed-gzip-label.http"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
gzip -9 -n -c "$events/open.json" >"$scratch/open.gz"
post /callback "$scratch/open.gz" "Content-Encoding: gzip" >"$request/seed-gzip.http"
head -c 2000000 /dev/zero | gzip -9 -n -c >"$scratch/zeros.gz"
post /callback "$scratch/zeros.gz" "Content-Encoding: x-gzip" >"$request/seed-gzip-too-large.http"
post /callback "$callback/seed-batch-all.json" >"$request/seed-batch-all.http"

# Framing that must be refused: smuggling attempts, bad chunks, limits.
post /callback "$events/bounce.json" "Transfer-Encoding: chunked" >"$request/seed-cl-and-te.http"
post /callback "$events/bounce.json" "Content-Length: 3" >"$request/seed-two-lengths.http"
{
    crlf "POST /callback HTTP/1.1" "Host: x" "Transfer-Encoding: chunked, gzip" ""
    crlf "5" "hello" "0" ""
} >"$request/seed-te-not-last.http"
{
    crlf "POST /callback HTTP/1.1" "Host: x" "Transfer-Encoding: chunked" ""
    crlf "zz" "hello" "0" ""
} >"$request/seed-bad-chunk.http"
{
    crlf "POST /callback HTTP/1.1" "Host: x" "Content-Length: 2000000" ""
    printf '{"event":'
} >"$request/seed-body-too-large.http"
{
    crlf "POST /callback HTTP/1.1" "Host: x"
    printf 'X-Padding: %s\r\n' "$(head -c 17000 /dev/zero | tr '\0' a)"
    crlf "Content-Length: 2" ""
    printf '{}'
} >"$request/seed-head-too-large.http"
{
    crlf "POST /callback HTTP/1.1" "Host: x" "X-Folded: one" " two" "Content-Length: 2" ""
    printf '{}'
} >"$request/seed-obs-fold.http"
printf 'post /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]' \
    >"$request/seed-lowercase-method.http"
printf 'GET / HTTP/1.1\nHost: x\n\n' >"$request/seed-bare-lf.http"
