//! The data segment (Std §6.3, Tables 3 and 4): header fields and the CP grammar.
//!
//! A [`Packet`] owns its data-segment text once and stores every field as a span (u16 offsets)
//! into it, so parsing costs two allocations (text + item table) whatever the item count.

use std::fmt;

use crate::codes::{self, Version, CODES_2005, FLAG_ACK, FLAG_SPLIT};
use crate::deviation::{Deviation, DeviationSet};

/// Largest data segment a [`Packet`] can hold (spans are u16). Frames are limited to 9999 by
/// their 4-digit length field; merged split packets may be longer.
pub const MAX_PACKET_SEGMENT: usize = u16::MAX as usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
struct Span {
    start: u16,
    end: u16,
}

impl Span {
    #[inline]
    fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u16,
            end: end as u16,
        }
    }
    #[inline]
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

const NO_DASH: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Item {
    key: Span,
    val: Span,
    /// Absolute position of the first '-' in the key, or NO_DASH.
    dash: u16,
    group: u16,
    /// Index+1 into CODES_2005 if the code is a 2005 code, else 0.
    norm: u8,
}

/// An error in the data segment grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte position in the data segment.
    pub position: usize,
    /// What is wrong, in words.
    pub detail: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (data segment byte {})", self.detail, self.position)
    }
}

impl std::error::Error for ParseError {}

fn perr(position: usize, detail: impl Into<String>) -> ParseError {
    ParseError {
        position,
        detail: detail.into(),
    }
}

/// One HJ 212 packet (the data segment), owned and cheap to move.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    seg: Box<str>,
    qn: Option<Span>,
    st: Span,
    cn: Span,
    pw: Span,
    mn: Span,
    flag: Option<u8>,
    pnum: Option<u32>,
    pno: Option<u32>,
    cp: Span,
    items: Vec<Item>,
    devs: DeviationSet,
}

impl fmt::Debug for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packet")
            .field("segment", &&*self.seg)
            .finish()
    }
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.seg)
    }
}

/// Header keys in the standard's order (Std Table 3).
const ORD_QN: u8 = 0;
const ORD_ST: u8 = 1;
const ORD_CN: u8 = 2;
const ORD_PW: u8 = 3;
const ORD_MN: u8 = 4;
const ORD_FLAG: u8 = 5;
const ORD_PNUM: u8 = 6;
const ORD_PNO: u8 = 7;

#[inline]
fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

fn parse_u32(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !all_digits(b) {
        return None;
    }
    Some(b.iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32))
}

#[inline]
fn find_byte(hay: &[u8], from: usize, to: usize, needle: u8) -> Option<usize> {
    memchr::memchr(needle, &hay[from..to]).map(|i| i + from)
}

/// Check a time value (N14 `YYYYMMDDhhmmss`); 17 digits (with ms) and other shapes are deviations.
#[inline]
fn check_time(v: &[u8], devs: &mut DeviationSet) {
    if v.len() == 14 && all_digits(v) {
        return;
    }
    if v.len() == 17 && all_digits(v) {
        devs.insert(Deviation::DatatimeMs);
    } else {
        devs.insert(Deviation::TimeNonstandard);
    }
}

fn is_time_key(k: &[u8]) -> bool {
    matches!(
        k,
        b"DataTime" | b"SystemTime" | b"BeginTime" | b"EndTime" | b"RestartTime"
    )
}

impl Packet {
    /// Parse a data segment (the bytes between the length field and the CRC).
    ///
    /// Never fails on deviations: they are collected in [`Packet::deviations`]; the caller
    /// (the [`Decoder`](crate::Decoder) in strict mode) decides whether to reject them.
    pub fn parse(seg: &[u8]) -> Result<Packet, ParseError> {
        if seg.len() > MAX_PACKET_SEGMENT {
            return Err(perr(
                MAX_PACKET_SEGMENT,
                format!("data segment of {} bytes is too long", seg.len()),
            ));
        }
        match std::str::from_utf8(seg) {
            Ok(s) => Packet::parse_str(s.into(), DeviationSet::EMPTY),
            Err(_) => {
                let lossy = String::from_utf8_lossy(seg).into_owned();
                if lossy.len() > MAX_PACKET_SEGMENT {
                    return Err(perr(0, "data segment too long after UTF-8 repair"));
                }
                let mut devs = DeviationSet::EMPTY;
                devs.insert(Deviation::NonUtf8);
                Packet::parse_str(lossy.into_boxed_str(), devs)
            }
        }
    }

