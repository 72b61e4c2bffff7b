//! The listing as a page for a browser: a table of names, sizes and
//! modification times that sorts, and, when the policy lets anyone or some
//! users write, upload (drag-and-drop or a file picker, a progress bar per
//! file) and delete (after a confirmation). Without JavaScript the page
//! still lists and downloads; with writes off it has no upload controls.
//! No external assets: the whole page is these constants, a few KB in the
//! flash of a board, streamed in pieces that each fit the output buffer.
//!
//! Layer: app. Depends on `core`, this service's `http` escaping and the
//! policy's [`Access`]; nothing host-side, no heap.

use core::fmt::Write;

use super::http::write_html;
use super::policy::Access;
use super::write_url;
use crate::app::clock::DateTime;

/// Where a page's body stands: before the rows, at the rows, or at one of
/// the pieces after them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Stage {
    Top,
    Rows,
    Tail(u8),
}

/// The head, its style, and the body up to the table's rows. `{W}` in
/// `BODY_OPEN` is not a format: the attribute is written apart.
const HEAD: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\"><title>layernet files</title>\n<style>\n\
body{font:15px/1.4 system-ui,sans-serif;margin:1.5em;max-width:60em}\n\
table{border-collapse:collapse;width:100%}\n\
th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #ccc}\n\
th{cursor:pointer;user-select:none}\n\
td.n{text-align:right;font-variant-numeric:tabular-nums}\n\
#drop{border:2px dashed #888;padding:1em;margin:1em 0}\n\
#drop.over{border-style:solid}\n\
#msgs div{margin:.3em 0}\n\
.err{font-weight:bold}\n\
progress{width:12em;vertical-align:middle}\n\
</style></head>\n";

/// The upload form: a file picker and the drop zone around it. Credential
/// fields only when writes need a user (`AUTH`).
const UPLOAD_OPEN: &str = "<form id=\"drop\" onsubmit=\"return false\">\
<p>Drop files here, or <input type=\"file\" id=\"pick\" multiple> \
(each is sent as a PUT; a file of the same name is replaced)</p>\n";
const AUTH: &str = "<p><label>User <input id=\"user\" autocomplete=\"username\"></label> \
<label>Password <input id=\"pass\" type=\"password\" autocomplete=\"current-password\"></label></p>\n";
const UPLOAD_CLOSE: &str = "</form>\n<div id=\"msgs\" role=\"status\"></div>\n";

const TABLE_OPEN: &str = "<table id=\"files\"><thead><tr>\
<th data-k=\"t\">Name</th><th data-k=\"n\">Size (bytes)</th><th data-k=\"n\">Modified (UTC)</th>";

/// Sorting by a click on a column's head, by the cells' `data-v`.
const SORT_JS: &str = "<script>\n\
document.querySelectorAll('#files th[data-k]').forEach((th,i)=>{let up=true;th.onclick=()=>{\
const tb=document.querySelector('#files tbody'),n=th.dataset.k=='n';\
const key=r=>n?Number(r.cells[i].dataset.v||0):r.cells[i].textContent.toLowerCase();\
[...tb.rows].sort((a,b)=>{const x=key(a),y=key(b);return (x<y?-1:x>y?1:0)*(up?1:-1)}).forEach(r=>tb.append(r));\
up=!up}});\n</script>\n";

