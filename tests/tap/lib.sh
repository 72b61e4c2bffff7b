# Shared by the TAP scenarios; sourced right after `set -euo pipefail`, with
# the scenario's arguments (the first is the layernet binary). Gives:
# layernet, work (a temporary directory), pid (serve's, once started), L,
# fail, ok, ms_since, start_serve ARGS..., stop_serve, counter ROW.
layernet=$(realpath "$1")
work=$(mktemp -d)
pid=
extra_cleanup() { :; }
cleanup() {
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    extra_cleanup
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/serve.err" ] && tail -30 "$work/serve.err" | sed 's/^/  serve: /'; exit 1; }
ok() { echo "ok   $*"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
L=192.168.69.1

# `layernet serve ARGS...` in the background, until it lists its services.
start_serve() {
    # Emptied here, not only by the redirection below: that one happens in
    # the child, and the loop could still read the last serve's lines.
    : > "$work/serve.out"
    : > "$work/serve.err"
    "$layernet" serve "$@" > "$work/serve.out" 2> "$work/serve.err" &
    pid=$!
    # Generous: on a loaded machine a debug build takes a while to come up.
    # Wait for the line that is checked: the services are listed one line
    # at a time, and the file service's is not always the last.
    local t0
    t0=$(date +%s%N)
    for _ in $(seq 300); do grep -q '(files[),]' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
    grep -q '(files[),]' "$work/serve.out" || fail "serve did not list its file service after $(ms_since "$t0") ms ($(kill -0 "$pid" 2>/dev/null && echo "running, state $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null), waiting in $(cat "/proc/$pid/wchan" 2>/dev/null)" || echo exited)): out: $(tail -2 "$work/serve.out" 2>/dev/null) err: $(tail -3 "$work/serve.err" 2>/dev/null)"
}

stop_serve() {
    kill -TERM "$pid"
    local status=0
    wait "$pid" || status=$?
    pid=
    [ "$status" = 0 ] || fail "serve exited $status"
}

# Ask serve for a fresh counter table (SIGUSR1) and wait until it is out.
refresh_counters() {
    local before
    before=$(grep -c '^layer counter' "$work/serve.err" || true)
    kill -USR1 "$pid"
    for _ in $(seq 50); do
        [ "$(grep -c '^layer counter' "$work/serve.err" || true)" -gt "$before" ] && return
        sleep 0.1
    done
    fail "no counter table after SIGUSR1"
}

# The last column of counter row ROW in the latest table.
counter_value() { grep "$1" "$work/serve.err" | tail -1 | awk '{print $NF}'; }

# Both: the value of ROW in a fresh table.
counter() { refresh_counters; counter_value "$1"; }
