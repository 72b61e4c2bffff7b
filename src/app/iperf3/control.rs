//! iperf3's control connection, server side, as a state machine over
//! bytes: it takes what the client sent and says what to send back, and
//! knows nothing of sockets or streams (the server in [`super`] wires it
//! to them, and unit tests drive it with bytes alone).
//!
//! Layer: app. Depends on [`super::json`] and `core` only; no std, no
//! alloc: one buffer of `BUF` bytes holds the parameters coming in and the
//! results going out (never both at once: input is taken only once the
//! output is sent).
//!
//! The exchange, as iperf3 3.12's `iperf_server_api.c` runs it:
//!
//! ```text
//! client                                   server
//! cookie (37 bytes) ---------------------->
//!                   <---------------------- PARAM_EXCHANGE (9)
//! length (4, big-endian) + JSON ---------->
//!                   <---------------------- CREATE_STREAMS (10)
//! (data connections, each: the cookie)
//!                   <---------------------- TEST_START (1), TEST_RUNNING (2)
//! ... data ...
//! TEST_END (4) --------------------------->
//!                   <---------------------- EXCHANGE_RESULTS (13)
//! length + JSON (client's results) ------->
//!                   <---------------------- length + JSON, DISPLAY_RESULTS (14)
//! IPERF_DONE (16) ------------------------>
//! ```
//!
//! A refusal is one byte, ACCESS_DENIED (-1); an error is SERVER_ERROR
//! (-2) followed by iperf3's error number and `errno`, 4 bytes each.

use core::fmt::Write;

use smoltcp::time::Instant;

use super::json::{self, Writer};

/// The cookie's length: 36 characters and iperf3's terminating NUL.
pub const COOKIE_SIZE: usize = 37;

/// iperf3's state bytes (signed chars on the wire).
pub mod state {
    /// The data streams are all there; the test is about to run.
    pub const TEST_START: u8 = 1;
    /// Send (or receive) data now.
    pub const TEST_RUNNING: u8 = 2;
    /// The client's clock ran out.
    pub const TEST_END: u8 = 4;
    /// Send the parameters.
    pub const PARAM_EXCHANGE: u8 = 9;
    /// Open the data connections.
    pub const CREATE_STREAMS: u8 = 10;
    /// The client gave up (Ctrl-C).
    pub const CLIENT_TERMINATE: u8 = 12;
    /// Send your results; then the server sends its own.
    pub const EXCHANGE_RESULTS: u8 = 13;
    /// Print them.
    pub const DISPLAY_RESULTS: u8 = 14;
    /// The client is finished.
    pub const IPERF_DONE: u8 = 16;
    /// The server is busy, or a data connection's cookie is not the test's.
    pub const ACCESS_DENIED: u8 = (-1i8) as u8;
    /// An error number follows.
    pub const SERVER_ERROR: u8 = (-2i8) as u8;
}

/// iperf3's error numbers (`iperf_error.h`) this server sends.
pub mod errno {
    /// "number of parallel streams too large".
    pub const IENUMSTREAMS: u32 = 6;
    /// "an option you are trying to set is not implemented yet".
    pub const IEUNIMP: u32 = 13;
    /// "unable to start stream listener".
    pub const IESTREAMLISTEN: u32 = 202;
}

/// What the client asked for, from its parameter JSON.
///
/// ```
/// use layernet::app::iperf3::control::Params;
/// // Before the parameters come, no stream is asked for.
/// assert_eq!(Params::default().streams, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params {
    /// `-R`: the server sends.
    pub reverse: bool,
    /// `-P`: data connections.
    pub streams: u16,
    /// `-t`, seconds (0 when the test is bounded by bytes or blocks).
    pub duration: u32,
    /// `-n`: bytes to send in all (0: no limit).
    pub bytes: u64,
    /// `-u`: the data streams are UDP ([`super::udp`]).
    pub udp: bool,
    /// `-b`: bits per second each stream sends (0: no limit).
    pub rate: u64,
    /// `-l`: bytes per write (per datagram with UDP).
    pub len: u32,
    /// `--udp-counters-64bit`.
    pub counters64: bool,
}