    fn parse_str(seg: Box<str>, mut devs: DeviationSet) -> Result<Packet, ParseError> {
        let b = seg.as_bytes();
        let n = b.len();
        let mut qn = None;
        let (mut st, mut cn, mut pw, mut mn) = (None, None, None, None);
        let (mut flag, mut pnum, mut pno) = (None, None, None);
        let mut last_ord = 0u8;
        let mut seen = 0u16;
        let mut pos = 0usize;
        let cp_start;
        loop {
            let eq = match find_byte(b, pos, n, b'=') {
                Some(e) => e,
                None => return Err(perr(pos, "no 'CP=&&' in the data segment")),
            };
            let key = &b[pos..eq];
            if key == b"CP" {
                if !b[eq + 1..].starts_with(b"&&") {
                    return Err(perr(eq + 1, "'CP=' is not followed by '&&'"));
                }
                cp_start = eq + 3;
                break;
            }
            let vend = match find_byte(b, eq + 1, n, b';') {
                Some(e) => e,
                None => return Err(perr(eq + 1, "header field not terminated by ';'")),
            };
            if memchr::memchr2(b',', b'&', key).is_some() || key.is_empty() {
                return Err(perr(
                    pos,
                    format!(
                        "malformed header field name {:?}",
                        String::from_utf8_lossy(key)
                    ),
                ));
            }
            let v = &b[eq + 1..vend];
            let span = Span::new(eq + 1, vend);
            let ord = match key {
                b"QN" => ORD_QN,
                b"ST" => ORD_ST,
                b"CN" => ORD_CN,
                b"PW" => ORD_PW,
                b"MN" => ORD_MN,
                b"Flag" => ORD_FLAG,
                b"PNUM" => ORD_PNUM,
                b"PNO" => ORD_PNO,
                _ => {
                    devs.insert(Deviation::HeaderUnknownField);
                    pos = vend + 1;
                    continue;
                }
            };
            if seen & (1 << ord) != 0 {
                return Err(perr(
                    pos,
                    format!(
                        "header field {} appears twice",
                        String::from_utf8_lossy(key)
                    ),
                ));
            }
            seen |= 1 << ord;
            if ord < last_ord {
                devs.insert(Deviation::FieldOrder);
            }
            last_ord = ord;
            match ord {
                ORD_QN => qn = Some(span),
                ORD_ST => st = Some(span),
                ORD_CN => cn = Some(span),
                ORD_PW => pw = Some(span),
                ORD_MN => mn = Some(span),
                ORD_FLAG => {
                    let f = parse_u32(v)
                        .filter(|f| *f <= 255)
                        .ok_or_else(|| perr(eq + 1, "Flag is not a number 0-255"))?;
                    flag = Some(f as u8);
                }
                ORD_PNUM => {
                    pnum = Some(parse_u32(v).ok_or_else(|| perr(eq + 1, "PNUM is not a number"))?)
                }
                _ => pno = Some(parse_u32(v).ok_or_else(|| perr(eq + 1, "PNO is not a number"))?),
            }
            pos = vend + 1;
        }
        let st = st.ok_or_else(|| perr(0, "no ST field"))?;
        let cn = cn.ok_or_else(|| perr(0, "no CN field"))?;
        let pw = pw.ok_or_else(|| perr(0, "no PW field"))?;
        let mn = mn.ok_or_else(|| perr(0, "no MN field"))?;
        if n < cp_start + 2 || !b.ends_with(b"&&") {
            return Err(perr(
                n,
                "the CP does not end with '&&' at the end of the data segment",
            ));
        }
        let cp_end = n - 2;

        // Header value checks (Std Table 3).
        let version = Version::from_flag(flag);
        match qn {
            None => devs.insert(Deviation::NoQn),
            Some(s) => {
                let v = &b[s.range()];
                if v.len() != 17 || !all_digits(v) {
                    devs.insert(Deviation::QnNonstandard);
                }
            }
        }
        match flag {
            None => devs.insert(Deviation::NoFlag),
            Some(f) if f >> 2 > 2 => devs.insert(Deviation::VersionUnknown),
            _ => {}
        }
        let stv = &b[st.range()];
        if stv.len() != 2
            || !stv
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        {
            devs.insert(Deviation::StNonstandard);
        }
        let cnv = &b[cn.range()];
        if cnv.len() != 4 || !all_digits(cnv) {
            devs.insert(Deviation::CnNonstandard);
        }
        if pw.end - pw.start != 6 {
            devs.insert(Deviation::PwNonstandard);
        }
        let mnv = &b[mn.range()];
        let mn_ok = match version {
            Version::V2005 => mnv.len() == 14 && mnv.iter().all(u8::is_ascii_alphanumeric),
            _ => mnv.len() == 24 && mnv.iter().all(u8::is_ascii_hexdigit),
        };
        if !mn_ok {
            devs.insert(Deviation::MnNonstandard);
        }
        let d_bit = flag.is_some_and(|f| f & FLAG_SPLIT != 0);
        if d_bit != (pnum.is_some() && pno.is_some()) {
            devs.insert(Deviation::SplitFlagMismatch);
        }

        let items = parse_cp(b, cp_start, cp_end, &mut devs)?;
        Ok(Packet {
            seg,
            qn,
            st,
            cn,
            pw,
            mn,
            flag,
            pnum,
            pno,
            cp: Span::new(cp_start, cp_end),
            items,
            devs,
        })
    }

