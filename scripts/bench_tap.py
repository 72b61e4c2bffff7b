"""The Linux-side programs of scripts/bench-tap.sh (issue 9). Each
subcommand prints one line of numbers on stdout; every loop is bounded in
time. Standard library only.

  rtt HOST PORT SIZE SECONDS           TCP echo round trips: "p50_us p99_us count"
  urtt HOST PORT SIZE SECONDS          the same over UDP (one datagram each way)
  echo-server PORT                     a loopback echo server (runs until killed)
  greeting-server PORT                 a loopback greeting server (idem)
  conns HOST PORT CLIENTS SECONDS      greeting connections: "conns_per_s failures"
  pump-tx DEV SECONDS                  write full-size frames into the TAP: "frames/s bytes/s"
  pump-rx DEV SECONDS                  read what the kernel sends out of it: "frames/s bytes/s"
  flood HOST PORT SECONDS              UDP datagrams of 1472 bytes as fast as possible
  sink PORT SECONDS                    accept one TCP connection, read to EOF: "bit/s bytes"
  source HOST PORT SECONDS             send to it for SECONDS in 1 MiB writes: "bit/s bytes"
  read HOST PORT SECONDS               connect, read for SECONDS: "bit/s bytes"
"""
import fcntl
import os
import select
import socket
import struct
import sys
import threading
import time

GREETING = b"connect successfully!\r\n"


def message(size):
    """SIZE bytes ending in a newline: smoltcp's `server` example echoes
    each line reversed without its newline and adds one, so a single line
    comes back as long as it went; a plain echo returns it unchanged."""
    return b"x" * (int(size) - 1) + b"\n"


def percentiles(times):
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))] / 1000
    print(f"{p(0.5):.1f} {p(0.99):.1f} {len(times)}")


def rtt(host, port, size, seconds):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = message(size)
    buf = bytearray(len(msg))
    times = []
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end and len(times) < 100000:
        t0 = time.perf_counter_ns()
        s.sendall(msg)
        got = 0
        view = memoryview(buf)
        while got < len(msg):
            n = s.recv_into(view[got:])
            if n == 0:
                raise SystemExit("echo server closed")
            got += n
        times.append(time.perf_counter_ns() - t0)
    s.close()
    percentiles(times)


def urtt(host, port, size, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, int(port)))
    s.settimeout(1)
    msg = message(size)
    times = []
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end and len(times) < 100000:
        t0 = time.perf_counter_ns()
        s.send(msg)
        try:
            s.recv(65536)
        except socket.timeout:
            continue  # a lost datagram is not a round trip
        times.append(time.perf_counter_ns() - t0)
    s.close()
    if not times:
        raise SystemExit("no UDP echo came back")
    percentiles(times)


def serve_forever(port, handle, threaded):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(128)
    while True:
        c, _ = ls.accept()
        if threaded:
            threading.Thread(target=handle, args=(c,), daemon=True).start()
        else:
            handle(c)


