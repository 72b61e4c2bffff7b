//! A live view of the stack on the file service's port: `/_stack` is a
//! page that asks `/_stack.json` twice a second and shows the counters of
//! each layer (with their rates), each service's bytes, and the socket
//! table (each TCP connection's state, ends, queues and window; the UDP
//! ports). The JSON is written from the stack when asked, in pieces that
//! each fit the connection's output buffer, one TCP row a piece; the page
//! is a constant. The same policy as the listing applies
//! (`--auth-reads`). Those two names are the view's, not files'.
//!
//! Layer: app. Depends on [`crate::net::Stack`]'s counters and socket
//! table; no heap.

use core::fmt::Write;

use crate::net::{Stack, Transport};

/// The page's path.
pub(super) const PAGE: &str = "/_stack";
/// The figures' path.
pub(super) const JSON: &str = "/_stack.json";

/// Where a live response's body stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Stage {
    /// The page, whole.
    Page,
    /// The JSON's head: the time and the counters.
    Head,
    /// The services' bytes and the UDP ports.
    Apps,
    /// TCP pool entry `next` on; `first` while no row has been written.
    /// The JSON's end follows the last row.
    Rows { next: usize, first: bool },
}

const PAGE_HTML: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>layernet: the stack, live</title>\n<style>\n\
body{font:14px/1.35 system-ui,sans-serif;margin:1.2em}\n\
table{border-collapse:collapse;margin:.4em 1.5em .8em 0;display:inline-table;vertical-align:top}\n\
th,td{padding:.15em .6em;border-bottom:1px solid #ccc;text-align:left}\n\
td.n{text-align:right;font-variant-numeric:tabular-nums}\n\
caption{font-weight:bold;text-align:left}\n\
</style></head>\n<body><h1>The stack, live</h1><p id=\"at\">waiting for the first figures</p>\n\
<div id=\"layers\"></div><h2>Services</h2><div id=\"apps\"></div><h2>Sockets</h2><div id=\"socks\"></div>\n<script>\n\
let last=null;\n\
function cell(t,n){const d=document.createElement('td');d.textContent=t;if(n)d.className='n';return d}\n\
function table(cap,head,rows){const t=document.createElement('table');const c=t.createCaption();c.textContent=cap;\
const h=t.insertRow();head.forEach(x=>{const th=document.createElement('th');th.textContent=x;h.append(th)});\
rows.forEach(r=>{const tr=t.insertRow();r.forEach((x,i)=>tr.append(cell(x,i>0&&typeof x=='number')))});return t}\n\
function show(s){const dt=last?(s.now_ms-last.now_ms)/1000:0,was={};if(last)last.counters.forEach(c=>was[c[1]]=c[2]);\
const by={};s.counters.forEach(c=>{(by[c[0]]=by[c[0]]||[]).push([c[1],c[2],dt>0&&c[1] in was?Math.round((c[2]-was[c[1]])/dt):''])});\
const L=document.getElementById('layers');L.replaceChildren(...Object.keys(by).map(k=>table(k,['counter','value','per s'],by[k])));\
document.getElementById('apps').replaceChildren(table('by port',['port','transport','connections','bytes in','bytes out'],s.apps));\
document.getElementById('socks').replaceChildren(table('TCP',['state','local','remote','send queue','recv queue','window'],s.tcp),\
table('UDP',['port'],s.udp.map(p=>[p])));\
document.getElementById('at').textContent='up '+(s.now_ms/1000).toFixed(1)+' s';last=s}\n\
function tick(){const x=new XMLHttpRequest();x.open('GET','_stack.json');x.setRequestHeader('X-Requested-With','XMLHttpRequest');\
x.onload=()=>{if(x.status==200)show(JSON.parse(x.responseText));setTimeout(tick,500)};x.onerror=()=>setTimeout(tick,2000);x.send()}\n\
tick();\n</script></body></html>\n";

/// Write the piece at `stage` into `w`; the stage after it, or `None` at
/// the end.
pub(super) fn piece(stage: Stage, stack: &Stack<'_>, w: &mut impl Write) -> Option<Stage> {
    match stage {
        Stage::Page => {
            let _ = w.write_str(PAGE_HTML);
            None
        }
        Stage::Head => {
            let _ = head(stack, w);
            Some(Stage::Apps)
        }
        Stage::Apps => {
            let _ = apps(stack, w);
            Some(Stage::Rows {
                next: 0,
                first: true,
            })
        }
        Stage::Rows { mut next, first } => {
            while next < stack.tcp_slots() {
                let index = next;
                next += 1;
                if let Some(row) = stack.tcp_row(index) {
                    let _ = write!(
                        w,
                        "{}[\"{}\",\"{}\",\"{}\",{},{},{}]",
                        if first { "" } else { "," },
                        row.state,
                        Ends(row.local),
                        Ends(row.remote),
                        row.send_queue,
                        row.recv_queue,
                        row.window
                    );
                    return Some(Stage::Rows { next, first: false });
                }
            }
            // No more rows: the end goes in this piece, so that every
            // piece has bytes (an empty one would end the body early).
            let _ = w.write_str("]}\n");
            None
        }
    }
}

/// An endpoint for JSON: `addr:port`, IPv6 in brackets, `-` if none.
struct Ends(Option<smoltcp::wire::IpEndpoint>);

impl core::fmt::Display for Ends {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(ep) => write!(f, "{}", crate::socket::EndpointText(ep)),
            None => f.write_str("-"),
        }
    }
}

fn head(stack: &Stack<'_>, w: &mut impl Write) -> core::fmt::Result {
    write!(
        w,
        "{{\"now_ms\":{},\"counters\":[",
        stack.now().total_millis()
    )?;
    let mut first = true;
    let mut result = Ok(());
    stack.counters().each(&mut |layer, name, value| {
        let comma = if first { "" } else { "," };
        first = false;
        result = result.and(write!(w, "{comma}[\"{layer}\",\"{name}\",{value}]"));
    });
    result?;
    w.write_str("],")
}

fn apps(stack: &Stack<'_>, w: &mut impl Write) -> core::fmt::Result {
    w.write_str("\"apps\":[")?;
    for (i, a) in stack.app_counters().iter().enumerate() {
        let transport = match a.transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        };
        write!(
            w,
            "{}[{},\"{transport}\",{},{},{}]",
            if i == 0 { "" } else { "," },
            a.port,
            a.connections,
            a.bytes_in,
            a.bytes_out
        )?;
    }
    w.write_str("],\"udp\":[")?;
    for (i, port) in stack.udp_ports().enumerate() {
        write!(w, "{}{port}", if i == 0 { "" } else { "," })?;
    }
    w.write_str("],\"tcp\":[")
}

/// The page's size: what a board's flash holds of the live view.
///
/// ```
/// use layernet::app::files::live_page_bytes;
/// assert!(live_page_bytes() < 2500);
/// ```
pub fn live_page_bytes() -> usize {
    PAGE_HTML.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::files::OUT_BUFFER;

    #[test]
    fn the_page_fits_the_output_buffer() {
        assert!(PAGE_HTML.len() <= OUT_BUFFER - 15, "{}", PAGE_HTML.len());
    }
}