    #[inline]
    fn s(&self, s: Span) -> &str {
        &self.seg[s.range()]
    }

    /// The data segment text (what the CRC covers).
    pub fn segment(&self) -> &str {
        &self.seg
    }
    /// Deviations found in the data segment itself (frame-level ones are on the `Frame`).
    pub fn deviations(&self) -> DeviationSet {
        self.devs
    }
    pub fn qn(&self) -> Option<&str> {
        self.qn.map(|s| self.s(s))
    }
    pub fn st(&self) -> &str {
        self.s(self.st)
    }
    pub fn cn(&self) -> &str {
        self.s(self.cn)
    }
    pub fn pw(&self) -> &str {
        self.s(self.pw)
    }
    pub fn mn(&self) -> &str {
        self.s(self.mn)
    }
    pub fn flag(&self) -> Option<u8> {
        self.flag
    }
    /// Protocol version from the Flag (no Flag = 2005).
    pub fn version(&self) -> Version {
        Version::from_flag(self.flag)
    }
    /// Flag bit A: the sender wants an answer.
    pub fn ack_requested(&self) -> bool {
        self.flag.is_some_and(|f| f & FLAG_ACK != 0)
    }
    /// Flag bit D set, or PNUM/PNO present: one part of a split set.
    pub fn is_split(&self) -> bool {
        self.flag.is_some_and(|f| f & FLAG_SPLIT != 0) || self.pnum.is_some()
    }
    pub fn pnum(&self) -> Option<u32> {
        self.pnum
    }
    pub fn pno(&self) -> Option<u32> {
        self.pno
    }
    /// The CP text between `CP=&&` and the closing `&&`.
    pub fn cp_text(&self) -> &str {
        self.s(self.cp)
    }
    /// The command code entry for this CN, if known.
    pub fn command(&self) -> Option<&'static codes::CommandCode> {
        codes::CommandCode::lookup_str(self.cn())
    }

    /// The groups of the CP (`;`-separated), empty groups left out.
    pub fn groups(&self) -> Groups<'_> {
        Groups {
            packet: self,
            rest: &self.items,
        }
    }
    /// Every CP item in order, across groups.
    pub fn items(&self) -> impl Iterator<Item = ItemRef<'_>> + '_ {
        self.items
            .iter()
            .map(move |it| ItemRef { packet: self, it })
    }
    /// The value of the first CP item with this exact key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|it| self.s(it.key) == key)
            .map(|it| self.s(it.val))
    }
    /// `DataTime` of the CP.
    pub fn data_time(&self) -> Option<&str> {
        self.get("DataTime")
    }
    /// Every measured value (`code-Rtd`, `-Avg`, `-Data`, …; not `-Flag`, `-EFlag`,
    /// `-SampleTime`, `-SN`, `-Info`) with its code normalised to 2017.
    pub fn values(&self) -> impl Iterator<Item = Value<'_>> + '_ {
        self.items.iter().filter_map(move |it| {
            let r = ItemRef { packet: self, it };
            let field = r.suffix()?;
            if matches!(field, "Flag" | "EFlag" | "SampleTime" | "SN" | "Info") {
                return None;
            }
            Some(Value { item: r })
        })
    }

    fn group_items(&self, group: u16) -> &[Item] {
        let start = self.items.partition_point(|it| it.group < group);
        let end = self.items.partition_point(|it| it.group <= group);
        &self.items[start..end]
    }

    /// Look up `code-suffix` (raw code) first in `group`, then anywhere in the CP.
    fn lookup_code_field(&self, group: u16, raw_code: &str, suffix: &str) -> Option<&str> {
        let matches = |it: &&Item| {
            it.dash != NO_DASH && {
                let k = self.s(it.key);
                let d = (it.dash - it.key.start) as usize;
                &k[..d] == raw_code && &k[d + 1..] == suffix
            }
        };
        self.group_items(group)
            .iter()
            .find(matches)
            .or_else(|| self.items.iter().find(matches))
            .map(|it| self.s(it.val))
    }
}

