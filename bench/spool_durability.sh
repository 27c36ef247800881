#!/usr/bin/env bash
# bench/spool_durability.sh -- accepted events per second for each spool durability mode.
#
# Usage: make bench-spool            (installs wrk, builds Release, runs this script)
#        bench/spool_durability.sh   (uses an existing build/release/seshook; builds nothing)
#
# What it measures. For each round and each mode in MODES ("memory write fsync"), it starts a
# fresh Release seshook on 127.0.0.1 with a generated config in its own temporary folder:
# schema mode "strict", one file sink (JSON Lines, no rotation), the rejects file, [spool]
# with that durability and [dedup] enabled (24h window). It posts one smoke event, warms up
# with wrk for WARMUP seconds, then drives wrk for DURATION seconds over CONNS keep-alive
# connections. bench/unique_bounce.lua gives every request its own event id (a counter in
# bulkId, email and timestamp, plus a salt per wrk run), so dedup is exercised but discards
# nothing and every 2xx answer is one accepted event. After SIGTERM it checks that the sink
# file holds one record per 2xx answer, all ids distinct, and says so in the "sink check"
# column (any mismatch is also logged, with the daemon's log kept in OUT). Rounds are interleaved (round 1 of
# every mode, then round 2 ...) so drift on a noisy machine hits every mode alike, and the
# table shows the median of each column over the rounds.
#
# Why pinning. The machine has 2 cores, shared by the daemon and wrk. Unpinned, the scheduler
# moves both around, wrk steals cycles from the daemon and the result depends on what else
# runs. So the daemon runs on CPU SERVER_CPU and wrk on CPU CLIENT_CPU (taskset), seshook with
# io_threads = IO_THREADS (1: one I/O thread for its one core; the spool and sink threads share
# that core). The result reads "what one core of seshook buys", repeatably. wrk uses one
# thread (THREADS=1): two wrk threads on one core would time-slice and add a scheduler slice to
# p99 that has nothing to do with the daemon. The "daemon CPU %" and "wrk CPU %" columns say
# which side saturated: if the daemon is well under 100 % of its core, the limit was elsewhere
# (wrk, other processes, or waiting: for the disk in fsync mode, for its group's commit).
#
# Columns. events/s: 2xx answers per second in the measured window. p50/p99: wrk latency,
# from writing the request to reading the answer. CPU s/10k: utime+stime of the daemon (all
# threads) in the window, per 10,000 accepted events. RSS: VmRSS at the end of the window.
# non-2xx: answers >= 400 plus socket errors, summed over all rounds. disk bytes / event:
# write_bytes of the daemon (/proc/PID/io) in the window per accepted event. daemon, wrk and
# other load %: CPU time in the window in % of one core, "other" being whatever else kept the
# two cores busy. SQLite tx: spool transactions against events, only if the daemon logs its
# transaction count (otherwise "not logged"; nothing is estimated).
#
# Knobs (environment): DURATION=10 WARMUP=3 ROUNDS=3 CONNS=64 THREADS=1 IO_THREADS=1
#   SERVER_CPU=0 CLIENT_CPU=1 PORT=18190 MODES="memory write fsync"
#   SESHOOK_BIN=build/release/seshook OUT=build/bench-spool/<timestamp>
#   SPOOL_KEYS=1 (0 leaves [spool] and [dedup] out of the config, for a daemon that does not
#   know them yet; then only MODES=memory means anything)
#   TMPDIR (where the temporary folders go: the spool is written there, so it must be the
#   disk under test, not a tmpfs)
# Default length: ROUNDS x modes x (WARMUP + DURATION + about 3 s) = about 2.5 minutes.
#
# Safety: only 127.0.0.1 is used; a port already listening is refused; every wait and every
# wrk run is bounded in time; the daemon is stopped by its pid (TERM, then KILL after
# shutdown_grace + 5 s) on exit, error or Ctrl-C.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
IO_THREADS=${IO_THREADS:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18190}
MODES=${MODES:-"memory write fsync"}
SPOOL_KEYS=${SPOOL_KEYS:-1}
SESHOOK_BIN=${SESHOOK_BIN:-$ROOT/build/release/seshook}
OUT=${OUT:-$ROOT/build/bench-spool/$(date +%Y%m%d-%H%M%S)}
LUA=$ROOT/bench/unique_bounce.lua
GRACE_S=10
URL=http://127.0.0.1:$PORT/callback
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/run.log" >&2; }
die() { log "error: $*"; exit 1; }

