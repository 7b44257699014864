//! `qingshan hj212 …`: parse a byte stream, encode packets, compute a CRC.
//! The output formats are a contract (see docs/hj212.md).

use std::fmt::Write as _;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use hj212::{Decoder, DecoderConfig, Frame, FrameError, Mode, PacketBuilder};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

#[derive(Subcommand)]
pub enum Hj212Command {
    /// Decode a byte stream (FILE or stdin); print one JSON object per frame candidate.
    Parse {
        /// Accept the deviations real devices show, and name them.
        #[arg(long)]
        lenient: bool,
        /// Input file (default: stdin).
        file: Option<PathBuf>,
    },
    /// Read JSON packets (as `parse` prints them), one per line on stdin; write frames.
    Encode,
    /// Print the HJ 212 CRC (4 uppercase hex digits) of TEXT's bytes.
    Crc {
        /// The data segment text.
        text: String,
    },
}

pub fn run(cmd: Hj212Command) -> anyhow::Result<ExitCode> {
    match run_inner(cmd) {
        // `qingshan hj212 parse … | head` is not an error
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        r => r,
    }
}

fn run_inner(cmd: Hj212Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Hj212Command::Parse { lenient, file } => {
            let mode = if lenient { Mode::Lenient } else { Mode::Strict };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match file {
                Some(path) => {
                    let f = std::fs::File::open(&path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    parse_stream(f, mode, &mut out)?;
                }
                None => parse_stream(std::io::stdin().lock(), mode, &mut out)?,
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Hj212Command::Encode => {
            let stdin = std::io::stdin().lock();
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            for (n, line) in stdin.lines().enumerate() {
                let line = line.context("reading stdin")?;
                if line.trim().is_empty() {
                    continue;
                }
                let frame = encode_line(&line).with_context(|| format!("line {}", n + 1))?;
                out.write_all(&frame)?;
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Hj212Command::Crc { text } => {
            println!("{:04X}", hj212::crc16(text.as_bytes()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Decode a whole stream and write one JSON line per frame candidate.
pub fn parse_stream(mut input: impl Read, mode: Mode, out: &mut impl Write) -> anyhow::Result<()> {
    let mut dec = Decoder::new(DecoderConfig::new(mode));
    let mut buf = vec![0u8; 64 * 1024];
    let mut line = String::with_capacity(1024);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading input"),
        };
        dec.feed(&buf[..n]);
        while let Some(r) = dec.next_frame() {
            write_result(&r, &mut line);
            out.write_all(line.as_bytes())?;
        }
    }
    while let Some(r) = dec.finish() {
        write_result(&r, &mut line);
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn json_str(s: &str, out: &mut String) {
    // serde_json's string escaping, without building a Value
    out.push_str(&serde_json::to_string(s).expect("strings serialise"));
}

fn json_opt_str(s: Option<&str>, out: &mut String) {
    match s {
        Some(s) => json_str(s, out),
        None => out.push_str("null"),
    }
}

fn json_opt_num(v: Option<u32>, out: &mut String) {
    match v {
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        None => out.push_str("null"),
    }
}

/// One JSON line (with the newline) for a decoder result.
pub fn write_result(r: &Result<Frame, FrameError>, out: &mut String) {
    out.clear();
    match r {
        Ok(f) => {
            let p = &f.packet;
            let _ = write!(out, "{{\"ok\":true,\"offset\":{},\"qn\":", f.offset);
            json_opt_str(p.qn(), out);
            out.push_str(",\"st\":");
            json_str(p.st(), out);
            out.push_str(",\"cn\":");
            json_str(p.cn(), out);
            out.push_str(",\"pw\":");
            json_str(p.pw(), out);
            out.push_str(",\"mn\":");
            json_str(p.mn(), out);
            out.push_str(",\"flag\":");
            json_opt_num(p.flag().map(u32::from), out);
            let _ = write!(
                out,
                ",\"version\":\"{}\",\"ack\":{},\"pnum\":",
                p.version().as_str(),
                p.ack_requested()
            );
            json_opt_num(p.pnum(), out);
            out.push_str(",\"pno\":");
            json_opt_num(p.pno(), out);
            out.push_str(",\"cp\":[");
            for (gi, g) in p.groups().enumerate() {
                if gi > 0 {
                    out.push(',');
                }
                out.push('{');
                for (ii, (k, v)) in g.items().enumerate() {
                    if ii > 0 {
                        out.push(',');
                    }
                    json_str(k, out);
                    out.push(':');
                    json_str(v, out);
                }
                out.push('}');
            }
            out.push_str("],\"deviations\":[");
            for (i, d) in f.deviations.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "\"{}\"", d.as_str());
            }
            out.push_str("]}\n");
        }
        Err(e) => {
            let _ = write!(
                out,
                "{{\"ok\":false,\"offset\":{},\"error\":\"{}\",\"detail\":",
                e.offset,
                e.kind.as_str()
            );
            json_str(&e.detail, out);
            out.push_str("}\n");
        }
    }
}

/// A CP group as an ordered list of (key, value); JSON object key order is kept.
struct OrderedGroup(Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedGroup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedGroup;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of CP key -> value text")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<OrderedGroup, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, String>()? {
                    v.push((k, val));
                }
                Ok(OrderedGroup(v))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct PacketJson {
    #[serde(default)]
    qn: Option<String>,
    st: String,
    cn: String,
    pw: String,
    mn: String,
    #[serde(default)]
    flag: Option<u8>,
    #[serde(default)]
    pnum: Option<u32>,
    #[serde(default)]
    pno: Option<u32>,
    #[serde(default)]
    cp: Vec<OrderedGroup>,
}

fn encode_line(line: &str) -> anyhow::Result<Vec<u8>> {
    let j: PacketJson = serde_json::from_str(line).context("not a packet JSON object")?;
    let mut b = PacketBuilder::new(j.st, j.cn, j.pw, j.mn)
        .maybe_qn(j.qn)
        .maybe_flag(j.flag);
    match (j.pnum, j.pno) {
        (Some(n), Some(o)) => b = b.split(n, o),
        (None, None) => {}
        _ => bail!("pnum and pno go together"),
    }
    for g in j.cp {
        b = b.group(g.0);
    }
    let p = b.build()?;
    Ok(hj212::try_encode(&p)?)
}