/// Parse the CP grammar (Std §6.3.3 Table 4) between `start` and `end`.
fn parse_cp(
    b: &[u8],
    start: usize,
    end: usize,
    devs: &mut DeviationSet,
) -> Result<Vec<Item>, ParseError> {
    let mut items = Vec::with_capacity(estimate_items(&b[start..end]));
    let mut group: u16 = 0;
    let mut pos = start;
    let mut prev_group_code: Option<Span> = None; // code of the last item of the previous group
    let mut group_first = true;
    let mut last_code: Option<Span> = None;
    while pos < end {
        let c = b[pos];
        if c == b';' || c == b',' {
            // empty item
            if pos + 1 == end {
                devs.insert(Deviation::TrailingSeparator);
            } else {
                devs.insert(Deviation::EmptyItem);
            }
            if c == b';' && !group_first {
                group += 1;
                prev_group_code = last_code;
                group_first = true;
            }
            pos += 1;
            continue;
        }
        // key
        let mut k = pos;
        let mut dash = NO_DASH;
        while k < end {
            match b[k] {
                b'=' => break,
                b';' | b',' => {
                    return Err(perr(
                        k,
                        format!(
                            "CP item {:?} has no '='",
                            String::from_utf8_lossy(&b[pos..k])
                        ),
                    ))
                }
                b'-' if dash == NO_DASH => dash = k as u16,
                _ => {}
            }
            k += 1;
        }
        if k == end {
            return Err(perr(
                pos,
                format!(
                    "CP item {:?} has no '='",
                    String::from_utf8_lossy(&b[pos..end])
                ),
            ));
        }
        if k == pos {
            return Err(perr(pos, "CP item with an empty name"));
        }
        let key = Span::new(pos, k);
        let vstart = k + 1;
        // value: `//…//` is opaque text (Std Table C.40), else up to ',' ';' or the end
        let vend;
        if b[vstart..end].starts_with(b"//") {
            let mut q = vstart + 2;
            loop {
                match memchr::memmem::find(&b[q..end], b"//") {
                    Some(i) => {
                        let close = q + i;
                        let after = close + 2;
                        if after == end || b[after] == b',' || b[after] == b';' {
                            vend = after;
                            break;
                        }
                        q = close + 1;
                    }
                    None => {
                        return Err(perr(vstart, "Info text '//' is not closed by '//'"));
                    }
                }
            }
        } else {
            vend = memchr::memchr2(b',', b';', &b[vstart..end]).map_or(end, |i| vstart + i);
        }
        let keyb = &b[pos..k];
        let mut norm = 0;
        let code = if dash != NO_DASH {
            let codeb = &b[pos..dash as usize];
            norm = codes::code_2005_index(codeb);
            if norm != 0 {
                devs.insert(Deviation::Code2005);
            } else if !codes::is_standard_code_shape(codeb) {
                devs.insert(Deviation::CodeNonstandard);
            }
            let suffix = &b[dash as usize + 1..k];
            if suffix == b"SampleTime" {
                check_time(&b[vstart..vend], devs);
            }
            Some(Span::new(pos, dash as usize))
        } else {
            if is_time_key(keyb) {
                check_time(&b[vstart..vend], devs);
            } else if keyb == b"Flag" {
                devs.insert(Deviation::BareFlag);
            }
            None
        };
        if group_first {
            if let (Some(pc), Some(c)) = (prev_group_code, code) {
                if b[pc.range()] == b[c.range()] {
                    devs.insert(Deviation::SemicolonInGroup);
                }
            }
            group_first = false;
        }
        last_code = code;
        items.push(Item {
            key,
            val: Span::new(vstart, vend),
            dash,
            group,
            norm,
        });
        if vend == end {
            break;
        }
        // separator
        if b[vend] == b';' {
            group += 1;
            prev_group_code = last_code;
            group_first = true;
        }
        pos = vend + 1;
        if pos == end {
            devs.insert(Deviation::TrailingSeparator);
        }
    }
    Ok(items)
}

