#!/usr/bin/env bash
# Run a command inside a fresh network namespace that has a TAP device for
# layernet and the Linux side of it configured; remove everything on exit,
# even when interrupted.
#
#   scripts/tap-netns.sh [--tap NAME]... [--host-ip CIDR] -- COMMAND [ARGS...]
#
# Defaults: one TAP device tap0 (the stack's side: layernet attaches to it and
# answers as 192.168.69.1), and 192.168.69.100/24 on the Linux side of tap0.
# With several --tap NAME, the devices are enslaved to a bridge br0 that
# carries the Linux address instead, so several layernet stacks share one
# segment: `--tap tap0 --tap tap1` gives `serve` tap0 and the layernet clients
# their own tap1 (`layernet --link tap:tap1 get ...`), since one TAP device
# carries one stack. Needs root (or CAP_NET_ADMIN); never touches the root
# namespace.
set -euo pipefail

taps=()
host_ip=192.168.69.100/24
while [ $# -gt 0 ]; do
    case "$1" in
        --tap) taps+=("$2"); shift 2 ;;
        --host-ip) host_ip=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "tap-netns.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "tap-netns.sh: give a command after --" >&2; exit 2; }
[ ${#taps[@]} -gt 0 ] || taps=(tap0)

ns="layernet-$$-$RANDOM"
cleanup() {
    # End what we started in the namespace, by PID, then the namespace itself
    # (its TAP devices and bridge go with it).
    local pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
    sleep 0.2
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
for tap in "${taps[@]}"; do
    in_ns ip tuntap add dev "$tap" mode tap
    in_ns ip link set "$tap" up
done
if [ ${#taps[@]} -eq 1 ]; then
    in_ns ip addr add "$host_ip" dev "${taps[0]}"
else
    in_ns ip link add br0 type bridge
    for tap in "${taps[@]}"; do in_ns ip link set "$tap" master br0; done
    in_ns ip link set br0 up
    in_ns ip addr add "$host_ip" dev br0
fi
# Not `exec`: the trap must still run to remove the namespace.
in_ns "$@"