/// What the server reports of one data stream.
///
/// ```
/// use layernet::app::iperf3::control::StreamResult;
/// let tcp = StreamResult { bytes: 1 << 20, ..StreamResult::default() };
/// assert_eq!((tcp.packets, tcp.jitter_ns), (0, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamResult {
    /// Bytes received, or sent with `-R`.
    pub bytes: u64,
    /// UDP: the jitter seen by the receiver, nanoseconds.
    pub jitter_ns: u64,
    /// UDP: datagrams lost (receiver).
    pub errors: u64,
    /// UDP: datagrams received (the highest sequence number) or sent.
    pub packets: u64,
}

/// Where the control connection stands.
///
/// ```
/// use layernet::app::iperf3::control::{Control, Phase};
/// let mut c = Control::<64>::new(1);
/// c.take(&[b'k'; 20], layernet::Instant::ZERO);
/// assert_eq!(c.phase(), Phase::Cookie, "17 bytes of the cookie still to come");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the cookie.
    Cookie,
    /// Reading the parameters' length.
    ParamLen,
    /// Reading the parameters.
    Params,
    /// Waiting for the data connections.
    CreateStreams,
    /// The test runs.
    Running,
    /// Reading the length of the client's results.
    ResultsLen,
    /// Skipping the client's results.
    Results,
    /// The server's results are due: [`Control::write_results`].
    WriteResults,
    /// Waiting for IPERF_DONE.
    AwaitDone,
    /// Over: close the control connection once the output is sent.
    Finished,
    /// Refused or failed: close once the output is sent.
    Failed,
}

/// One test's control connection, server side, with a buffer of `BUF`
/// bytes for the parameters and the results.
///
/// # Example
///
/// ```
/// use layernet::app::iperf3::control::{Control, Phase, state};
/// use layernet::Instant;
/// let mut c = Control::<512>::new(4);
/// let cookie = [b'a'; 37];
/// assert_eq!(c.take(&cookie, Instant::ZERO), 37);
/// assert_eq!(c.pending(), [state::PARAM_EXCHANGE]);
/// c.sent(1);
/// let params = br#"{"tcp":true,"time":2,"parallel":2,"len":131072}"#;
/// let mut msg = (params.len() as u32).to_be_bytes().to_vec();
/// msg.extend_from_slice(params);
/// assert_eq!(c.take(&msg, Instant::ZERO), msg.len());
/// assert_eq!((c.phase(), c.pending()), (Phase::CreateStreams, &[state::CREATE_STREAMS][..]));
/// assert_eq!(c.params().streams, 2);
/// ```
#[derive(Debug)]
pub struct Control<const BUF: usize> {
    phase: Phase,
    max_streams: u16,
    cookie: [u8; COOKIE_SIZE],
    /// Bytes of the current item (cookie, length, body) received.
    got: usize,
    len: [u8; 4],
    /// The current body's length.
    want: usize,
    params: Params,
    buf: [u8; BUF],
    /// Output: `buf[out_pos..out_len]` is still to be sent.
    out_pos: usize,
    out_len: usize,
    start: Instant,
    end: Instant,
}

impl<const BUF: usize> Control<BUF> {
    /// A control connection that has received nothing yet; a test of more
    /// than `max_streams` data connections is refused.
    ///
    /// ```
    /// use layernet::app::iperf3::control::{Control, Phase};
    /// const IDLE: Control<256> = Control::new(4);
    /// assert_eq!(IDLE.phase(), Phase::Cookie);
    /// ```
    pub const fn new(max_streams: u16) -> Self {
        Control {
            phase: Phase::Cookie,
            max_streams,
            cookie: [0; COOKIE_SIZE],
            got: 0,
            len: [0; 4],
            want: 0,
            params: Params {
                reverse: false,
                streams: 0,
                duration: 0,
                bytes: 0,
                udp: false,
                rate: 0,
                len: 0,
                counters64: false,
            },
            buf: [0; BUF],
            out_pos: 0,
            out_len: 0,
            start: Instant::ZERO,
            end: Instant::ZERO,
        }
    }

