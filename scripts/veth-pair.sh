# Sourced by the benchmarks (bench-tap.sh, bench-iperf3.sh): two network
# namespaces of their own joined by a veth pair, Linux's stack on both
# ends, for the figures beside layernet's over TAP. Needs root.
#
#   veth_pair A B       creates namespaces A (10.99.0.1 on va) and B
#                       (10.99.0.2 on vb), loopback and the pair up
#   veth_pair_del A B   kills what still runs in them and deletes both
#                       (safe to call when they were never made)

veth_pair() { # NS_A NS_B
    ip netns add "$1"
    ip netns add "$2"
    ip -n "$1" link add va type veth peer name vb netns "$2"
    ip -n "$1" addr add 10.99.0.1/24 dev va
    ip -n "$2" addr add 10.99.0.2/24 dev vb
    local ns
    for ns in "$1" "$2"; do ip -n "$ns" link set lo up; done
    ip -n "$1" link set va up
    ip -n "$2" link set vb up
}

veth_pair_del() { # NS_A NS_B
    local ns p
    for ns in "$1" "$2"; do
        p=$(ip netns pids "$ns" 2>/dev/null || true)
        # shellcheck disable=SC2086 # one PID a word
        [ -z "$p" ] || kill $p 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}