/// Uploads with a progress bar each, deletes after a confirmation, and a
/// message that says why when the server refuses (its one-line body) or
/// the connection breaks. When the uploads are over the table is fetched
/// again and swapped in, so the messages and the credentials stay.
const WRITE_JS: &str = "<script>\n\
const msgs=document.getElementById('msgs'),drop=document.getElementById('drop');\n\
function say(t,err){const d=document.createElement('div');d.textContent=t;if(err)d.className='err';msgs.append(d);return d}\n\
function auth(x){x.setRequestHeader('X-Requested-With','XMLHttpRequest');const u=document.getElementById('user');if(!u)return;\
const s=u.value+':'+document.getElementById('pass').value;\
x.setRequestHeader('Authorization','Basic '+btoa(String.fromCharCode(...new TextEncoder().encode(s))))}\n\
function why(x){return x.status?(x.responseText.trim()||x.status+' '+x.statusText):'the connection was lost'}\n\
let busy=0,failed=0;\n\
function put(f){const d=say(f.name+' ');const p=document.createElement('progress');p.max=f.size||1;p.value=0;d.append(p);\
const x=new XMLHttpRequest();x.open('PUT',encodeURIComponent(f.name));auth(x);busy++;\
x.upload.onprogress=e=>{p.value=e.loaded};\
const end=ok=>{busy--;if(!ok)failed++;if(!busy)refresh()};\
x.onload=()=>{if(x.status<300){p.value=p.max;d.append(' uploaded');end(true)}else{d.className='err';d.append(' failed: '+why(x));end(false)}};\
x.onerror=()=>{d.className='err';d.append(' failed: '+why(x));end(false)};x.send(f)}\n\
function all(fs){failed=0;[...fs].forEach(put)}\n\
document.getElementById('pick').onchange=e=>{all(e.target.files);e.target.value=''};\n\
drop.ondragover=e=>{e.preventDefault();drop.className='over'};\
drop.ondragleave=()=>{drop.className=''};\
drop.ondrop=e=>{e.preventDefault();drop.className='';all(e.dataTransfer.files)};\n\
function refresh(){const x=new XMLHttpRequest();x.open('GET',location.pathname);auth(x);x.setRequestHeader('Accept','text/html');\
x.onload=()=>{const t=new DOMParser().parseFromString(x.responseText,'text/html').querySelector('#files tbody');\
if(t){document.querySelector('#files tbody').replaceWith(t);bind()}};x.send()}\n\
function bind(){document.querySelectorAll('button.del').forEach(b=>b.onclick=()=>{\
const a=b.closest('tr').querySelector('a'),name=a.textContent;if(!confirm('Delete '+name+'?'))return;\
const x=new XMLHttpRequest();x.open('DELETE',a.getAttribute('href'));auth(x);\
x.onload=()=>{if(x.status<300)b.closest('tr').remove();else say('Delete '+name+' failed: '+why(x),true)};\
x.onerror=()=>say('Delete '+name+' failed: '+why(x),true);x.send()})}\nbind();\n\
</script>\n";

const TAIL_END: &str = "</body></html>\n";

/// Write the piece of the page at `stage` (not a row) into `w`; the stage
/// that follows, or `None` at the end of the page.
pub(super) fn piece(stage: Stage, writes: Access, w: &mut impl Write) -> Option<Stage> {
    let writable = writes != Access::Nobody;
    match stage {
        Stage::Top => {
            let _ = w.write_str(HEAD);
            let _ = w.write_str("<body><h1>layernet files</h1>\n");
            if writable {
                let _ = w.write_str(UPLOAD_OPEN);
                if writes == Access::Users {
                    let _ = w.write_str(AUTH);
                }
                let _ = w.write_str(UPLOAD_CLOSE);
            }
            let _ = w.write_str(TABLE_OPEN);
            if writable {
                let _ = w.write_str("<th></th>");
            }
            let _ = w.write_str("</tr></thead><tbody>\n");
            Some(Stage::Rows)
        }
        Stage::Rows => Some(Stage::Tail(0)),
        Stage::Tail(0) => {
            let _ = w.write_str("</tbody></table>\n");
            let _ = w.write_str(SORT_JS);
            Some(if writable {
                Stage::Tail(1)
            } else {
                Stage::Tail(2)
            })
        }
        Stage::Tail(1) => {
            let _ = w.write_str(WRITE_JS);
            Some(Stage::Tail(2))
        }
        Stage::Tail(_) => {
            let _ = w.write_str(TAIL_END);
            None
        }
    }
}

