#!/usr/bin/env bash
# layernet's whole test suite: formatting, lints for both feature sets, the
# no_std builds (host and Cortex-M), the docs, every test, every example and
# the demo. README.md names this script; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step() { printf '\n== %s (%ds)\n' "$*" "$((SECONDS - started))"; }

step "tools for the TAP, trace, diagram, browser and QEMU tests (root only): ip, ping, nc, curl, python3, tshark, nft, dnsmasq, ab, wget, qemu-system-arm, tcpdump, chromium, chromedriver, selenium, chronyd, dig, zeroconf, openssl, avahi-daemon, nss-mdns"
if [ "$(id -u)" = 0 ]; then
    need=()
    command -v ip >/dev/null || need+=(iproute2)
    command -v ping >/dev/null || need+=(iputils-ping)
    command -v nc >/dev/null || need+=(netcat-openbsd)
    command -v curl >/dev/null || need+=(curl)
    command -v python3 >/dev/null || need+=(python3)
    command -v tshark >/dev/null || need+=(tshark)
    command -v nft >/dev/null || need+=(nftables)
    command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
    command -v ab >/dev/null || need+=(apache2-utils)
    command -v wget >/dev/null || need+=(wget)
    command -v iperf3 >/dev/null || need+=(iperf3)
    command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
    # tests/diagram.rs: a Linux capture to draw, and a browser to render it.
    command -v tcpdump >/dev/null || need+=(tcpdump)
    # The listing page in a real browser (tests/tap/browser.sh): Debian's
    # Chromium, its WebDriver, and Selenium for Debian's python3.
    command -v chromium >/dev/null || need+=(chromium)
    command -v chromedriver >/dev/null || need+=(chromium-driver)
    /usr/bin/python3 -c 'import selenium' 2>/dev/null || need+=(python3-selenium)
    # The time source of the SNTP tests (run by the tests, in a namespace).
    command -v chronyd >/dev/null || need+=(chrony)
    # The mDNS tests: dig's legacy unicast query to 224.0.0.251.
    command -v dig >/dev/null || need+=(bind9-dnsutils)
    # `curl http://layernet.local:7878/` through glibc's own resolver
    # (tests/tap/nss_mdns.sh): nss-mdns and the avahi-daemon it asks,
    # started by the test in its own namespaces.
    command -v avahi-daemon >/dev/null || need+=(avahi-daemon)
    ldconfig -p | grep -q 'libnss_mdns4_minimal\.so\.2' || need+=(libnss-mdns)
    # HTTPS (tests/tap/tls.sh): s_client, and certificates from another CA.
    command -v openssl >/dev/null || need+=(openssl)
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing: ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # tshark's package asks whether non-root users may capture: no.
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
        apt-get update -qq
        # Packages with a daemon (chrony, avahi-daemon, dbus) must not
        # start it here, in the root namespace: the tests start their own,
        # in theirs.
        policy=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            policy=/usr/sbin/policy-rc.d
        fi
        # libnss-mdns's install adds mdns4_minimal to this machine's
        # /etc/nsswitch.conf; the test brings its own (bind-mounted in its
        # mount namespace), so the machine's resolver stays as it was.
        nsswitch=$(mktemp)
        cp -p /etc/nsswitch.conf "$nsswitch" 2>/dev/null || true
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
        [ -z "$policy" ] || rm -f "$policy"
        if [ -s "$nsswitch" ] && ! cmp -s "$nsswitch" /etc/nsswitch.conf; then
            cp -p "$nsswitch" /etc/nsswitch.conf
        fi
        rm -f "$nsswitch"
    else
        echo "all present"
    fi
    # The mDNS tests browse with Python's zeroconf (PyPI), for the python3
    # on PATH that tests/tap/mdns.sh runs (PIP_FIND_LINKS, if set, is
    # where pip looks first).
    python3 -c 'import zeroconf' 2>/dev/null || python3 -m pip install -q zeroconf
else
    echo "not root: the TAP tests will skip (in CI, where CI=true, they would fail instead)"
fi

step "formatting: cargo fmt --check"
cargo fmt --all -- --check