#[inline]
fn estimate_items(cp: &[u8]) -> usize {
    // one '=' per item; cheap with memchr's SIMD counting
    memchr::memchr_iter(b'=', cp).count()
}

/// Iterator over the groups of a packet's CP.
#[derive(Clone)]
pub struct Groups<'a> {
    packet: &'a Packet,
    rest: &'a [Item],
}

impl<'a> Iterator for Groups<'a> {
    type Item = Group<'a>;
    fn next(&mut self) -> Option<Group<'a>> {
        let first = self.rest.first()?;
        let n = self
            .rest
            .iter()
            .position(|it| it.group != first.group)
            .unwrap_or(self.rest.len());
        let (g, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(Group {
            packet: self.packet,
            items: g,
        })
    }
}

/// One `;`-separated group of the CP (one pollutant or parameter).
#[derive(Clone, Copy)]
pub struct Group<'a> {
    packet: &'a Packet,
    items: &'a [Item],
}

impl<'a> Group<'a> {
    /// `(key, value)` pairs with their exact text.
    pub fn items(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let p = self.packet;
        self.items.iter().map(move |it| (p.s(it.key), p.s(it.val)))
    }
    /// Richer item views (normalised code, suffix, number).
    pub fn entries(&self) -> impl Iterator<Item = ItemRef<'a>> + 'a {
        let p = self.packet;
        self.items.iter().map(move |it| ItemRef { packet: p, it })
    }
    /// Value of the first item with this exact key in the group.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        let p = self.packet;
        self.items
            .iter()
            .find(|it| p.s(it.key) == key)
            .map(|it| p.s(it.val))
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// One CP item.
#[derive(Clone, Copy)]
pub struct ItemRef<'a> {
    packet: &'a Packet,
    it: &'a Item,
}