mkdir -p "$OUT"
for c in wrk curl taskset ss timeout getconf awk sort; do
    command -v "$c" >/dev/null || die "missing command $c (make bench-spool installs it)"
done
[[ -x $SESHOOK_BIN ]] || die "no daemon at $SESHOOK_BIN (run make bench-spool, or set SESHOOK_BIN)"
[[ $DURATION =~ ^[0-9]+$ && $WARMUP =~ ^[0-9]+$ && $ROUNDS =~ ^[1-9][0-9]*$ ]] ||
    die "DURATION, WARMUP and ROUNDS must be whole numbers (ROUNDS at least 1)"
for m in $MODES; do
    [[ $m == memory || $m == write || $m == fsync ]] || die "unknown mode '$m' in MODES"
done
if [[ $SPOOL_KEYS == 0 && $MODES != memory ]]; then
    die "SPOOL_KEYS=0 writes no [spool] section, so write and fsync cannot differ: set MODES=memory"
fi

RUN=$(mktemp -d "${TMPDIR:-/tmp}/seshook-spool-bench.XXXXXX")
SRV_PID=""

# ------------------------------------------------------------------ helpers

# Stops the daemon started by this script: SIGTERM, then SIGKILL once the grace is over.
stop_daemon() {
    [[ -n $SRV_PID ]] || return 0
    kill -TERM "$SRV_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < (GRACE_S + 5) * 10; i++)); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SRV_PID" 2>/dev/null; then
        log "daemon $SRV_PID did not stop in $((GRACE_S + 5)) s: killing it"
        kill -KILL "$SRV_PID" 2>/dev/null || true
    fi
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=""
}

on_exit() {
    local rc=$?
    stop_daemon
    rm -rf "$RUN"
    exit "$rc"
}
trap on_exit EXIT
trap 'log "interrupted"; exit 130' INT TERM

# utime+stime of a process (all its threads), in clock ticks.
cpu_ticks() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    s=${s##*) }
    read -ra f <<<"$s"
    echo $((f[11] + f[12]))
}

# Busy jiffies of one CPU: everything but idle, iowait and steal.
cpu_busy() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# Bytes a process sent (or dirtied for) the storage layer: WAL, checkpoints, sink file.
disk_bytes() { awk '/^write_bytes:/ { print $2 }' "/proc/$1/io" 2>/dev/null || echo 0; }

# Value of KEY in the RESULT line of a wrk output file.
kv() { grep '^RESULT ' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# HTTP status of one POST of a unique event (the smoke test).
post_unique() {
    local body
    body=$(printf '{"event":"bounce","email":"smoke@customer.example","bulkId":"smoke-%s",%s}' \
        "$1" '"timestamp":1736818212,"bounceType":"hard_bounce","reason":"550 smoke"')
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H 'Content-Type: application/json' \
        --data-binary "$body" "$URL" 2>/dev/null || echo 000
}

# Median of the numbers on standard input.
median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

write_config() {    # write_config DIR MODE
    local dir=$1 mode=$2
    cat >"$dir/seshook.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
callback_path = "/callback"
io_threads = $IO_THREADS
shutdown_grace = "${GRACE_S}s"

[log]
level = "info"

[schema]
mode = "strict"

[rejects]
path = "$dir/rejects.jsonl"

[[sinks]]
type = "file"
name = "events"
path = "$dir/events.jsonl"
max_bytes = 0
EOF
    if [[ $SPOOL_KEYS != 0 ]]; then
        cat >>"$dir/seshook.toml" <<EOF

[spool]
durability = "$mode"
path = "$dir/spool.db"
max_bytes = 1073741824

[dedup]
enabled = true
window = "24h"
EOF
    fi
}

# Starts the daemon of one cell and waits (at most 10 s) until /healthz answers 200.
start_daemon() {    # start_daemon DIR
    local dir=$1 i code=000
    if ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q .; then
        die "port $PORT is already listening: this script measures only a daemon it started"
    fi
    if ! "$SESHOOK_BIN" --check-config --config "$dir/seshook.toml" >"$dir/check.log" 2>&1; then
        cat "$dir/check.log" >&2
        die "the daemon refuses the generated config" \
            "(one that does not know [spool] yet needs SPOOL_KEYS=0 MODES=memory)"
    fi
    taskset -c "$SERVER_CPU" "$SESHOOK_BIN" --config "$dir/seshook.toml" >"$dir/daemon.log" 2>&1 &
    SRV_PID=$!
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "$SRV_PID" 2>/dev/null; then
            cat "$dir/daemon.log" >&2
            die "the daemon exited at start"
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
            "http://127.0.0.1:$PORT/healthz" || true)
        [[ $code == 200 ]] && break
        sleep 0.1
    done
    if [[ $code != 200 ]]; then
        cat "$dir/daemon.log" >&2
        die "the daemon is not ready on port $PORT"
    fi
    ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -q "pid=$SRV_PID," ||
        die "the listener on port $PORT is not the daemon this script started"
}