step "lints, std: cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "lints, no_std: cargo clippy --all-targets --no-default-features -- -D warnings"
cargo clippy --all-targets --no-default-features -- -D warnings

step "no_std build without alloc: cargo build --lib --no-default-features"
cargo build --lib --no-default-features

step "Cortex-M4F and Cortex-M3 builds of the core: thumbv7em-none-eabihf, thumbv7m-none-eabi"
if { rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf \
        || rustup target add thumbv7em-none-eabihf; } \
    && { rustup target list --installed 2>/dev/null | grep -qx thumbv7m-none-eabi \
        || rustup target add thumbv7m-none-eabi; }; then
    cargo build --lib --no-default-features --release --target thumbv7em-none-eabihf
    cargo build --lib --no-default-features --release --target thumbv7m-none-eabi
    # The async sockets (feature `async`) build for a board too.
    cargo build --lib --no-default-features --features async --release --target thumbv7em-none-eabihf
    step "firmware/ (its own workspace): fmt, clippy, and the board and tiny builds of both boards"
    (cd firmware && cargo fmt -- --check && cargo clippy --release -- -D warnings \
        && cargo build --release && cargo build --release --no-default-features --features tiny --target-dir target/tiny \
        && cargo clippy --release --no-default-features --features lm3s6965,tiny --target thumbv7m-none-eabi \
            --target-dir target/lm3s6965-tiny -- -D warnings \
        && cargo build --release --features lm3s6965 --target thumbv7m-none-eabi \
            --target-dir target/lm3s6965 \
        && cargo build --release --no-default-features --features lm3s6965,tiny --target thumbv7m-none-eabi \
            --target-dir target/lm3s6965-tiny)
else
    echo "!!!!!!!! WARNING: the thumbv7em-none-eabihf or thumbv7m-none-eabi target could not be installed:"
    echo "!!!!!!!! the Cortex-M builds were NOT checked. Everything else runs."
fi

step "the core's dependencies with default features off enable no std or alloc feature"
if cargo tree -e normal,features --no-default-features | grep -E 'feature "(std|alloc)"'; then
    echo "a dependency of the core pulls in std or alloc (above)"
    exit 1
fi
if cargo tree -e normal,features --no-default-features --features async | grep -E 'feature "(std|alloc)"'; then
    echo "a dependency of the async sockets pulls in std or alloc (above)"
    exit 1
fi
cargo tree -e normal --no-default-features --prefix none | sort -u | tr '\n' ' '
echo

step "docs: cargo doc --no-deps, warnings denied"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet

step "tests: cargo test"
cargo test

step "doc tests: cargo test --doc (the API examples and docs/socket-api.md)"
cargo test --doc

step "the socket table names only compiled items: cargo test --test socket_api_rows"
cargo test --test socket_api_rows

step "release-only tests: the 16 MiB file round trip"
cargo test --release --test files -- --ignored

step "release-only: a lossy-link soak big enough to hit smoltcp's lost timer (3 seeds x 16 MiB each way)"
SOAK_SEEDS=3 SOAK_MIB=16 cargo test --release --test soak -- --ignored --nocapture the_full_soak

step "fuzzing: the whole receive path for 60 s (cargo fuzz on the nightly toolchain)"
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    if command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet; then
        scripts/fuzz.sh 60
    else
        echo "!!!!!!!! WARNING: cargo-fuzz could not be installed: the fuzz run was NOT done."
    fi
else
    echo "!!!!!!!! WARNING: no nightly toolchain here: the fuzz run was NOT done."
    echo "!!!!!!!! (rustup toolchain install nightly, then scripts/fuzz.sh)"
fi

step "examples: each runs to completion and checks its own exchange"
for example in udp_chat tcp_echo_server tcp_echo_client time_echo_server time_echo_client \
    greeting_server greeting_client file_server file_client; do
    echo "-- $example"
    timeout 120 cargo run --quiet --example "$example" </dev/null
done

step "the demo: cargo run --release, and with 10% loss"
timeout 300 cargo run --release --quiet
timeout 300 cargo run --release --quiet -- demo --loss 10 --seed 7 >/dev/null

step "all checks passed"