    /// Where it stands.
    ///
    /// ```
    /// use layernet::app::iperf3::control::{Control, Phase};
    /// let mut c = Control::<64>::new(1);
    /// c.take(&[b'k'; 37], layernet::Instant::ZERO);
    /// assert_eq!(c.phase(), Phase::ParamLen);
    /// ```
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The parameters (meaningful from [`Phase::CreateStreams`] on).
    ///
    /// ```
    /// use layernet::app::iperf3::control::Control;
    /// let mut c = Control::<64>::new(4);
    /// c.take(&[b'k'; 37], layernet::Instant::ZERO);
    /// c.sent(1);
    /// let p = br#"{"reverse":true,"parallel":3,"time":7}"#;
    /// c.take(&(p.len() as u32).to_be_bytes(), layernet::Instant::ZERO);
    /// c.take(p, layernet::Instant::ZERO);
    /// assert_eq!((c.params().reverse, c.params().streams, c.params().duration), (true, 3, 7));
    /// ```
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Whether `cookie` is this test's (a data connection's first bytes).
    ///
    /// ```
    /// use layernet::app::iperf3::control::Control;
    /// let mut c = Control::<64>::new(1);
    /// c.take(&[b'x'; 37], layernet::Instant::ZERO);
    /// assert!(c.is_cookie(&[b'x'; 37]) && !c.is_cookie(&[b'y'; 37]));
    /// ```
    pub fn is_cookie(&self, cookie: &[u8; COOKIE_SIZE]) -> bool {
        self.phase != Phase::Cookie && &self.cookie == cookie
    }

    /// Bytes to send to the client now.
    ///
    /// ```
    /// use layernet::app::iperf3::control::{Control, state};
    /// let mut c = Control::<64>::new(1);
    /// assert!(c.pending().is_empty());
    /// c.take(&[b'k'; 37], layernet::Instant::ZERO);
    /// assert_eq!(c.pending(), [state::PARAM_EXCHANGE]);
    /// ```
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.out_pos..self.out_len]
    }

    /// `n` bytes of [`Control::pending`] were sent.
    ///
    /// ```
    /// use layernet::app::iperf3::control::Control;
    /// let mut c = Control::<64>::new(1);
    /// c.take(&[b'k'; 37], layernet::Instant::ZERO);
    /// c.sent(1);
    /// assert!(c.pending().is_empty());
    /// ```
    pub fn sent(&mut self, n: usize) {
        self.out_pos = (self.out_pos + n).min(self.out_len);
        if self.out_pos == self.out_len {
            self.out_pos = 0;
            self.out_len = 0;
        }
    }

    /// Queue `bytes` for the client; false if they do not fit.
    fn push(&mut self, bytes: &[u8]) -> bool {
        let end = self.out_len + bytes.len();
        match self.buf.get_mut(self.out_len..end) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.out_len = end;
                true
            }
            None => false,
        }
    }

    /// Refuse with SERVER_ERROR and iperf3's error number `code` (see
    /// [`errno`]), and end the test once that is sent.
    ///
    /// ```
    /// use layernet::app::iperf3::control::{errno, state, Control, Phase};
    /// let mut c = Control::<64>::new(1);
    /// c.fail(errno::IESTREAMLISTEN);
    /// assert_eq!((c.phase(), c.pending()[0]), (Phase::Failed, state::SERVER_ERROR));
    /// ```
    pub fn fail(&mut self, code: u32) {
        self.out_pos = 0;
        self.out_len = 0;
        let mut msg = [0u8; 9];
        msg[0] = state::SERVER_ERROR;
        msg[1..5].copy_from_slice(&code.to_be_bytes());
        // `errno` 0: the client prints iperf3's message alone.
        self.push(&msg);
        self.phase = Phase::Failed;
    }

    /// Take what the client sent; returns how many bytes were used (the
    /// rest is for later, or, once the test is over, not iperf3's). Takes
    /// nothing while output is pending: the client speaks only after the
    /// server's last state byte, and the buffer then serves the input.
    ///
    /// ```
    /// use layernet::app::iperf3::control::Control;
    /// let mut c = Control::<64>::new(1);
    /// // The cookie is taken; what follows waits until PARAM_EXCHANGE is sent.
    /// assert_eq!(c.take(&[b'k'; 40], layernet::Instant::ZERO), 37);
    /// ```
    pub fn take(&mut self, input: &[u8], now: Instant) -> usize {
        let mut used = 0;
        while used < input.len() && self.out_len == 0 {
            let rest = &input[used..];
            let n = match self.phase {
                Phase::Cookie => {
                    let n = rest.len().min(COOKIE_SIZE - self.got);
                    self.cookie[self.got..self.got + n].copy_from_slice(&rest[..n]);
                    self.got += n;
                    if self.got == COOKIE_SIZE {
                        self.got = 0;
                        self.phase = Phase::ParamLen;
                        self.push(&[state::PARAM_EXCHANGE]);
                    }
                    n
                }
                Phase::ParamLen | Phase::ResultsLen => {
                    let n = rest.len().min(4 - self.got);
                    self.len[self.got..self.got + n].copy_from_slice(&rest[..n]);
                    self.got += n;
                    if self.got == 4 {
                        self.got = 0;
                        // A length past the address space is as refused as
                        // one past the buffer.
                        self.want =
                            usize::try_from(u32::from_be_bytes(self.len)).unwrap_or(usize::MAX);
                        if self.phase == Phase::ParamLen {
                            if self.want > BUF {
                                self.fail(errno::IEUNIMP);
                            } else {
                                self.phase = Phase::Params;
                                self.params_if_complete();
                            }
                        } else {
                            self.phase = Phase::Results;
                            self.results_if_skipped();
                        }
                    }
                    n
                }
                Phase::Params => {
                    let n = rest.len().min(self.want - self.got);
                    self.buf[self.got..self.got + n].copy_from_slice(&rest[..n]);
                    self.got += n;
                    self.params_if_complete();
                    n
                }
                Phase::Results => {
                    // The client's own figures: the server has its own and
                    // keeps nothing of these.
                    let n = rest.len().min(self.want - self.got);
                    self.got += n;
                    self.results_if_skipped();
                    n
                }
                Phase::CreateStreams | Phase::Running => {
                    match rest[0] {
                        state::TEST_END if self.phase == Phase::Running => {
                            self.end = now;
                            self.phase = Phase::ResultsLen;
                            self.push(&[state::EXCHANGE_RESULTS]);
                        }
                        // CLIENT_TERMINATE, or anything iperf3 never sends.
                        _ => self.phase = Phase::Failed,
                    }
                    1
                }
                Phase::AwaitDone => {
                    self.phase = if rest[0] == state::IPERF_DONE {
                        Phase::Finished
                    } else {
                        Phase::Failed
                    };
                    1
                }
                Phase::WriteResults | Phase::Finished | Phase::Failed => break,
            };
            used += n;
        }
        used
    }

    fn params_if_complete(&mut self) {
        if self.got < self.want {
            return;
        }
        self.got = 0;
        let j = &self.buf[..self.want];
        let flag = |key| json::field(j, key).is_some_and(|v| v.is_true());
        let number = |key| json::field(j, key).and_then(|v| v.as_i64()).unwrap_or(0);
        if flag("sctp") || flag("bidirectional") {
            return self.fail(errno::IEUNIMP);
        }
        let streams = number("parallel").max(1);
        if streams > i64::from(self.max_streams) {
            return self.fail(errno::IENUMSTREAMS);
        }
        let len = u64::try_from(number("len")).unwrap_or(0);
        let blocks = u64::try_from(number("blockcount")).unwrap_or(0);
        let bytes = u64::try_from(number("num")).unwrap_or(0);
        self.params = Params {
            reverse: flag("reverse"),
            // In range: checked against `max_streams` just above.
            streams: u16::try_from(streams).unwrap_or(1),
            duration: u32::try_from(number("time")).unwrap_or(0),
            bytes: if bytes == 0 {
                blocks.saturating_mul(len)
            } else {
                bytes
            },
            udp: flag("udp"),
            rate: u64::try_from(number("bandwidth")).unwrap_or(0),
            len: u32::try_from(len).unwrap_or(u32::MAX),
            counters64: flag("udp_counters_64bit"),
        };
        self.want = 0;
        self.phase = Phase::CreateStreams;
        self.push(&[state::CREATE_STREAMS]);
    }

    fn results_if_skipped(&mut self) {
        if self.got >= self.want {
            self.got = 0;
            self.phase = Phase::WriteResults;
        }
    }

    /// Every data connection is there: start the test at `now`.
    ///
    /// ```
    /// use layernet::app::iperf3::control::{Control, Phase};
    /// let mut c = Control::<64>::new(1);
    /// c.streams_ready(layernet::Instant::ZERO);
    /// assert_eq!(c.phase(), Phase::Cookie, "only once the streams were asked for");
    /// ```
    pub fn streams_ready(&mut self, now: Instant) {
        if self.phase == Phase::CreateStreams {
            self.start = now;
            self.phase = Phase::Running;
            self.push(&[state::TEST_START, state::TEST_RUNNING]);
        }
    }

    /// The test's length, TEST_START to TEST_END, in milliseconds.
    ///
    /// ```
    /// use layernet::app::iperf3::control::Control;
    /// assert_eq!(Control::<64>::new(1).elapsed_ms(), 0);
    /// ```
    pub fn elapsed_ms(&self) -> u64 {
        (self.end - self.start).total_millis()
    }

    /// Queue the server's results (one entry per data stream) and
    /// DISPLAY_RESULTS. A result too large for the buffer is a
    /// SERVER_ERROR instead.
    ///
    /// ```
    /// use layernet::app::iperf3::control::{Control, Phase};
    /// let mut c = Control::<512>::new(2);
    /// assert!(!c.write_results(&[Default::default()]), "not yet asked for");
    /// assert_eq!(c.phase(), Phase::Cookie);
    /// ```
    pub fn write_results(&mut self, streams: &[StreamResult]) -> bool {
        if self.phase != Phase::WriteResults {
            return false;
        }
        let ms = self.elapsed_ms();
        let sender = self.params.reverse;
        // Header (4 bytes) first, filled in once the length is known.
        let written = {
            let mut w = Writer::new(self.buf.get_mut(4..).unwrap_or(&mut []));
            let ok = results_json(&mut w, streams, sender, ms).is_ok();
            ok.then_some(w.len())
        };
        let Some(n) = written.filter(|n| 4 + n < BUF) else {
            self.fail(errno::IEUNIMP);
            return false;
        };
        // `n` fits in the buffer, so in a u32.
        self.buf[..4].copy_from_slice(&u32::try_from(n).unwrap_or(0).to_be_bytes());
        self.buf[4 + n] = state::DISPLAY_RESULTS;
        self.out_pos = 0;
        self.out_len = 4 + n + 1;
        self.phase = Phase::AwaitDone;
        true
    }
}

