#!/usr/bin/env bash
# Load benchmark of `apim-emu serve` against nginx, on this machine, in one go (issue 6 bar):
#   (a) wrk -> backend directly
#   (b) wrk -> nginx-light, round-robin proxy to the two backends
#   (c) wrk -> apim-emu serve (release build), examples/round-robin's policy, same two backends
# The backend is a second nginx answering a fixed chat completion (with `usage`) on two ports.
# Prints throughput, p50 and p99 latency at $CONNECTIONS connections, gateway CPU time per
# request (/proc/<pid>/stat utime+stime before/after, every process of the gateway), resident
# memory (VmRSS at the end, VmHWM peak), and apim-emu's ratios to nginx.
#
#   benches/load.sh                 # needs nginx (Debian nginx-light) and wrk; see docs/performance.md
#   DURATION=20 CONNECTIONS=32 ROUNDS=5 benches/load.sh
#
# nginx and apim-emu are measured in alternation, ROUNDS times (default 3): each round's ratios
# compare runs seconds apart, and the verdict uses the median round, so one noisy run on a
# shared machine does not decide it.
#
# Not part of `cargo test`: speed is measured here, never asserted by tests.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
# Ports: consecutive, from a base that can be changed when taken.
BASE=${BASE_PORT:-18480}
PORT_A=$BASE PORT_B=$((BASE + 1)) PORT_NGINX=$((BASE + 2)) PORT_EMU=$((BASE + 3))

for tool in nginx wrk; do
    command -v "$tool" >/dev/null || {
        echo "load.sh: $tool is not installed (apt-get install nginx-light wrk)" >&2
        exit 2
    }
done

WORK=$(mktemp -d /tmp/apim-emu-load.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

echo "building apim-emu (release)..." >&2
(cd "$ROOT" && cargo build --release -q -p apim-emu)
EMU="${CARGO_TARGET_DIR:-$ROOT/target}/release/apim-emu"

BODY='{"id":"chatcmpl-bench","object":"chat.completion","created":1732233600,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}'

nginx_conf() { # name, body of the http block
    mkdir -p "$WORK/$1"
    cat >"$WORK/$1/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $WORK/$1/nginx.pid;
error_log $WORK/$1/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $WORK/$1/body;
    proxy_temp_path $WORK/$1/proxy;
    fastcgi_temp_path $WORK/$1/fastcgi;
    uwsgi_temp_path $WORK/$1/uwsgi;
    scgi_temp_path $WORK/$1/scgi;
    keepalive_requests 1000000;
$2
}
EOF
}

nginx_conf backend "    access_log off;
    server {
        listen 127.0.0.1:$PORT_A;
        listen 127.0.0.1:$PORT_B;
        location / { default_type application/json; return 200 '$BODY'; }
    }"

# The proxy logs each request, as apim-emu does.
nginx_conf proxy "    access_log $WORK/proxy/access.log;
    upstream aoai { server 127.0.0.1:$PORT_A; server 127.0.0.1:$PORT_B; keepalive 64; }
    server {
        listen 127.0.0.1:$PORT_NGINX;
        location / {
            proxy_pass http://aoai;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"

wait_port() { # port, pid
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || { echo "load.sh: process $2 exited before listening on $1" >&2; return 1; }
        sleep 0.1
    done
    echo "load.sh: nothing listens on $1" >&2
    return 1
}

nginx -c "$WORK/backend/nginx.conf" -e "$WORK/backend/error.log" &
PIDS+=($!)
wait_port "$PORT_A" "${PIDS[-1]}"
nginx -c "$WORK/proxy/nginx.conf" -e "$WORK/proxy/error.log" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_port "$PORT_NGINX" "$NGINX_PID"

mkdir -p "$WORK/emu"
cp "$ROOT/examples/round-robin/policy.xml" "$WORK/emu/policy.xml"
sed -e "s/@PORT_A@/$PORT_A/" -e "s/@PORT_B@/$PORT_B/" \
    "$ROOT/benches/round-robin.apim-emu.yaml" >"$WORK/emu/apim-emu.yaml"
# One log line per request, as in normal use, written to a file.
"$EMU" serve "$WORK/emu" --listen "127.0.0.1:$PORT_EMU" >"$WORK/emu/stdout.log" 2>"$WORK/emu/requests.log" &
EMU_PID=$!
PIDS+=("$EMU_PID")
wait_port "$PORT_EMU" "$EMU_PID"

cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"messages":[{"role":"user","content":"Say hello"}],"max_tokens":16}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["api-key"] = "bench-key-alpha"
EOF
PATH_Q="/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21"

# Every process of a gateway: the pid and its children (nginx workers).
procs() { echo "$1"; pgrep -P "$1" || true; }
cpu_ticks() { # total utime+stime of the pid and its children
    local t=0 p
    for p in $(procs "$1"); do
        # Fields after the command name (which may hold spaces): utime is 14, stime 15.
        t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo "$t"
}
mem_kb() { # field (VmRSS/VmHWM) summed over the processes
    local t=0 p
    for p in $(procs "$1"); do
        t=$((t + $(awk -v f="$2:" '$1 == f {print $2}' "/proc/$p/status")))
    done
    echo "$t"
}

HZ=$(getconf CLK_TCK)
declare -A RPS P50 P99 CPU RSS HWM

ms() { # wrk latency (850.00us, 1.20ms, 2.00s) -> ms
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
        else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 }
        else print v }'
}