# Runs wrk on the client CPU; OUTFILE.time gets its wall, user and system seconds.
run_wrk() {         # run_wrk SECONDS SALT OUTFILE
    local TIMEFORMAT='%R %U %S'
    { time timeout $(($1 + 30)) taskset -c "$CLIENT_CPU" wrk -t"$THREADS" -c"$CONNS" -d"$1s" \
        --timeout 5s --latency -s "$LUA" "$URL" -- "$2" >"$3" 2>&1 || true; } 2>"$3.time"
    grep -q '^RESULT ' "$3" || { cat "$3" >&2; die "wrk gave no RESULT line ($3)"; }
}

# ------------------------------------------------------------------ header

# A short probe of the disk under the spool: 200 synchronous 4 KiB writes.
disk_probe() {
    local secs
    secs=$(LC_ALL=C dd if=/dev/zero of="$RUN/probe" bs=4k count=200 oflag=dsync 2>&1 |
        awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s," || $i == "s") print $(i - 1) }')
    rm -f "$RUN/probe"
    awk -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f synchronous 4 KiB writes/s", 200 / s;
                              else print "unknown" }'
}

{
    echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "seshook: $("$SESHOOK_BIN" --version 2>&1 | head -1)" \
        "($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo 'no git'))"
    echo "kernel: $(uname -r), cpu: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
        "x $(nproc)"
    echo "wrk: $(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }')"
    echo "spool folder: $RUN on $(df -PT "$RUN" | awk 'NR == 2 { print $1, $2 }'), $(disk_probe)"
    echo "settings: DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS CONNS=$CONNS" \
        "THREADS=$THREADS IO_THREADS=$IO_THREADS SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU" \
        "MODES='$MODES' SPOOL_KEYS=$SPOOL_KEYS"
    echo "loadavg before: $(cat /proc/loadavg)"
} | tee "$OUT/versions.txt" | tee -a "$OUT/run.log" >&2
[[ $(df -PT "$RUN" | awk 'NR == 2 { print $2 }') == tmpfs ]] &&
    log "warning: the spool folder is on tmpfs, so fsync costs nothing here; set TMPDIR to a disk"

n_modes=$(wc -w <<<"$MODES")
log "plan: $ROUNDS rounds x $n_modes modes x (${WARMUP}s + ${DURATION}s + start/stop), about" \
    "$((ROUNDS * n_modes * (WARMUP + DURATION + 4) / 60 + 1)) min; out: $OUT"

# ------------------------------------------------------------------ measurement

# Checks what one cell's daemon kept and prints the verdict: one record per 2xx answer, each
# id once, as many as the daemon says it accepted, no repeat dropped by dedup (the daemon logs
# how many when it stops), nothing in the rejects file. Answers still
# in flight when wrk stops are written but not counted by wrk, hence up to 2 x CONNS more.
sink_verdict() {    # sink_verdict OK2XX RECORDS DISTINCT ACCEPTED REJECTS REPEATS
    local ok2xx=$1 records=$2 distinct=$3 accepted=$4 rejects=$5 repeats=$6 v=ok
    if ((records < ok2xx)); then
        v="MISSING $((ok2xx - records))"
    elif ((records - ok2xx > 2 * CONNS)); then
        v="EXTRA $((records - ok2xx))"
    fi
    ((distinct == records)) || v="$v, DUPLICATE ids $((records - distinct))"
    [[ $accepted == - || $accepted == "$records" ]] || v="$v, daemon accepted $accepted"
    ((rejects == 0)) || v="$v, $rejects rejects"
    [[ $repeats == - || $repeats == 0 ]] || v="$v, dedup dropped $repeats"
    echo "$v"
}

RESULTS=$OUT/results.tsv
printf '%s\n' "round mode events_per_s p50_us p99_us cpu_s_per_10k rss_kb non2xx srv_pct wrk_pct \
other_pct ok2xx records distinct_ids daemon_accepted rejects transactions check disk_b_per_event" |
    tr ' ' '\t' | tr -s '\t' >"$RESULTS"

