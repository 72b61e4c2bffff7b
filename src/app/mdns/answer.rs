//! The responder's answers: which of its records a question asks for,
//! and the response, multicast or (for a legacy query) unicast
//! (RFC 6762 sections 6 and 6.7); a response from another host that
//! names its records is a conflict, handed to the probing.
//!
//! Layer: app. Depends on the responder's state in [`super`], on
//! [`crate::net::Stack`] and on [`super::wire`]; no heap.

use super::*;

impl<const LOG: usize> Responder<LOG> {
    /// What our records answer `(name at pos, qtype)`: answers, and the
    /// additional records that go with them (RFC 6763 section 12).
    fn matches(
        &self,
        reader: &Reader<'_>,
        pos: usize,
        qtype: u16,
        has_v6: &[usize],
        answers: &mut heapless::Vec<Rec, MAX_RECORDS>,
        extra: &mut heapless::Vec<Rec, MAX_RECORDS>,
    ) {
        let add = |list: &mut heapless::Vec<Rec, MAX_RECORDS>, rec: Rec| {
            if !list.contains(&rec) {
                let _ = list.push(rec);
            }
        };
        let wants = |t: u16| qtype == t || qtype == TYPE_ANY;
        if let Some(host) = self.host_name()
            && reader.name_is(pos, &host)
        {
            let before = answers.len();
            if wants(TYPE_A) {
                add(answers, Rec::A);
            }
            if wants(TYPE_AAAA) {
                for &i in has_v6 {
                    add(answers, Rec::Aaaa(i));
                }
            }
            if answers.len() == before {
                // Ours, but not of that type: say which types there are.
                add(extra, Rec::HostNsec);
            } else if qtype == TYPE_A {
                for &i in has_v6 {
                    add(extra, Rec::Aaaa(i));
                }
            } else if qtype == TYPE_AAAA {
                add(extra, Rec::A);
            }
            return;
        }
        if (wants(TYPE_PTR))
            && let Some(services) = Name::from_parts(&["_services._dns-sd._udp.local"])
            && reader.name_is(pos, &services)
        {
            for i in 0..self.adverts.len() {
                add(answers, Rec::Types(i));
            }
            return;
        }
        let label = self.hostname();
        for (i, advert) in self.adverts.iter().enumerate() {
            let Some(type_name) = Name::from_parts(&[advert.service_type, "local"]) else {
                continue;
            };
            let instance_asked = Name::from_parts(&[&label, advert.service_type, "local"])
                .is_some_and(|n| reader.name_is(pos, &n));
            if reader.name_is(pos, &type_name) {
                if wants(TYPE_PTR) {
                    add(answers, Rec::Ptr(i));
                    for rec in [Rec::Srv(i), Rec::Txt(i), Rec::A] {
                        add(extra, rec);
                    }
                    for &v in has_v6 {
                        add(extra, Rec::Aaaa(v));
                    }
                }
            } else if instance_asked {
                if wants(TYPE_SRV) {
                    add(answers, Rec::Srv(i));
                }
                if wants(TYPE_TXT) {
                    add(answers, Rec::Txt(i));
                }
                add(extra, Rec::A);
                for &v in has_v6 {
                    add(extra, Rec::Aaaa(v));
                }
            }
        }
    }

    /// One datagram from `from`.
    pub(super) fn handle(
        &mut self,
        stack: &mut Stack<'_>,
        msg: &[u8],
        from: IpEndpoint,
        now: Instant,
    ) {
        let Some(mut reader) = Reader::new(msg) else {
            return;
        };
        let header = reader.header();
        if header.opcode() != 0 {
            return;
        }
        let Some(host) = self.host_name() else {
            return;
        };
        if header.is_response() {
            // RFC 6762 section 6: a response with a nonzero RCODE is
            // ignored.
            if header.flags & 0xf != 0 {
                return;
            }
            self.response(stack, &mut reader, &host, now);
            return;
        }
        match self.phase {
            Phase::Probing(_) => {
                self.tiebreak(stack, &mut reader, &host, now);
                return;
            }
            Phase::Starting => return,
            Phase::Announcing(_) | Phase::Ready => {}
        }
        let legacy = from.port != MDNS_PORT;
        let v6 = Self::v6(stack);
        let has_v6: heapless::Vec<usize, MAX_V6> =
            (0..MAX_V6).filter(|i| v6[*i].is_some()).collect();
        let mut answers = heapless::Vec::new();
        let mut extra = heapless::Vec::new();
        let mut questions: heapless::Vec<wire::Question, 8> = heapless::Vec::new();
        while let Some(q) = reader.next_question() {
            if q.class & !CLASS_TOP != CLASS_IN && q.class & !CLASS_TOP != 255 {
                continue;
            }
            let before = (answers.len(), extra.len());
            self.matches(&reader, q.name, q.qtype, &has_v6, &mut answers, &mut extra);
            if (answers.len(), extra.len()) != before {
                let _ = questions.push(q);
            }
        }
        if answers.is_empty() && extra.is_empty() {
            return;
        }
        let limit = self.limit(stack);
        let mut buf = [0u8; MAX_MESSAGE];
        let id = if legacy { header.id } else { 0 };
        // What does not fit the socket's buffer is left out (additional
        // records first), not the whole answer.
        let Ok(mut w) = Writer::new(&mut buf[..limit], id, FLAGS_RESPONSE) else {
            return;
        };
        if legacy {
            // RFC 6762 6.7: the question repeated, as a unicast DNS
            // resolver expects.
            for q in &questions {
                let _ = w.copy_question(&reader, q);
            }
        }
        for &rec in &answers {
            if self
                .write(&mut w, Section::Answer, rec, legacy, stack, &v6)
                .is_err()
            {
                break;
            }
        }
        for &rec in extra.iter().filter(|r| !answers.contains(r)) {
            if self
                .write(&mut w, Section::Additional, rec, legacy, stack, &v6)
                .is_err()
            {
                break;
            }
        }
        let n = w.finish();
        let to = if legacy { from } else { Self::group() };
        self.send(stack, &buf[..n], to);
    }

    /// A response from another host: a record for our name is a conflict
    /// while probing; one giving it another address later means probing
    /// again (RFC 6762 section 9).
    fn response(
        &mut self,
        stack: &mut Stack<'_>,
        reader: &mut Reader<'_>,
        host: &Name,
        now: Instant,
    ) {
        let ours = stack.ipv4_addr().octets();
        let mut claimed = false;
        let mut other_address = false;
        while let Some(r) = reader.next_record() {
            if r.section == Section::Authority || !reader.name_is(r.name, host) {
                continue;
            }
            claimed = true;
            if r.rtype == TYPE_A && r.rdata != ours {
                other_address = true;
            }
        }
        match self.phase {
            Phase::Probing(_) if claimed => self.conflict(stack, now),
            Phase::Announcing(_) | Phase::Ready if other_address => {
                self.log.push(format_args!(
                    "mdns: another host answers for {host}: probing again"
                ));
                self.probe_from(stack, now, Duration::ZERO);
            }
            _ => {}
        }
    }
}