wait_perf() { # the profiler (when started) writes its file before the next run
    local j
    for j in $(jobs -p); do
        case " ${PIDS[*]} " in *" $j "*) ;; *) wait "$j" 2>/dev/null || true ;; esac
    done
}

run() { # name (key of the figures, e.g. nginx.2), port, pid (or empty)
    local name=$1 port=$2 pid=${3:-}
    local url="http://127.0.0.1:$port$PATH_Q"
    # The first answer must be the backend's, or the figures mean nothing.
    local check
    check=$(curl -s -X POST -H 'Content-Type: application/json' -H 'api-key: bench-key-alpha' \
        --data '{"messages":[]}' -o /dev/null -w '%{http_code}' "$url" 2>/dev/null || true)
    if [ -n "$check" ] && [ "$check" != 200 ]; then
        echo "load.sh: $name answered $check" >&2
        exit 1
    fi
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/post.lua" "$url" >/dev/null
    local before=0
    [ -n "$pid" ] && before=$(cpu_ticks "$pid")
    # PERF_RECORD=FILE: a CPU profile of apim-emu during its run (perf report -i FILE).
    if [ -n "${PERF_RECORD:-}" ] && [ "$name" = apim-emu.1 ] && command -v perf >/dev/null; then
        perf record -q -F 499 ${PERF_CALLGRAPH:--g} -p "$pid" -o "$PERF_RECORD" -- sleep "$DURATION" 2>/dev/null &
    fi
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$url" >"$WORK/$name.wrk"
    local after=0
    [ -n "$pid" ] && after=$(cpu_ticks "$pid")
    wait_perf
    local requests errors
    requests=$(awk '/requests in/ {print $1}' "$WORK/$name.wrk")
    errors=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$WORK/$name.wrk")
    if [ -n "$errors" ]; then
        echo "load.sh: $name: $errors non-2xx answers" >&2
        cat "$WORK/$name.wrk" >&2
        exit 1
    fi
    RPS[$name]=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.wrk")
    P50[$name]=$(ms "$(awk '$1 == "50%" {print $2}' "$WORK/$name.wrk")")
    P99[$name]=$(ms "$(awk '$1 == "99%" {print $2}' "$WORK/$name.wrk")")
    if [ -n "$pid" ]; then
        CPU[$name]=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.1f", t / hz / n * 1e6 }')
        RSS[$name]=$(awk -v k="$(mem_kb "$pid" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
        HWM[$name]=$(awk -v k="$(mem_kb "$pid" VmHWM)" 'BEGIN { printf "%.1f", k / 1024 }')
    else
        CPU[$name]=- RSS[$name]=- HWM[$name]=-
    fi
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
run direct "$PORT_A" ""
for r in $(seq 1 "$ROUNDS"); do
    run "nginx.$r" "$PORT_NGINX" "$NGINX_PID"
    run "apim-emu.$r" "$PORT_EMU" "$EMU_PID"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

LOGGED=$(grep -c 'apim_emu::request' "$WORK/emu/requests.log" || true)

printf '\n%s connections, %s threads, %ss per run (after %ss warm-up), %s rounds, %s cores, load average %s -> %s\n' \
    "$CONNECTIONS" "$THREADS" "$DURATION" "$WARMUP" "$ROUNDS" "$(nproc)" "$LOAD_BEFORE" "$LOAD_AFTER"
printf '%-12s %12s %9s %9s %15s %9s %9s %11s %9s\n' target 'requests/s' 'p50 ms' 'p99 ms' 'CPU µs/request' 'RSS MB' 'peak MB' 'throughput' 'CPU'
row() { # key, ratio columns
    printf '%-12s %12s %9s %9s %15s %9s %9s %11s %9s\n' "$1" "${RPS[$1]}" "${P50[$1]}" "${P99[$1]}" "${CPU[$1]}" "${RSS[$1]}" "${HWM[$1]}" "${2:-}" "${3:-}"
}
row direct
RATIOS=()
for r in $(seq 1 "$ROUNDS"); do
    row "nginx.$r"
    t=$(awk -v a="${RPS[apim-emu.$r]}" -v b="${RPS[nginx.$r]}" 'BEGIN { printf "%.2f", a / b }')
    c=$(awk -v a="${CPU[apim-emu.$r]}" -v b="${CPU[nginx.$r]}" 'BEGIN { printf "%.2f", a / b }')
    row "apim-emu.$r" "$t" "$c"
    RATIOS+=("$t $c ${HWM[apim-emu.$r]}")
done
# The median round by each ratio (the middle value of the sorted column).
median() { printf '%s\n' "${RATIOS[@]}" | awk -v k="$1" '{ print $k }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
T=$(median 1) C=$(median 2) H=$(printf '%s\n' "${RATIOS[@]}" | awk '{ print $3 }' | sort -g | tail -1)
awk -v t="$T" -v c="$C" -v hwm="$H" -v n="$ROUNDS" 'BEGIN {
    printf "\napim-emu / nginx, median of %d rounds: throughput %.2f (bar >= 0.70: %s), CPU per request %.2f (bar <= 2.00: %s); apim-emu peak RSS %.1f MB (bar <= 50: %s)\n",
        n, t, (t >= 0.70 ? "met" : "MISSED"), c, (c <= 2.0 ? "met" : "MISSED"), hwm, (hwm <= 50 ? "met" : "MISSED")
}'
echo "apim-emu request log lines: $LOGGED"