for ((round = 1; round <= ROUNDS; round++)); do
    for mode in $MODES; do
        cell=r$round-$mode
        dir=$RUN/$cell
        mkdir -p "$dir"
        write_config "$dir" "$mode"
        start_daemon "$dir"

        # Smoke test and warm-up; their 2xx answers become records in the sink too.
        code=$(post_unique "$cell")
        [[ $code == 200 ]] || die "$cell: the smoke event was answered $code, not 200"
        warm=$OUT/$cell.warmup.txt
        run_wrk "$WARMUP" "$cell-warm" "$warm"
        ok2xx=$((1 + $(kv "$warm" requests) - $(kv "$warm" non2xx)))

        # The measured window: CPU of the daemon, of wrk and of both cores around it.
        w=$OUT/$cell.txt
        t0=$(cpu_ticks "$SRV_PID")
        d0=$(disk_bytes "$SRV_PID")
        read -r sb0 cb0 <<<"$(cpu_busy "$SERVER_CPU") $(cpu_busy "$CLIENT_CPU")"
        run_wrk "$DURATION" "$cell-run" "$w"
        t1=$(cpu_ticks "$SRV_PID")
        d1=$(disk_bytes "$SRV_PID")
        read -r sb1 cb1 <<<"$(cpu_busy "$SERVER_CPU") $(cpu_busy "$CLIENT_CPU")"
        rss=$(rss_kb "$SRV_PID")
        stop_daemon

        # What wrk saw.
        req=$(kv "$w" requests)
        bad=$(kv "$w" non2xx)
        errs=$bad
        for k in err_connect err_read err_write err_timeout; do errs=$((errs + $(kv "$w" $k))); done
        ok2xx=$((ok2xx + req - bad))

        # What the daemon kept, and what it says.
        records=0 distinct=0 rejects=0
        if [[ -f $dir/events.jsonl ]]; then
            records=$(wc -l <"$dir/events.jsonl")
            distinct=$(awk 'substr($0, 1, 7) == "{\"id\":\"" { print substr($0, 8, 32) }' \
                "$dir/events.jsonl" | LC_ALL=C sort -u | wc -l)
        fi
        [[ -f $dir/rejects.jsonl ]] && rejects=$(wc -l <"$dir/rejects.jsonl")
        accepted=$(sed -n 's/.*stopped: \([0-9]*\) events accepted.*/\1/p' "$dir/daemon.log" |
            tail -1)
        repeats=$(sed -n 's/.*stopped: .* requests, \([0-9]*\) repeats.*/\1/p' "$dir/daemon.log" |
            tail -1)
        tx=$(grep -oiE '[0-9]+ (spool |sqlite )?transactions' "$dir/daemon.log" | tail -1 |
            grep -oE '^[0-9]+' || true)
        check=$(sink_verdict "$ok2xx" "$records" "$distinct" "${accepted:--}" "$rejects" \
            "${repeats:--}")
        if [[ $check != ok ]]; then
            log "$cell: sink check: $check (2xx answers $ok2xx, records $records," \
                "distinct ids $distinct, daemon accepted ${accepted:-?})"
            [[ -f $dir/rejects.jsonl ]] &&
                grep -o '"reason":"[a-z_]*"' "$dir/rejects.jsonl" | sort | uniq -c | head >&2
            cp "$dir/daemon.log" "$OUT/$cell.daemon.log"
        fi

        read -r wall wu ws < <(tail -1 "$w.time")
        awk -v r="$round" -v m="$mode" -v ok="$((req - bad))" -v dur="$(kv "$w" duration_s)" \
            -v p50="$(kv "$w" p50_us)" -v p99="$(kv "$w" p99_us)" -v rss="$rss" -v errs="$errs" \
            -v srv="$(((t1 - t0)))" -v busy="$((sb1 - sb0 + cb1 - cb0))" -v hz="$CLK_TCK" \
            -v wall="$wall" -v wrk="$(awk -v u="$wu" -v s="$ws" 'BEGIN { print u + s }')" \
            -v ok2xx="$ok2xx" -v rec="$records" -v dis="$distinct" -v acc="${accepted:--}" \
            -v rej="$rejects" -v tx="${tx:--}" -v chk="$check" -v disk="$((d1 - d0))" 'BEGIN {
                srv /= hz; other = (busy / hz - srv - wrk) / wall * 100; if (other < 0) other = 0
                printf "%s\t%s\t%.1f\t%d\t%d\t%.4f\t%d\t%d\t%.0f\t%.0f\t%.0f",
                    r, m, ok / dur, p50, p99, (ok > 0 ? srv / ok * 10000 : 0), rss, errs,
                    srv / dur * 100, wrk / wall * 100, other
                printf "\t%d\t%d\t%d\t%s\t%d\t%s\t%s\t%.0f\n", ok2xx, rec, dis, acc, rej, tx, chk,
                    (ok > 0 ? disk / ok : 0)
            }' >>"$RESULTS"
        log "$(tail -1 "$RESULTS" | awk -F'\t' '{
            printf "%s r%s: %.0f events/s, p50 %.2f ms, p99 %.2f ms, %.3f CPU s/10k, %.0f MiB,",
                $2, $1, $3, $4 / 1000, $5 / 1000, $6, $7 / 1024
            printf " %s disk B/event, non-2xx %s, daemon %s%% wrk %s%% other %s%%, sink %s",
                $19, $8, $9, $10, $11, $18 }')"
    done
