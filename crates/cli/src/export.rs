//! `qingshan export` — every stored value, one record per line (JSON lines or CSV).
//!
//! Contract: `{"mn","site","code","field","period":"rtd"|"min"|"hour"|"day",
//! "time":"<RFC 3339 with +08:00>","value","flag"}`. Works while the server runs (SQLite WAL
//! lets a reader in beside the writer).

use std::io::Write;

use clap::{Args, ValueEnum};
use model::Period;
use store::ValueFilter;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    #[arg(long)]
    mn: Option<String>,
    #[arg(long)]
    site: Option<String>,
    #[arg(long)]
    code: Option<String>,
    /// rtd|min|hour|day
    #[arg(long)]
    period: Option<String>,
    /// From (inclusive): RFC 3339, or YYYY-MM-DD[THH:MM[:SS]] in Beijing time.
    #[arg(long)]
    from: Option<String>,
    /// To (exclusive), same forms as --from.
    #[arg(long)]
    to: Option<String>,
}

fn time_arg(name: &str, v: &Option<String>) -> anyhow::Result<Option<i64>> {
    v.as_deref()
        .map(|s| {
            model::parse_user_time(s).ok_or_else(|| {
                anyhow::anyhow!(
                    "--{name} {s:?}: expected RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] (Beijing time)"
                )
            })
        })
        .transpose()
}

/// Is `s` a JSON number as written (so the device's exact decimal text can be kept)?
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

pub fn run(a: ExportArgs) -> anyhow::Result<std::process::ExitCode> {
    let filter = ValueFilter {
        mn: a.mn,
        site: a.site,
        code: a.code,
        period: a
            .period
            .as_deref()
            .map(|p| p.parse::<Period>())
            .transpose()
            .map_err(|e| anyhow::anyhow!("--period: {e}"))?,
        from: time_arg("from", &a.from)?,
        to: time_arg("to", &a.to)?,
        // The export is the raw view: values as the devices sent them, operator marks aside.
        raw: true,
    };
    let store = a.db.open_existing()?;
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    let sink_err = |e: String| store::StoreError::Invalid(format!("writing output: {e}"));
    match a.format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "mn", "site", "code", "field", "period", "time", "value", "flag",
            ])?;
            store.for_each_value(&filter, &mut |m| {
                w.write_record([
                    m.mn.as_str(),
                    &m.site,
                    &m.code,
                    &m.field,
                    m.period.as_str(),
                    &model::format_beijing(m.time),
                    &m.text,
                    m.flag.as_deref().unwrap_or(""),
                ])
                .map_err(|e| sink_err(e.to_string()))
            })?;
            w.flush()?;
        }
        Format::Jsonl => {
            let mut out = out;
            store.for_each_value(&filter, &mut |m| {
                writeln!(out, "{}", json_record(m)).map_err(|e| sink_err(e.to_string()))
            })?;
            out.flush()?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// One value as the export's JSON record (the contract in the module doc).
pub fn json_record(m: &model::Measurement) -> String {
    let value = if is_json_number(&m.text) {
        m.text.clone()
    } else if m.value.is_finite() {
        m.value.to_string()
    } else {
        "null".into()
    };
    let s = |v: &str| serde_json::Value::from(v).to_string();
    format!(
        "{{\"mn\":{},\"site\":{},\"code\":{},\"field\":{},\"period\":\"{}\",\"time\":\"{}\",\"value\":{},\"flag\":{}}}",
        s(&m.mn),
        s(&m.site),
        s(&m.code),
        s(&m.field),
        m.period.as_str(),
        model::format_beijing(m.time),
        value,
        m.flag.as_deref().map(s).unwrap_or_else(|| "null".into()),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_numbers() {
        for ok in ["0", "50.00", "-1.5", "1e3", "12.5E-2"] {
            assert!(super::is_json_number(ok), "{ok}");
        }
        for bad in ["", ".5", "5.", "+5", "01", "NaN", "1e", "--1", "5 "] {
            assert!(!super::is_json_number(bad), "{bad}");
        }
    }
}