impl<'a> ItemRef<'a> {
    /// The key exactly as sent (`011-Rtd`).
    pub fn key(&self) -> &'a str {
        self.packet.s(self.it.key)
    }
    /// The value text exactly as sent.
    pub fn value(&self) -> &'a str {
        self.packet.s(self.it.val)
    }
    /// The value as a number, if it is one.
    pub fn number(&self) -> Option<f64> {
        self.value().parse().ok()
    }
    /// The code part of a `code-Suffix` key as sent (`011`).
    pub fn raw_code(&self) -> Option<&'a str> {
        (self.it.dash != NO_DASH)
            .then(|| &self.packet.seg[self.it.key.start as usize..self.it.dash as usize])
    }
    /// The code normalised to HJ 212-2017 (`011` → `w01018`).
    pub fn code(&self) -> Option<&'a str> {
        if self.it.norm != 0 {
            return Some(CODES_2005[self.it.norm as usize - 1].1);
        }
        self.raw_code()
    }
    /// The suffix of a `code-Suffix` key (`Rtd`).
    pub fn suffix(&self) -> Option<&'a str> {
        (self.it.dash != NO_DASH)
            .then(|| &self.packet.seg[self.it.dash as usize + 1..self.it.key.end as usize])
    }
    /// The key with the code normalised (`w01018-Rtd` for `011-Rtd`).
    pub fn normalised_key(&self) -> std::borrow::Cow<'a, str> {
        match (self.it.norm, self.suffix()) {
            (0, _) | (_, None) => self.key().into(),
            (_, Some(s)) => format!("{}-{}", self.code().unwrap_or_default(), s).into(),
        }
    }
    /// `Info` text between `//` and `//`, if the value has that form.
    pub fn info_text(&self) -> Option<&'a str> {
        let v = self.value();
        (v.len() >= 4 && v.starts_with("//") && v.ends_with("//")).then(|| &v[2..v.len() - 2])
    }
    /// Index of the group this item belongs to.
    pub fn group_index(&self) -> usize {
        self.it.group as usize
    }
}

/// One measured value of a pollutant or parameter.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    item: ItemRef<'a>,
}

impl<'a> Value<'a> {
    /// Pollutant code normalised to 2017.
    pub fn code(&self) -> &'a str {
        self.item.code().unwrap_or_default()
    }
    /// Pollutant code as sent.
    pub fn raw_code(&self) -> &'a str {
        self.item.raw_code().unwrap_or_default()
    }
    /// The field: `Rtd`, `Avg`, `Min`, `Max`, `Cou`, `ZsRtd`, `Data`, …
    pub fn field(&self) -> &'a str {
        self.item.suffix().unwrap_or_default()
    }
    /// Exact decimal text.
    pub fn text(&self) -> &'a str {
        self.item.value()
    }
    /// Parsed number.
    pub fn number(&self) -> Option<f64> {
        self.item.number()
    }
    /// The item itself.
    pub fn item(&self) -> ItemRef<'a> {
        self.item
    }
    fn meta(&self, suffix: &str) -> Option<&'a str> {
        self.item
            .packet
            .lookup_code_field(self.item.it.group, self.raw_code(), suffix)
    }
    /// The data flag `code-Flag` (Std Table 8) of the same group (or, for packets that split a
    /// pollutant over `;` groups, anywhere in the CP).
    pub fn flag(&self) -> Option<&'a str> {
        self.meta("Flag")
    }
    /// `code-EFlag` (device-defined flag).
    pub fn eflag(&self) -> Option<&'a str> {
        self.meta("EFlag")
    }
    /// `code-SampleTime`.
    pub fn sample_time(&self) -> Option<&'a str> {
        self.meta("SampleTime")
    }
}

/// Error building a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// Builds a packet in the standard's field order: `QN;ST;CN;PW;MN;Flag;PNUM;PNO;CP=&&…&&`.
#[derive(Debug, Clone, Default)]
pub struct PacketBuilder {
    qn: Option<String>,
    st: String,
    cn: String,
    pw: String,
    mn: String,
    flag: Option<u8>,
    split: Option<(u32, u32)>,
    groups: Vec<Vec<(String, String)>>,
}

