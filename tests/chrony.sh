# Sourced by the TAP and QEMU scenarios that need a time server:
# start_chronyd DIR starts chronyd on the Linux side of the TAP
# (192.168.69.100:123) inside the namespace those scenarios run in, and sets
# chrony_pid. It serves its own clock at local stratum 8 to the /24 only,
# with -x: it never sets this machine's clock. The caller ends it by PID.
start_chronyd() {
    local dir=$1
    cat > "$dir/chrony.conf" <<CONF
local stratum 8
allow 192.168.69.0/24
bindaddress 192.168.69.100
port 123
cmdport 0
bindcmdaddress /
pidfile $dir/chronyd.pid
CONF
    chronyd -x -d -u root -f "$dir/chrony.conf" > "$dir/chronyd.log" 2>&1 &
    chrony_pid=$!
    for _ in $(seq 50); do ss -uln 2>/dev/null | grep -q '192.168.69.100:123' && return 0; sleep 0.1; done
    echo "chronyd does not listen on 192.168.69.100:123: $(tail -3 "$dir/chronyd.log")"
    return 1
}