/// iperf3's `send_results`: the fields its peer requires (`get_results`
/// refuses a result without any of them), zero for what is not measured
/// here (CPU, retransmissions). `sender`: these are the figures of the
/// side that sent; `ms`: the test's length. The server and the host's
/// client both send it.
///
/// ```
/// use layernet::app::iperf3::control::{results_json, StreamResult};
/// use layernet::app::iperf3::json::{field, Writer};
/// let mut buf = [0u8; 256];
/// let mut w = Writer::new(&mut buf);
/// let one = StreamResult { bytes: 10, ..Default::default() };
/// results_json(&mut w, &[one], true, 1500)?;
/// assert_eq!(field(w.written(), "sender_has_retransmits").and_then(|v| v.as_i64()), Some(0));
/// # Ok::<(), core::fmt::Error>(())
/// ```
pub fn results_json(
    w: &mut Writer<'_>,
    streams: &[StreamResult],
    sender: bool,
    ms: u64,
) -> core::fmt::Result {
    write!(
        w,
        "{{\"cpu_util_total\":0,\"cpu_util_user\":0,\"cpu_util_system\":0,\
         \"sender_has_retransmits\":{},\"streams\":[",
        if sender { 0 } else { -1 }
    )?;
    for (i, s) in streams.iter().enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        write!(
            w,
            "{{\"id\":{},\"bytes\":{},\"retransmits\":-1,\"jitter\":{}.{:09},\"errors\":{},\
             \"packets\":{},\"start_time\":0,\"end_time\":{}.{:03}}}",
            stream_id(i),
            s.bytes,
            s.jitter_ns / 1_000_000_000,
            s.jitter_ns % 1_000_000_000,
            s.errors,
            s.packets,
            ms / 1000,
            ms % 1000
        )?;
    }
    w.write_str("]}")
}