def echo_handle(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with c:
        while data := c.recv(65536):
            c.sendall(data)


def greeting_handle(c):
    with c:
        c.sendall(GREETING)


def conns(host, port, clients, seconds):
    end = time.monotonic() + float(seconds)
    done = [0] * int(clients)
    failed = [0] * int(clients)

    def client(i):
        while time.monotonic() < end:
            try:
                with socket.create_connection((host, int(port)), timeout=3) as s:
                    got = b""
                    while chunk := s.recv(256):
                        got += chunk
                if got == GREETING:
                    done[i] += 1
                else:
                    failed[i] += 1
            except OSError:
                failed[i] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(int(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{sum(done) / (time.monotonic() - start):.1f} {sum(failed)}")


def open_tap(dev):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    IFF_TAP, IFF_NO_PI, TUNSETIFF = 0x0002, 0x1000, 0x400454CA
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def pump_tx(dev, seconds):
    """Full-size frames into the kernel: UDP from 192.168.69.1 to the Linux
    side's discard port. Nothing listens there; the kernel checks the
    headers and drops them (its ICMP errors are rate-limited)."""
    fd = open_tap(dev)
    with open(f"/sys/class/net/{dev}/address") as f:
        dst = bytes.fromhex(f.read().strip().replace(":", ""))
    payload = bytes(1472)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1500, 0, 0, 64, 17, 0,
                     socket.inet_aton("192.168.69.1"), socket.inet_aton("192.168.69.100"))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", 40000, 9, 1480, 0)  # checksum 0: none, legal in IPv4
    frame = dst + bytes.fromhex("020000000001") + b"\x08\x00" + ip + udp + payload
    n = 0
    start = time.monotonic()
    end = start + float(seconds)
    while True:
        for _ in range(256):
            os.write(fd, frame)
        n += 256
        if time.monotonic() >= end:
            break
    secs = time.monotonic() - start
    print(f"{n / secs:.0f} {n * len(frame) / secs:.0f}")


def pump_rx(dev, seconds):
    fd = open_tap(dev)
    os.set_blocking(fd, False)
    frames = total = 0
    start = time.monotonic()
    end = start + float(seconds)
    while (now := time.monotonic()) < end:
        r, _, _ = select.select([fd], [], [], end - now)
        if not r:
            continue
        while True:
            try:
                b = os.read(fd, 2048)
            except BlockingIOError:
                break
            frames += 1
            total += len(b)
    secs = time.monotonic() - start
    print(f"{frames / secs:.0f} {total / secs:.0f}")


def flood(host, port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    data = bytes(1472)
    end = time.monotonic() + float(seconds)
    dst = (host, int(port))
    while time.monotonic() < end:
        for _ in range(256):
            try:
                s.sendto(data, dst)
            except BlockingIOError:
                pass


def sink(port, seconds):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(1)
    ls.settimeout(float(seconds))
    c, _ = ls.accept()
    c.settimeout(float(seconds))
    buf = bytearray(1 << 20)
    total = 0
    start = None
    while n := c.recv_into(buf):
        if start is None:
            start = time.monotonic()
        total += n
    secs = time.monotonic() - (start or time.monotonic())
    print(f"{total * 8 / max(secs, 1e-9):.0f} {total}")


def stream(host, port, seconds, move):
    """Connect and call move(socket, buffer) -> bytes moved, for SECONDS
    (or until it moves nothing); print the rate."""
    s = socket.create_connection((host, int(port)), timeout=5)
    buf = bytearray(1 << 20)
    start = time.monotonic()
    last = start
    total = 0
    while time.monotonic() < start + float(seconds):
        try:
            n = move(s, buf)
        except TimeoutError:
            # The peer stopped taking data (smoltcp's benchmark stops at
            # 1 GB): the rate is over the time it moved data; the caller
            # sees the total and warns.
            break
        if n == 0:
            break
        total += n
        last = time.monotonic()
    secs = max(last - start, 1e-9)
    s.close()
    print(f"{total * 8 / secs:.0f} {total}")


def source(host, port, seconds):
    stream(host, port, seconds, lambda s, buf: s.sendall(buf) or len(buf))


def read(host, port, seconds):
    stream(host, port, seconds, lambda s, buf: s.recv_into(buf))


def store(path, mib):
    """Write MIB MiB into a new file at PATH the way `serve` stores a PUT:
    positioned writes of about 64 KiB from a 256 KiB ring. Prints MB/s and
    this process's CPU per MB (us): what storing alone costs, beside the
    PUT figures, which include it, and smoltcp's writer, which stores
    nothing."""
    ring = memoryview(bytearray(os.urandom(256 * 1024)))
    total = int(mib) * 1024 * 1024
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        t0, c0 = time.monotonic(), time.process_time()
        at = off = 0
        while at < total:
            n = min(65536, len(ring) - off, total - at)
            os.pwrite(fd, ring[off:off + n], at)
            at += n
            off = (off + n) % len(ring)
        t, c = time.monotonic() - t0, time.process_time() - c0
    finally:
        os.close(fd)
        os.unlink(path)
    print(f"{total / t / 1e6:.1f} {c * 1e12 / total:.1f}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "echo-server":
        serve_forever(args[0], echo_handle, True)
    elif cmd == "greeting-server":
        # Inline, no thread: the greeting is one send, and a thread per
        # connection would make Python's server, not the kernel, the limit.
        serve_forever(args[0], greeting_handle, False)
    else:
        {"rtt": rtt, "urtt": urtt, "conns": conns, "pump-tx": pump_tx, "pump-rx": pump_rx,
         "flood": flood, "sink": sink, "source": source, "read": read,
         "store": store}[cmd](*args)


if __name__ == "__main__":
    main()
