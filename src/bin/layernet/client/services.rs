//! The clients of the classic services: echo, greeting, time-echo and
//! chat, over the blocking sockets.
//!
//! Layer: host (std), in the binary.

use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc;

use layernet::host::blocking::Host;
use layernet::host::tap_net::TapNet;
use layernet::socket::Error;
use layernet::{Duration, IpEndpoint};

use super::{WAIT, failed};

pub(super) fn echo(
    host: &Host<TapNet>,
    ep: IpEndpoint,
    message: Option<String>,
) -> Result<(), String> {
    let mut s = host.tcp_connect(ep, Some(WAIT)).map_err(failed)?;
    s.set_timeout(Some(WAIT));
    let lines: Box<dyn Iterator<Item = io::Result<String>>> = match message {
        Some(m) => Box::new(std::iter::once(Ok(m))),
        None => Box::new(io::stdin().lock().lines()),
    };
    let mut out = io::stdout().lock();
    for line in lines {
        let data = format!("{}\n", line.map_err(|e| format!("stdin: {e}"))?);
        s.sendall(data.as_bytes()).map_err(failed)?;
        let mut back = vec![0u8; data.len()];
        s.read_exact(&mut back).map_err(|e| e.to_string())?;
        let _ = out.write_all(&back);
        let _ = out.flush();
    }
    s.close();
    Ok(())
}

pub(super) fn greeting(host: &Host<TapNet>, ep: IpEndpoint) -> Result<(), String> {
    let mut s = host.tcp_connect(ep, Some(WAIT)).map_err(failed)?;
    s.set_timeout(Some(WAIT));
    let mut got = Vec::new();
    s.read_to_end(&mut got).map_err(|e| e.to_string())?;
    let _ = io::stdout().write_all(&got);
    Ok(())
}

pub(super) fn time_echo(host: &Host<TapNet>, ep: IpEndpoint) -> Result<(), String> {
    let mut s = host.tcp_connect(ep, Some(WAIT)).map_err(failed)?;
    s.set_timeout(Some(WAIT));
    for line in io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.is_empty() {
            break;
        }
        s.sendall(format!("{line}\n").as_bytes()).map_err(failed)?;
        let mut reply = Vec::new();
        let mut b = [0u8; 1];
        while reply.last() != Some(&b'\n') {
            if s.recv(&mut b).map_err(failed)? == 0 {
                return Err("the server closed the connection".into());
            }
            reply.push(b[0]);
        }
        print!("{}", String::from_utf8_lossy(&reply));
        let _ = io::stdout().flush();
    }
    s.close();
    Ok(())
}

pub(super) fn chat(
    host: &Host<TapNet>,
    room: IpEndpoint,
    port: u16,
    linger: f64,
) -> Result<(), String> {
    let mut sock = host.udp_bind(port).map_err(failed)?;
    sock.set_timeout(Some(Duration::from_millis(20)));
    // stdin is read on its own thread so that datagrams print while the
    // user types: the classic program could not receive while in input().
    let (tx, rx) = mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            match line {
                Ok(l) => {
                    if tx.send(Some(l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(None);
    });
    let linger = std::time::Duration::from_secs_f64(linger.clamp(0.0, 3600.0));
    let mut ended: Option<std::time::Instant> = None;
    let mut buf = [0u8; 2048];
    loop {
        while let Ok(line) = rx.try_recv() {
            match line {
                Some(l) => sock.send_to(l.as_bytes(), room).map_err(failed)?,
                None => ended = Some(std::time::Instant::now()),
            }
        }
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let from = layernet::socket::EndpointText(from);
                println!("[{from}] {}", layernet::app::chat::Text(&buf[..n]));
                let _ = io::stdout().flush();
            }
            Err(Error::TimedOut) => {}
            Err(e) => return Err(e.to_string()),
        }
        if ended.is_some_and(|t| t.elapsed() >= linger) {
            return Ok(());
        }
    }
}