/// The id iperf3 gives the `i`-th stream of a test (from 0): 1, 3, 4, 5...
/// (`iperf_add_stream` counts from 2 and adds one per stream already
/// there), on both sides alike; the client matches results by it.
///
/// ```
/// use layernet::app::iperf3::control::stream_id;
/// assert_eq!([0, 1, 2, 3].map(stream_id), [1, 3, 4, 5]);
/// ```
pub fn stream_id(i: usize) -> usize {
    if i == 0 { 1 } else { i + 2 }
}

#[cfg(test)]
mod tests {
    use super::{COOKIE_SIZE, Control, Phase, state};
    use crate::app::iperf3::json;
    use smoltcp::time::Instant;

    fn framed(json: &[u8]) -> ([u8; 256], usize) {
        let mut out = [0u8; 256];
        out[..4].copy_from_slice(&(json.len() as u32).to_be_bytes());
        out[4..4 + json.len()].copy_from_slice(json);
        (out, 4 + json.len())
    }

    /// Feed `input` a byte at a time, sending the output as it comes.
    fn trickle<const B: usize>(
        c: &mut Control<B>,
        input: &[u8],
        now: Instant,
        out: &mut [u8; 1024],
        n: &mut usize,
    ) {
        for b in input {
            let p = c.pending().len();
            out[*n..*n + p].copy_from_slice(c.pending());
            *n += p;
            c.sent(p);
            assert_eq!(c.take(core::slice::from_ref(b), now), 1, "{:?}", c.phase());
        }
        let p = c.pending().len();
        out[*n..*n + p].copy_from_slice(c.pending());
        *n += p;
        c.sent(p);
    }