done

# ------------------------------------------------------------------ table

col() { awk -F'\t' -v m="$1" -v c="$2" 'NR > 1 && $2 == m { print $c }' "$RESULTS"; }

# One table row for MODE: the median of each column on its own, sums where a sum means more.
table_row() {       # table_row MODE MEMORY_EVENTS_PER_S
    local mode=$1 eps ratio non2xx checks txs
    eps=$(col "$mode" 3 | median)
    ratio=$(awk -v a="$eps" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "–" }')
    non2xx=$(col "$mode" 8 | awk '{ s += $1 } END { print s + 0 }')
    checks=$(col "$mode" 18 | sort | uniq -c |
        awk '{ n = $1; $1 = ""; printf "%s%s ×%d", (NR > 1 ? "; " : ""), substr($0, 2), n }')
    txs="not logged"
    if col "$mode" 17 | grep -q '^[0-9]'; then
        txs=$(paste <(col "$mode" 17) <(col "$mode" 15) | awk '{ t += $1; e += $2 }
            END { printf "%d / %d (%.1f events/tx)", t, e, (t > 0 ? e / t : 0) }')
    fi
    printf '| %s | %.0f | %.2f | %.2f | %.3f | %.0f | %d | %s | %.0f | %.0f | %.0f | %.0f | %s | %s |\n' \
        "$mode" "$eps" "$(col "$mode" 4 | median | awk '{ print $1 / 1000 }')" \
        "$(col "$mode" 5 | median | awk '{ print $1 / 1000 }')" "$(col "$mode" 6 | median)" \
        "$(col "$mode" 7 | median | awk '{ print $1 / 1024 }')" "$non2xx" "$ratio" \
        "$(col "$mode" 19 | median)" \
        "$(col "$mode" 9 | median)" "$(col "$mode" 10 | median)" "$(col "$mode" 11 | median)" \
        "$txs" "$checks"
}

{
    echo
    echo "Medians over $ROUNDS interleaved round(s), each column on its own; ${DURATION}s measured"
    echo "after ${WARMUP}s of warm-up; wrk -t$THREADS -c$CONNS keep-alive; daemon on CPU $SERVER_CPU" \
        "(io_threads $IO_THREADS), wrk on CPU $CLIENT_CPU."
    echo
    echo "| mode | accepted events/s | p50 ms | p99 ms | server CPU s / 10k events | RSS MiB" \
        "| non-2xx | vs memory | disk bytes / event | daemon CPU % | wrk CPU % | other load %" \
        "| SQLite tx / events | sink check |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    memory_eps=$(col memory 3 | median)
    for mode in $MODES; do table_row "$mode" "$memory_eps"; done
    echo
    cat <<EOF
non-2xx: answers >= 400 plus socket errors, summed over the rounds. disk bytes / event: the
daemon's write_bytes (/proc/PID/io: what it sent to the storage layer, page-sized) in the window,
per accepted event; a body is about 370 bytes. daemon / wrk CPU %: their
own CPU time in the window, in % of one core. other load %: what else kept the two cores busy
(other processes, interrupts), in % of one core. SQLite tx / events: summed over the rounds,
whole daemon lifetimes. sink check: "ok" when the sink file holds one record per 2xx answer (up
to 2×$CONNS more: answers in flight when wrk stops), all ids distinct, as many as the daemon says
it accepted, no repeat dropped by dedup, and the rejects file is empty.
EOF
} | tee "$OUT/table.md"
log "raw results in $OUT (results.tsv, table.md, versions.txt, wrk outputs)"
