"""Raw Ethernet frames for the TAP tests: built by hand (no scapy), sent on
tap0's Linux side with an AF_PACKET socket, so that layernet's receive path
gets exactly these bytes. Addresses: Linux 192.168.69.100, layernet
192.168.69.1 at 02:00:00:00:00:01."""
import functools
import socket
import struct

LINUX = socket.inet_aton("192.168.69.100")
LAYERNET = socket.inet_aton("192.168.69.1")
LAYERNET_MAC = bytes.fromhex("020000000001")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


@functools.lru_cache(maxsize=None)
def our_mac(dev="tap0"):
    with open(f"/sys/class/net/{dev}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def eth(payload, ethertype=0x0800, dst=LAYERNET_MAC, dev="tap0"):
    return dst + our_mac(dev) + struct.pack("!H", ethertype) + payload


def ipv4(payload, proto, src=LINUX, dst=LAYERNET, ident=0, frag=0, ihl=5, total=None, options=b"", good_sum=True):
    total = 20 + len(options) + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, ident, frag, 64, proto, 0, src, dst) + options
    if good_sum:
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def tcp(sport, dport, flags, seq=1000, ack=0, options=b"", payload=b"", offset=None, urg=0, src=LINUX, dst=LAYERNET, good_sum=True):
    off = (5 + len(options) // 4) if offset is None else offset
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 8192, 0, urg) + options
    if good_sum:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(h) + len(payload))
        h = h[:16] + struct.pack("!H", csum(pseudo + h + payload)) + h[18:]
    return h + payload


def udp(sport, dport, payload, length=None, src=LINUX, dst=LAYERNET, good_sum=True):
    length = 8 + len(payload) if length is None else length
    h = struct.pack("!HHHH", sport, dport, length, 0)
    if good_sum:
        pseudo = src + dst + struct.pack("!BBH", 0, 17, 8 + len(payload))
        h = h[:6] + struct.pack("!H", csum(pseudo + h + payload) or 0xFFFF)
    return h + payload


def sender(dev="tap0"):
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((dev, 0))
    return raw