    #[test]
    fn a_whole_test_byte_by_byte() {
        let mut c = Control::<512>::new(4);
        let mut out = [0u8; 1024];
        let mut n = 0;
        trickle(
            &mut c,
            &[b'k'; COOKIE_SIZE],
            Instant::ZERO,
            &mut out,
            &mut n,
        );
        let (p, len) = framed(br#"{"tcp":true,"time":2,"parallel":2,"reverse":true,"len":131072}"#);
        trickle(&mut c, &p[..len], Instant::ZERO, &mut out, &mut n);
        assert_eq!(&out[..n], [state::PARAM_EXCHANGE, state::CREATE_STREAMS]);
        assert!(c.params().reverse && c.params().streams == 2 && c.params().duration == 2);
        c.streams_ready(Instant::from_millis(10));
        trickle(
            &mut c,
            &[state::TEST_END],
            Instant::from_millis(2_010),
            &mut out,
            &mut n,
        );
        let (r, len) = framed(br#"{"cpu_util_total":1,"streams":[{"id":1}]}"#);
        trickle(
            &mut c,
            &r[..len],
            Instant::from_millis(2_020),
            &mut out,
            &mut n,
        );
        assert_eq!(c.phase(), Phase::WriteResults);
        let r = |bytes| super::StreamResult {
            bytes,
            ..Default::default()
        };
        assert!(c.write_results(&[r(100), r(200)]));
        let tail = c.pending();
        let body = &tail[4..tail.len() - 1];
        assert_eq!(
            u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]) as usize,
            body.len()
        );
        assert_eq!(tail.last(), Some(&state::DISPLAY_RESULTS));
        assert_eq!(
            json::field(body, "sender_has_retransmits").and_then(|v| v.as_i64()),
            Some(0)
        );
        let streams = core::str::from_utf8(body).unwrap_or("");
        assert!(streams.contains(r#"{"id":3,"bytes":200,"#), "{streams}");
        assert!(streams.contains(r#""end_time":2.000}"#), "{streams}");
        let p = c.pending().len();
        c.sent(p);
        assert_eq!(c.take(&[16], Instant::from_millis(2_030)), 1);
        assert_eq!(c.phase(), Phase::Finished);
    }

    #[test]
    fn refusals_are_server_errors() {
        for (params, code) in [
            (&br#"{"tcp":true,"parallel":9}"#[..], 6u32),
            (br#"{"tcp":true,"bidirectional":true}"#, 13),
        ] {
            let mut c = Control::<512>::new(8);
            c.take(&[b'k'; COOKIE_SIZE], Instant::ZERO);
            c.sent(1);
            let (p, len) = framed(params);
            c.take(&p[..len], Instant::ZERO);
            assert_eq!(c.phase(), Phase::Failed);
            let mut want = [0u8; 9];
            want[0] = state::SERVER_ERROR;
            want[1..5].copy_from_slice(&code.to_be_bytes());
            assert_eq!(c.pending(), want);
        }
    }

    #[test]
    fn a_huge_length_is_refused_not_awaited() {
        let mut c = Control::<64>::new(1);
        c.take(&[b'k'; COOKIE_SIZE], Instant::ZERO);
        c.sent(1);
        c.take(&[0xFF, 0xFF, 0xFF, 0xFF], Instant::ZERO);
        assert_eq!(c.phase(), Phase::Failed);
    }

    #[test]
    fn unexpected_bytes_end_the_test() {
        let mut c = Control::<64>::new(1);
        c.take(&[b'k'; COOKIE_SIZE], Instant::ZERO);
        c.sent(1);
        let (p, len) = framed(br#"{"tcp":true}"#);
        c.take(&p[..len], Instant::ZERO);
        c.sent(1);
        assert_eq!(c.take(&[state::CLIENT_TERMINATE], Instant::ZERO), 1);
        assert_eq!(c.phase(), Phase::Failed);
    }
}
