//! The async sockets (`socket::asynch`, issue 21 item 5) on the simulated
//! network: an async echo server against async clients and against
//! layernet's own echo service, transfers far larger than the socket
//! buffers (so that reads and writes wait, and only wakers bring them
//! back: `SimNet::block_on` polls a future only when woken), the peer's
//! close, resets and refusals and their `embedded_io` error kinds.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use embedded_io_async::{ErrorKind, Read, Write};
use layernet::Duration;
use layernet::app::echo::EchoServer;
use layernet::host::sim::{SimNet, endpoint};
use layernet::link::segment::Faults;
use layernet::socket::Error;
use layernet::socket::asynch::{Shared, TcpListener, TcpStream};

/// A future that counts how often it was polled: past the first poll,
/// each one followed a wake (`block_on` polls on no other occasion).
struct Counted<'c, F> {
    polls: &'c Cell<u32>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Counted<'_, F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.inner.as_mut().poll(cx)
    }
}

fn counted<F: Future>(polls: &Cell<u32>, f: F) -> Counted<'_, F> {
    Counted {
        polls,
        inner: Box::pin(f),
    }
}

/// Bytes that show any loss, repetition or reordering.
fn pattern(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// Echo one connection until the peer's end of file, then close.
async fn echo_one(listener: &mut TcpListener<'_, '_>) -> Result<usize, Error> {
    let (mut conn, _) = listener.accept().await?;
    let mut buf = [0u8; 1500];
    let mut total = 0;
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        conn.write_all(&buf[..n]).await?;
        total += n;
    }
    conn.flush().await?;
    conn.close();
    Ok(total)
}

/// Send `data` and read the echo at once (split halves), then shut down
/// and read to end of file; the bytes that came back.
async fn send_and_collect(
    client: &Shared<'_>,
    to: layernet::IpEndpoint,
    data: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut stream = TcpStream::connect(client, to).await?;
    let (mut r, mut w) = stream.split();
    let write = async {
        w.write_all(data).await?;
        w.flush().await?;
        w.shutdown();
        Ok::<_, Error>(())
    };
    let read = async {
        let mut back = Vec::with_capacity(data.len());
        let mut buf = [0u8; 1024];
        loop {
            let n = r.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, Error>(back);
            }
            back.extend_from_slice(&buf[..n]);
        }
    };
    let (wrote, back) = futures::join!(write, read);
    wrote?;
    let back = back?;
    stream.close();
    Ok(back)
}

#[test]
fn a_transfer_many_times_the_buffers_comes_back_exactly() {
    let mut net = SimNet::new(7, Faults::NONE);
    let (s, server) = net.add_async_host().unwrap();
    let (_, client) = net.add_async_host().unwrap();
    let mut listener = TcpListener::bind(server, 7, 1).unwrap();
    // 25 times the 8 KiB buffers of a host-sized socket.
    let data = pattern(200_000);
    let polls = Cell::new(0);
    let both = async {
        futures::join!(
            echo_one(&mut listener),
            send_and_collect(client, endpoint(s, 7), &data)
        )
    };
    let (served, back) = net
        .block_on(counted(&polls, both), Duration::from_secs(60))
        .expect("done within 60 s of virtual time");
    assert_eq!(served, Ok(data.len()));
    let back = back.unwrap();
    assert_eq!(back.len(), data.len());
    assert!(back == data, "every byte echoed, in order");
    // Each poll after the first was a wake. The writer can queue at most
    // one 8 KiB send buffer per poll (room comes back only with the
    // peer's acknowledgements, which arrive while it waits), so 200 kB
    // take at least 25 polls.
    assert!(polls.get() > 200_000 / 8192, "polled {} times", polls.get());
    // Both sockets went back to their pools once the closes finished.
    net.run_for(Duration::from_secs(1));
    let all = server.with(|st| st.free_tcp_sockets() + 1);
    assert_eq!(client.with(|st| st.free_tcp_sockets()), all, "client's");
}

#[test]
fn the_transfer_survives_a_lossy_link() {
    // 3% of frames lost: retransmission timers, not only arrivals, wake
    // the waiting futures.
    let mut net = SimNet::new(
        11,
        Faults {
            drop_pct: 3,
            ..Faults::NONE
        },
    );
    let (s, server) = net.add_async_host().unwrap();
    let (_, client) = net.add_async_host().unwrap();
    let mut listener = TcpListener::bind(server, 7, 1).unwrap();
    let data = pattern(60_000);
    let both = async {
        futures::join!(
            echo_one(&mut listener),
            send_and_collect(client, endpoint(s, 7), &data)
        )
    };
    let (served, back) = net
        .block_on(both, Duration::from_secs(300))
        .expect("done within 300 s of virtual time");
    assert_eq!(served, Ok(data.len()));
    assert!(back.unwrap() == data, "every byte echoed, in order");
}

