"""Peers of layernet's mDNS responder, for tests/tap/mdns.sh.

  mdns.py browse TYPE      browse TYPE (e.g. _http._tcp.local.) with Python's
                           zeroconf, resolve the first instance found, print
                           one line: NAME SERVER PORT ADDRESSES TXT
  mdns.py legacy NAME      a legacy unicast query, as `dig -p 5353 @224.0.0.251
                           NAME` sends it (from an ephemeral port, ID 0x1234,
                           built and read by zeroconf's DNSOutgoing and
                           DNSIncoming) on an unconnected socket; print one
                           line: SOURCE ID QUESTION A-ADDRESSES TTLS
  mdns.py defend NAME SECS answer every mDNS query that names NAME.local with
                           a response giving it 192.168.69.99 (another host
                           that owns the name), for SECS seconds; print how
                           many answers were sent
"""
import socket
import struct
import sys
import time

GROUP = "224.0.0.251"
LINUX = "192.168.69.100"


def browse(service_type):
    from zeroconf import IPVersion, ServiceBrowser, ServiceListener, Zeroconf

    zc = Zeroconf(interfaces=[LINUX], ip_version=IPVersion.V4Only)
    found = []

    class Listener(ServiceListener):
        def add_service(self, zc, type_, name):
            found.append(name)

        def update_service(self, zc, type_, name):
            pass

        def remove_service(self, zc, type_, name):
            pass

    try:
        ServiceBrowser(zc, service_type, Listener())
        deadline = time.time() + 15
        while not found and time.time() < deadline:
            time.sleep(0.05)
        if not found:
            print(f"nothing found browsing {service_type} in 15 s")
            return 1
        info = zc.get_service_info(service_type, found[0], timeout=5000)
        if info is None:
            print(f"found {found[0]} but could not resolve it")
            return 1
        txt = ",".join(
            f"{k.decode()}={(v or b'').decode()}" for k, v in sorted(info.properties.items())
        )
        print(found[0], info.server, info.port, ",".join(info.parsed_addresses()), txt)
        return 0
    finally:
        zc.close()


def legacy(name):
    from zeroconf import DNSIncoming, DNSOutgoing, DNSQuestion
    from zeroconf.const import _CLASS_IN, _FLAGS_QR_QUERY, _TYPE_A

    query = DNSOutgoing(_FLAGS_QR_QUERY, multicast=False, id_=0x1234)
    query.add_question(DNSQuestion(name + ".", _TYPE_A, _CLASS_IN))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LINUX))
    sock.bind((LINUX, 0))
    sock.settimeout(3)
    for _ in range(3):
        sock.sendto(query.packets()[0], (GROUP, 5353))
        try:
            data, peer = sock.recvfrom(9000)
        except socket.timeout:
            continue
        reply = DNSIncoming(data)
        questions = ",".join(q.name for q in reply.questions)
        addrs = ",".join(socket.inet_ntoa(a.address) for a in reply.answers() if a.type == _TYPE_A)
        ttls = ",".join(str(a.ttl) for a in reply.answers() if a.type == _TYPE_A)
        print(f"{peer[0]}:{peer[1]} {reply.id:#06x} {questions} {addrs} {ttls}")
        return 0
    print(f"no reply to a legacy query for {name} in 9 s")
    return 1


def encode(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def defend(host, seconds):
    wire = encode(host + ".local")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", 5353))
    mreq = socket.inet_aton(GROUP) + socket.inet_aton(LINUX)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LINUX))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    sock.settimeout(0.2)
    print("ready", flush=True)
    answers = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            data, peer = sock.recvfrom(9000)
        except socket.timeout:
            continue
        # A query (QR clear) that names the host: answer it as its owner.
        if len(data) < 12 or data[2] & 0x80 or wire.lower() not in data.lower():
            continue
        header = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0)
        record = wire + struct.pack("!HHIH", 1, 0x8001, 120, 4) + socket.inet_aton("192.168.69.99")
        sock.sendto(header + record, (GROUP, 5353))
        answers += 1
    print(f"answers {answers}", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "browse":
        sys.exit(browse(sys.argv[2]))
    if len(sys.argv) >= 3 and sys.argv[1] == "legacy":
        sys.exit(legacy(sys.argv[2]))
    if len(sys.argv) >= 4 and sys.argv[1] == "defend":
        sys.exit(defend(sys.argv[2], float(sys.argv[3])))
    print(__doc__)
    sys.exit(2)