/// One row of the table: the name as a link, the size, the modification
/// time if storage knows it, and a delete button when writes are open to
/// someone.
pub(super) fn row(
    name: &str,
    size: u64,
    modified: Option<u64>,
    writes: Access,
    w: &mut impl Write,
) -> core::fmt::Result {
    w.write_str("<tr><td><a href=\"")?;
    write_url(w, name)?;
    w.write_str("\">")?;
    write_html(w, name)?;
    write!(w, "</a></td><td class=\"n\" data-v=\"{size}\">{size}</td>")?;
    match modified {
        Some(secs) => {
            let t = DateTime::from_unix(i64::try_from(secs).unwrap_or(i64::MAX));
            write!(
                w,
                "<td data-v=\"{secs}\">{:04}-{:02}-{:02} {:02}:{:02}</td>",
                t.year, t.month, t.day, t.hour, t.minute
            )?;
        }
        None => w.write_str("<td data-v=\"0\"></td>")?,
    }
    if writes != Access::Nobody {
        // The button finds the name in the row's link: written once, so a
        // row of the longest name still fits the output buffer.
        w.write_str("<td><button class=\"del\">Delete</button></td>")?;
    }
    w.write_str("</tr>\n")
}

/// The page's size in bytes before its rows, with and without writes: what
/// a board's flash holds of it is these constants.
///
/// ```
/// use layernet::app::files::page_bytes;
/// let (read_only, writable) = page_bytes();
/// assert!(read_only < writable && writable < 8 * 1024, "{read_only} {writable}");
/// ```
pub fn page_bytes() -> (usize, usize) {
    let fixed = HEAD.len() + TABLE_OPEN.len() + SORT_JS.len() + TAIL_END.len();
    let write = UPLOAD_OPEN.len() + AUTH.len() + UPLOAD_CLOSE.len() + WRITE_JS.len();
    (fixed, fixed + write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::files::OUT_BUFFER;

    struct Len(usize);
    impl Write for Len {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }

    #[test]
    fn every_piece_fits_the_output_buffer() {
        for writes in [Access::Nobody, Access::Anyone, Access::Users] {
            let mut stage = Stage::Top;
            let mut pieces = 0;
            loop {
                let mut n = Len(0);
                let next = piece(stage, writes, &mut n);
                // The listing writes a piece after an 8-byte chunk-size
                // prefix and keeps 7 bytes for the chunk's end.
                assert!(n.0 <= OUT_BUFFER - 15, "{stage:?} is {} bytes", n.0);
                pieces += 1;
                match next {
                    Some(Stage::Rows) => stage = Stage::Tail(0),
                    Some(s) => stage = s,
                    None => break,
                }
            }
            assert!(pieces >= 3);
        }
    }

    #[test]
    fn the_worst_row_fits_the_output_buffer() {
        let worst = "\"".repeat(crate::app::storage::NAME_MAX);
        let mut n = Len(0);
        row(&worst, u64::MAX, Some(u64::MAX), Access::Users, &mut n).unwrap();
        assert!(n.0 <= OUT_BUFFER - 15, "{} bytes", n.0);
    }

    #[test]
    fn a_row_escapes_and_dates() {
        let mut s = heapless::String::<512>::new();
        row(
            "a <b>.txt",
            12,
            Some(86_400 + 3_600),
            Access::Anyone,
            &mut s,
        )
        .unwrap();
        assert!(
            s.contains("<a href=\"a%20%3Cb%3E.txt\">a &lt;b&gt;.txt</a>"),
            "{s}"
        );
        assert!(
            s.contains("data-v=\"12\">12<") && s.contains("1970-01-02 01:00"),
            "{s}"
        );
        assert!(s.contains("<button class=\"del\">Delete</button>"), "{s}");
        let mut s = heapless::String::<512>::new();
        row("x", 0, None, Access::Nobody, &mut s).unwrap();
        assert!(!s.contains("Delete"), "{s}");
    }
}