#[test]
fn an_async_client_against_layernets_own_echo_service() {
    // The server is a plain host running the echo service of `app`; the
    // client is async: the same stack type serves both styles.
    let (mut net, s, _) = SimNet::pair(3).unwrap();
    let echo = EchoServer::<2>::bind(net.stack(s), 7, 2).unwrap();
    net.serve(s, Box::new(echo));
    let (_, client) = net.add_async_host().unwrap();
    let data = pattern(50_000);
    let back = net
        .block_on(
            send_and_collect(client, endpoint(s, 7), &data),
            Duration::from_secs(60),
        )
        .expect("done within 60 s")
        .unwrap();
    assert!(back == data, "{} of {} bytes back", back.len(), data.len());
}

#[test]
fn the_peer_closes_read_returns_zero_and_writes_fail_after_our_shutdown() {
    let mut net = SimNet::new(5, Faults::NONE);
    let (s, server) = net.add_async_host().unwrap();
    let (_, client) = net.add_async_host().unwrap();
    let mut listener = TcpListener::bind(server, 17, 1).unwrap();
    let both = async {
        let mut out = TcpStream::connect(client, endpoint(s, 17)).await?;
        let (mut conn, _) = listener.accept().await?;
        conn.write_all(b"bye").await?;
        conn.close();
        let mut buf = [0u8; 8];
        let first = out.read(&mut buf).await?;
        let eof = out.read(&mut buf).await?;
        let again = out.read(&mut buf).await?;
        // After our own shutdown, writing is EPIPE.
        out.shutdown();
        let after = out.write(b"x").await;
        Ok::<_, Error>((first, &buf[..3] == b"bye", eof, again, after))
    };
    let got = net.block_on(both, Duration::from_secs(5)).expect("done");
    assert_eq!(got, Ok((3, true, 0, 0, Err(Error::Closed))));
}

#[test]
fn a_reset_reads_as_connection_reset_and_fails_writes_and_flush() {
    let mut net = SimNet::new(9, Faults::NONE);
    let (s, server) = net.add_async_host().unwrap();
    let (_, client) = net.add_async_host().unwrap();
    let mut listener = TcpListener::bind(server, 9, 1).unwrap();
    let both = async {
        let mut out = TcpStream::connect(client, endpoint(s, 9)).await?;
        let (conn, _) = listener.accept().await?;
        // Data in flight that the reset will throw away: flush waits for
        // its acknowledgement, and the reset ends the wait.
        out.write_all(&[1; 4000]).await?;
        conn.abort();
        let flushed = out.flush().await;
        let read = out.read(&mut [0; 8]).await;
        let write = out.write(b"late").await;
        Ok::<_, Error>((flushed, read, write))
    };
    let (flushed, read, write) = net
        .block_on(both, Duration::from_secs(5))
        .expect("done")
        .unwrap();
    assert_eq!(flushed, Err(Error::Reset));
    assert_eq!(read, Err(Error::Reset));
    assert_eq!(write, Err(Error::Reset));
    assert_eq!(
        embedded_io_async::Error::kind(&Error::Reset),
        ErrorKind::ConnectionReset
    );
}

#[test]
fn a_refused_connect_maps_to_connection_refused() {
    let mut net = SimNet::new(2, Faults::NONE);
    let (s, _server) = net.add_async_host().unwrap();
    let (_, client) = net.add_async_host().unwrap();
    let got = net
        .block_on(
            TcpStream::connect(client, endpoint(s, 4444)),
            Duration::from_secs(5),
        )
        .expect("answered within 5 s");
    let err = got.err().expect("nobody listens on 4444");
    assert_eq!(err, Error::Refused);
    assert_eq!(
        embedded_io_async::Error::kind(&err),
        ErrorKind::ConnectionRefused
    );
}

#[test]
fn two_clients_at_once_are_both_served() {
    // Two connections handled concurrently by one server future: its
    // accept and the two echo loops each wait on their own wakers.
    let mut net = SimNet::new(4, Faults::NONE);
    let (s, server) = net.add_async_host().unwrap();
    let (_, c1) = net.add_async_host().unwrap();
    let (_, c2) = net.add_async_host().unwrap();
    let mut listener = TcpListener::bind(server, 7, 2).unwrap();
    let (d1, d2) = (pattern(30_000), pattern(45_000));
    let serve = async {
        let (first, _) = listener.accept().await?;
        let (second, _) = listener.accept().await?;
        let (x, y) = futures::join!(echo_conn(first), echo_conn(second));
        Ok::<_, Error>(x? + y?)
    };
    let all = async {
        futures::join!(
            serve,
            send_and_collect(c1, endpoint(s, 7), &d1),
            send_and_collect(c2, endpoint(s, 7), &d2)
        )
    };
    let (served, b1, b2) = net.block_on(all, Duration::from_secs(60)).expect("done");
    assert_eq!(served, Ok(d1.len() + d2.len()));
    assert!(b1.unwrap() == d1 && b2.unwrap() == d2);
}

/// Echo an accepted connection to end of file.
async fn echo_conn(mut conn: TcpStream<'_, '_>) -> Result<usize, Error> {
    let mut buf = [0u8; 1500];
    let mut total = 0;
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            conn.close();
            return Ok(total);
        }
        conn.write_all(&buf[..n]).await?;
        total += n;
    }
}