impl PacketBuilder {
    /// A packet with these header fields, no QN, no Flag, empty CP.
    pub fn new(
        st: impl Into<String>,
        cn: impl Into<String>,
        pw: impl Into<String>,
        mn: impl Into<String>,
    ) -> Self {
        PacketBuilder {
            st: st.into(),
            cn: cn.into(),
            pw: pw.into(),
            mn: mn.into(),
            ..Default::default()
        }
    }
    pub fn qn(mut self, qn: impl Into<String>) -> Self {
        self.qn = Some(qn.into());
        self
    }
    pub fn maybe_qn(mut self, qn: Option<impl Into<String>>) -> Self {
        self.qn = qn.map(Into::into);
        self
    }
    pub fn flag(mut self, flag: u8) -> Self {
        self.flag = Some(flag);
        self
    }
    pub fn maybe_flag(mut self, flag: Option<u8>) -> Self {
        self.flag = flag;
        self
    }
    /// PNUM and PNO (the caller sets the D bit in the Flag).
    pub fn split(mut self, pnum: u32, pno: u32) -> Self {
        self.split = Some((pnum, pno));
        self
    }
    /// Append a group of items.
    pub fn group<K: Into<String>, V: Into<String>>(
        mut self,
        items: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.groups.push(
            items
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }
    /// Append one item as its own group.
    pub fn item(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.group([(key.into(), value.into())])
    }

    /// Check field texts, write the segment and parse it back.
    pub fn build(self) -> Result<Packet, BuildError> {
        let mut seg = String::with_capacity(128);
        let check_header = |name: &str, v: &str| -> Result<(), BuildError> {
            if v.bytes().any(|c| matches!(c, b';' | b'=' | b'&' | b',')) {
                return Err(BuildError(format!(
                    "{name} value {v:?} contains a separator"
                )));
            }
            Ok(())
        };
        if let Some(qn) = &self.qn {
            check_header("QN", qn)?;
            seg.push_str("QN=");
            seg.push_str(qn);
            seg.push(';');
        }
        for (name, v) in [
            ("ST", &self.st),
            ("CN", &self.cn),
            ("PW", &self.pw),
            ("MN", &self.mn),
        ] {
            check_header(name, v)?;
            seg.push_str(name);
            seg.push('=');
            seg.push_str(v);
            seg.push(';');
        }
        use std::fmt::Write;
        if let Some(f) = self.flag {
            let _ = write!(seg, "Flag={f};");
        }
        if let Some((pnum, pno)) = self.split {
            let _ = write!(seg, "PNUM={pnum};PNO={pno};");
        }
        seg.push_str("CP=&&");
        for (gi, g) in self.groups.iter().enumerate() {
            if g.is_empty() {
                return Err(BuildError(format!("CP group {gi} is empty")));
            }
            if gi > 0 {
                seg.push(';');
            }
            for (ii, (k, v)) in g.iter().enumerate() {
                if k.is_empty() || k.bytes().any(|c| matches!(c, b';' | b'=' | b'&' | b',')) {
                    return Err(BuildError(format!(
                        "CP key {k:?} is empty or has a separator"
                    )));
                }
                let info = v.len() >= 4 && v.starts_with("//") && v.ends_with("//");
                if info {
                    let inner = &v[2..v.len() - 2];
                    if inner.contains("//,") || inner.contains("//;") || inner.contains("&&") {
                        return Err(BuildError(format!(
                            "Info text {v:?} contains '//,', '//;' or '&&'"
                        )));
                    }
                } else if v.bytes().any(|c| matches!(c, b';' | b',' | b'&')) || v.starts_with("//")
                {
                    return Err(BuildError(format!(
                        "CP value {v:?} for {k} has a separator"
                    )));
                }
                if ii > 0 {
                    seg.push(',');
                }
                seg.push_str(k);
                seg.push('=');
                seg.push_str(v);
            }
        }
        seg.push_str("&&");
        if seg.len() > MAX_PACKET_SEGMENT {
            return Err(BuildError(format!(
                "data segment of {} bytes is too long",
                seg.len()
            )));
        }
        Packet::parse(seg.as_bytes()).map_err(|e| BuildError(e.to_string()))
    }
}

impl Packet {
    /// A builder pre-filled with this packet's header fields (QN, ST, CN, PW, MN, Flag,
    /// PNUM/PNO) and CP groups.
    pub fn to_builder(&self) -> PacketBuilder {
        let mut b = PacketBuilder::new(self.st(), self.cn(), self.pw(), self.mn())
            .maybe_qn(self.qn())
            .maybe_flag(self.flag);
        if let (Some(n), Some(o)) = (self.pnum, self.pno) {
            b = b.split(n, o);
        }
        for g in self.groups() {
            b = b.group(g.items());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Std §6.3.3 Table 4 / App. C.3: groups, items, code-suffix keys, data flags.
    #[test]
    fn parse_2011() {
        let seg = "QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;w01001-Rtd=7.1,w01001-Flag=N;w01018-SampleTime=20160801070000,w01018-Rtd=2.2,w01018-Flag=N,w01018-EFlag=A01&&";
        let p = Packet::parse(seg.as_bytes()).unwrap();
        assert!(p.deviations().is_empty(), "{:?}", p.deviations());
        assert_eq!(p.qn(), Some("20160801085857223"));
        assert_eq!(p.cn(), "2011");
        assert_eq!(p.version(), Version::V2017);
        assert!(p.ack_requested());
        assert_eq!(p.groups().count(), 3);
        assert_eq!(p.data_time(), Some("20160801085857"));
        let vals: Vec<_> = p.values().collect();
        assert_eq!(vals.len(), 2);
        assert_eq!(vals[1].code(), "w01018");
        assert_eq!(vals[1].text(), "2.2");
        assert_eq!(vals[1].number(), Some(2.2));
        assert_eq!(vals[1].flag(), Some("N"));
        assert_eq!(vals[1].eflag(), Some("A01"));
        assert_eq!(vals[1].sample_time(), Some("20160801070000"));
    }

    /// Std Table C.40: Info text between `//` is opaque (may hold separators).
    #[test]
    fn info_opaque() {
        let seg = "QN=20160801085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20100301145000;PolId=w01018;i11001-Info=//a;b,c=d//,x=1&&";
        let p = Packet::parse(seg.as_bytes()).unwrap();
        let it: Vec<_> = p.items().collect();
        assert_eq!(it[2].value(), "//a;b,c=d//");
        assert_eq!(it[2].info_text(), Some("a;b,c=d"));
        assert_eq!(it[3].key(), "x");
    }

    /// 2005 codes are normalised (Std App. B) and reported.
    #[test]
    fn code_2005() {
        let seg = "ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N&&";
        let p = Packet::parse(seg.as_bytes()).unwrap();
        let d = p.deviations();
        assert!(d.contains(Deviation::Code2005));
        assert!(d.contains(Deviation::NoQn));
        assert!(d.contains(Deviation::NoFlag));
        assert!(!d.contains(Deviation::MnNonstandard));
        let v: Vec<_> = p
            .values()
            .map(|v| (v.code(), v.raw_code(), v.flag()))
            .collect();
        assert_eq!(
            v,
            vec![("w00000", "B01", None), ("w01018", "011", Some("N"))]
        );
    }

    #[test]
    fn builder_round_trip() {
        let p = PacketBuilder::new("32", "2011", "123456", "010000A8900016F000169DC0")
            .qn("20160801085857223")
            .flag(5)
            .item("DataTime", "20160801085857")
            .group([("w01001-Rtd", "7.1"), ("w01001-Flag", "N")])
            .build()
            .unwrap();
        assert_eq!(p.segment(), "QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;w01001-Rtd=7.1,w01001-Flag=N&&");
        assert_eq!(p.to_builder().build().unwrap(), p);
        assert!(PacketBuilder::new("32", "2011", "1;3", "x")
            .build()
            .is_err());
    }
}
