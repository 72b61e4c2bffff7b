//! A live view of the stack on the file service's port: `/_stack` is a
//! page that asks `/_stack.json` twice a second and shows the counters of
//! each layer (with their rates), each service's bytes, the socket table
//! (each TCP connection's state, ends, queues and window; the UDP ports),
//! the ARP and NDP neighbours, and the last frames as a ladder that
//! scrolls as frames come. The JSON is written from the stack when asked,
//! in pieces that each fit the connection's output buffer, one TCP row or
//! one frame a piece; the page is a constant, sent in pieces too. The same policy as the listing applies
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
    /// The page, from byte `at` on.
    Page { at: usize },
    /// The JSON's head: the time and the counters.
    Head,
    /// The services' bytes and the UDP ports.
    Apps,
    /// The neighbours.
    Neighbors,
    /// The recent frames after the one numbered `after` (the last one
    /// written; 0 before the first); `first` while none has been written.
    Frames { after: u32, first: bool },
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
<div id=\"layers\"></div><h2>Services</h2><div id=\"apps\"></div><h2>Sockets</h2><div id=\"socks\"></div>\n\
<h2>Neighbours</h2><div id=\"nbrs\"></div><h2>Last frames</h2><div id=\"lad\" style=\"max-height:26em;overflow:auto\"></div>\n<script>\n\
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
document.getElementById('nbrs').replaceChildren(table('ARP and NDP cache',['address','MAC','seen s ago'],s.neighbors.map(n=>[n[0],n[1],+(n[2]/1000).toFixed(1)])));\
ladder(s.frames);document.getElementById('at').textContent='up '+(s.now_ms/1000).toFixed(1)+' s';last=s}\n\
let fr=[],seenId=0;const NS='http://www.w3.org/2000/svg';\n\
function el(n,a,t){const e=document.createElementNS(NS,n);for(const k in a)e.setAttribute(k,a[k]);if(t)e.textContent=t;return e}\n\
function ladder(fs){fs.forEach(f=>{if(f[0]>seenId||seenId-f[0]>1e9){fr.push(f);seenId=f[0]}});fr=fr.slice(-80);\
const H=22,W=760,g=el('svg',{width:W,height:fr.length*H+30,'font-size':12});\
g.append(el('text',{x:110,y:14,'text-anchor':'middle'},'this stack'),el('text',{x:W-50,y:14,'text-anchor':'middle'},'peers'));\
[110,W-50].forEach(x=>g.append(el('line',{x1:x,y1:20,x2:x,y2:fr.length*H+30,stroke:'#888'})));\
fr.forEach((f,i)=>{const y=38+i*H,tx=f[2]=='tx',a=tx?110:W-50,b=tx?W-50:110;\
g.append(el('text',{x:2,y:y},'+'+((f[1]-fr[0][1])/1000).toFixed(3)),el('line',{x1:a,y1:y,x2:b,y2:y,stroke:'#000','stroke-dasharray':tx?'':'5 3'}),\
el('path',{d:'M'+b+' '+y+'l'+(tx?-7:7)+' -4v8z'}),el('text',{x:(W+60)/2,y:y-4,'text-anchor':'middle'},f[3]+'  '+f[4]))});\
const L=document.getElementById('lad'),end=L.scrollTop+L.clientHeight>=L.scrollHeight-5;L.replaceChildren(g);if(end)L.scrollTop=L.scrollHeight}\n\
function tick(){const x=new XMLHttpRequest();x.open('GET','_stack.json');x.setRequestHeader('X-Requested-With','XMLHttpRequest');\
x.onload=()=>{if(x.status==200)show(JSON.parse(x.responseText));setTimeout(tick,500)};x.onerror=()=>setTimeout(tick,2000);x.send()}\n\
tick();\n</script></body></html>\n";

/// Write the piece at `stage` into `w`; the stage after it, or `None` at
/// the end.
pub(super) fn piece(stage: Stage, stack: &Stack<'_>, w: &mut impl Write) -> Option<Stage> {
    match stage {
        Stage::Page { at } => {
            // Pieces end on a character boundary (the page is ASCII, so
            // each is one) and fit the output buffer.
            let mut end = PAGE_HTML.len().min(at + PAGE_PIECE);
            while !PAGE_HTML.is_char_boundary(end) {
                end -= 1;
            }
            let _ = w.write_str(PAGE_HTML.get(at..end).unwrap_or(""));
            (end < PAGE_HTML.len()).then_some(Stage::Page { at: end })
        }
        Stage::Head => {
            let _ = head(stack, w);
            Some(Stage::Apps)
        }
        Stage::Apps => {
            let _ = apps(stack, w);
            Some(Stage::Neighbors)
        }
        Stage::Neighbors => {
            let _ = neighbors(stack, w);
            Some(Stage::Frames {
                after: 0,
                first: true,
            })
        }
        Stage::Frames { after, first } => {
            // Frames noted while the JSON is written are left for the next
            // ask; a number past `after` (mod 2^32) is one not written yet.
            let newer = |id: u32| first || (id.wrapping_sub(after) as i32) > 0;
            match stack.recent_frames().find(|f| newer(f.id)) {
                Some(f) => {
                    let direction = match f.direction {
                        crate::net::Direction::Rx => "rx",
                        crate::net::Direction::Tx => "tx",
                    };
                    let _ = write!(
                        w,
                        "{}[{},{},\"{direction}\",\"",
                        if first { "" } else { "," },
                        f.id,
                        f.at.total_millis()
                    );
                    let _ = match f.peer {
                        Some(ip) => write!(w, "{ip}"),
                        None => w.write_str("-"),
                    };
                    let _ = write!(w, "\",\"{f}\"]");
                    Some(Stage::Frames {
                        after: f.id,
                        first: false,
                    })
                }
                None => {
                    let _ = w.write_str("],\"tcp\":[");
                    Some(Stage::Rows {
                        next: 0,
                        first: true,
                    })
                }
            }
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
    w.write_str("],")
}

fn neighbors(stack: &Stack<'_>, w: &mut impl Write) -> core::fmt::Result {
    w.write_str("\"neighbors\":[")?;
    let now = stack.now();
    for (i, n) in stack.neighbors().enumerate() {
        let m = n.mac.0;
        write!(
            w,
            "{}[\"{}\",\"{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\",{}]",
            if i == 0 { "" } else { "," },
            n.ip,
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            (now - n.seen).total_millis()
        )?;
    }
    w.write_str("],\"frames\":[")
}

/// The page is sent in pieces of this many bytes at most: each fits the
/// connection's output buffer with room for its chunk framing.
const PAGE_PIECE: usize = 2048;

/// The page's size: what a board's flash holds of the live view.
///
/// ```
/// use layernet::app::files::live_page_bytes;
/// assert!(live_page_bytes() < 4096);
/// ```
pub fn live_page_bytes() -> usize {
    PAGE_HTML.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::files::OUT_BUFFER;

    #[test]
    fn a_piece_of_the_page_fits_the_output_buffer() {
        const { assert!(PAGE_PIECE <= OUT_BUFFER - 15) };
        assert!(PAGE_HTML.is_ascii());
    }
}
