//! `qingshan device add|import|list` — the device registry on the command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use model::{Device, DeviceKind};

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Registers (or updates) one device.
    Add(AddArgs),
    /// Registers devices from a CSV file (header: mn,pw,site,kind[,name,allow,protocol,
    /// calibrate_clock,rtd_interval,min_interval]). Bad rows are reported with their line and
    /// skipped; the good rows are imported.
    Import {
        #[command(flatten)]
        db: crate::storeargs::StoreArgs,
        file: PathBuf,
    },
    /// Lists registered devices with their last-seen state.
    List {
        #[command(flatten)]
        db: crate::storeargs::StoreArgs,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Removes a device from the registry (its stored values stay).
    Remove {
        #[command(flatten)]
        db: crate::storeargs::StoreArgs,
        #[arg(long)]
        mn: String,
    },
}

#[derive(Args)]
pub struct AddArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    #[arg(long)]
    mn: String,
    #[arg(long)]
    pw: String,
    /// Code of the site or outlet the device measures.
    #[arg(long)]
    site: String,
    /// air|surface_water|drinking_water|noise|flue_gas|wastewater|fume
    #[arg(long, value_parser = parse_kind)]
    kind: DeviceKind,
    #[arg(long, default_value = "")]
    name: String,
    /// HJ 212 deviations the device may show, comma separated (e.g. crc_modbus,lf_only), or *.
    #[arg(long, value_delimiter = ',')]
    allow: Vec<String>,
    /// Protocol version the device speaks: 2005, 2017 or 2025 (default: from its Flag).
    #[arg(long)]
    protocol: Option<String>,
    /// Set the device clock (1012) when it connects.
    #[arg(long)]
    calibrate_clock: bool,
    /// Real-time interval to set on connect (1062), seconds.
    #[arg(long)]
    rtd_interval: Option<u32>,
    /// Minute-data interval to set on connect (1064), minutes.
    #[arg(long)]
    min_interval: Option<u32>,
    /// When the device was commissioned (RFC 3339 or Beijing `YYYY-MM-DD[THH:MM[:SS]]`);
    /// default: now for a new device, unchanged for an existing one. Rates and offline checks
    /// expect data from the earlier of this and its first data.
    #[arg(long)]
    registered: Option<String>,
}

fn parse_kind(s: &str) -> Result<DeviceKind, String> {
    s.parse().map_err(|e: model::ParseError| e.to_string())
}

/// Checks a device before it goes into the registry; the error names the field.
pub fn validate(d: &Device) -> Result<(), String> {
    let token = |what: &str, v: &str, max: usize| -> Result<(), String> {
        if v.is_empty() {
            return Err(format!("{what} is empty"));
        }
        if v.len() > max {
            return Err(format!("{what} {v:?} is longer than {max} characters"));
        }
        if let Some(c) = v
            .chars()
            .find(|c| !c.is_ascii_graphic() || ";,=&".contains(*c))
        {
            return Err(format!(
                "{what} {v:?} contains {c:?}, which HJ 212 cannot carry"
            ));
        }
        Ok(())
    };
    token("mn", &d.mn, 64)?;
    token("pw", &d.pw, 64)?;
    if d.site.trim().is_empty() {
        return Err("site is empty".into());
    }
    for a in &d.allow {
        if a != "*" && hj212::Deviation::from_name(a).is_none() {
            let known: Vec<&str> = hj212::Deviation::ALL.iter().map(|d| d.as_str()).collect();
            return Err(format!(
                "allow: unknown deviation {a:?} (known: {})",
                known.join(", ")
            ));
        }
    }
    if let Some(p) = &d.protocol {
        if !["2005", "2017", "2025"].contains(&p.as_str()) {
            return Err(format!("protocol {p:?} is not one of 2005, 2017, 2025"));
        }
    }
    Ok(())
}

pub fn run(cmd: DeviceCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        DeviceCommand::Add(a) => {
            let d = Device {
                mn: a.mn,
                pw: a.pw,
                site: a.site,
                kind: a.kind,
                name: a.name,
                protocol: a.protocol,
                allow: a.allow.into_iter().filter(|s| !s.is_empty()).collect(),
                calibrate_clock: a.calibrate_clock,
                rtd_interval: a.rtd_interval,
                min_interval: a.min_interval,
                registered: a
                    .registered
                    .as_deref()
                    .map(|s| {
                        model::parse_user_time(s).ok_or_else(|| {
                            anyhow::anyhow!(
                                "--registered {s:?}: expected RFC 3339 or \
                                 YYYY-MM-DD[THH:MM[:SS]] (Beijing)"
                            )
                        })
                    })
                    .transpose()?,
            };
            validate(&d).map_err(|e| anyhow::anyhow!("device {}: {e}", d.mn))?;
            let mut store = a.db.open()?;
            let existed = store.device(&d.mn)?.is_some();
            store.put_device(&d)?;
            println!(
                "{} device {} (site {}, {})",
                if existed { "updated" } else { "added" },
                d.mn,
                d.site,
                d.kind
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        DeviceCommand::Import { db, file } => {
            let mut store = db.open()?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let (devices, errors) = parse_csv(&text);
            for e in &errors {
                eprintln!("{}:{e}", file.display());
            }
            for d in &devices {
                store.put_device(d)?;
            }
            println!(
                "imported {} devices, {} rows refused",
                devices.len(),
                errors.len()
            );
            Ok(if errors.is_empty() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::from(2)
            })
        }
        DeviceCommand::List { db, json } => {
            let store = db.open()?;
            let states = store.device_states()?;
            let devices = store.devices()?;
            if !json {
                println!(
                    "{:<26} {:<16} {:<15} {:<25} {:>9} {:>10}  name",
                    "mn", "site", "kind", "last seen", "packets", "values"
                );
            }
            for d in devices {
                let st = states.iter().find(|s| s.mn == d.mn);
                let seen = st
                    .and_then(|s| s.last_seen_ms)
                    .map(|ms| model::format_beijing(ms.div_euclid(1000)));
                if json {
                    let mut v = serde_json::to_value(&d)?;
                    v["pw"] = serde_json::Value::Null;
                    v["last_seen"] = seen.into();
                    v["packets"] = st.map(|s| s.packets).unwrap_or(0).into();
                    v["values"] = st.map(|s| s.values).unwrap_or(0).into();
                    v["deviations"] =
                        serde_json::to_value(st.map(|s| s.deviations.clone()).unwrap_or_default())?;
                    println!("{v}");
                } else {
                    println!(
                        "{:<26} {:<16} {:<15} {:<25} {:>9} {:>10}  {}",
                        d.mn,
                        d.site,
                        d.kind.as_str(),
                        seen.unwrap_or_else(|| "never".into()),
                        st.map(|s| s.packets).unwrap_or(0),
                        st.map(|s| s.values).unwrap_or(0),
                        d.name
                    );
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        DeviceCommand::Remove { db, mn } => {
            let mut store = db.open()?;
            if store.remove_device(&mn)? {
                println!("removed device {mn}");
                Ok(std::process::ExitCode::SUCCESS)
            } else {
                anyhow::bail!("no device with mn {mn}")
            }
        }
    }
}

/// Parses a device CSV; returns the good rows and one error per bad row ("line N: what").
pub fn parse_csv(text: &str) -> (Vec<Device>, Vec<String>) {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return (Vec::new(), vec![format!("line 1: unreadable header: {e}")]),
    };
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let required = ["mn", "pw", "site", "kind"];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| col(c).is_none())
        .collect();
    if !missing.is_empty() {
        return (
            Vec::new(),
            vec![format!(
                "line 1: header lacks column(s) {}",
                missing.join(", ")
            )],
        );
    }
    let mut devices: Vec<Device> = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |name: &str| col(name).and_then(|i| rec.get(i)).unwrap_or("").to_string();
        let row = (|| -> Result<Device, String> {
            let kind = get("kind");
            let num = |name: &str| -> Result<Option<u32>, String> {
                let v = get(name);
                if v.is_empty() {
                    return Ok(None);
                }
                v.parse()
                    .map(Some)
                    .map_err(|_| format!("{name} {v:?} is not a whole number"))
            };
            let d = Device {
                mn: get("mn"),
                pw: get("pw"),
                site: get("site"),
                kind: kind
                    .parse()
                    .map_err(|e: model::ParseError| format!("kind: {e}"))?,
                name: get("name"),
                protocol: Some(get("protocol")).filter(|p| !p.is_empty()),
                allow: get("allow")
                    .split([';', '|', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                calibrate_clock: matches!(
                    get("calibrate_clock").to_ascii_lowercase().as_str(),
                    "1" | "true" | "yes" | "y"
                ),
                rtd_interval: num("rtd_interval")?,
                min_interval: num("min_interval")?,
                registered: None,
            };
            validate(&d)?;
            if devices.iter().any(|x| x.mn == d.mn) {
                return Err(format!("mn {} appears twice in the file", d.mn));
            }
            Ok(d)
        })();
        match row {
            Ok(d) => devices.push(d),
            Err(e) => errors.push(format!("line {line}: {e}")),
        }
    }
    (devices, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_checked_one_by_one() {
        let text = "mn,pw,site,kind,name,allow\n\
                    MN001,123456,AIR-01,air,城区站,crc_modbus;lf_only\n\
                    MN002,123456,SW-01,boat,断面,\n\
                    MN003,,SW-01,surface_water,,\n\
                    MN004,123456,SW-01,surface_water,,bogus\n\
                    MN001,123456,AIR-01,air,dup,\n\
                    MN005,123456,FUME-0001,fume,餐馆,\n";
        let (ok, errs) = parse_csv(text);
        assert_eq!(
            ok.iter().map(|d| d.mn.as_str()).collect::<Vec<_>>(),
            ["MN001", "MN005"]
        );
        assert_eq!(ok[0].allow, ["crc_modbus", "lf_only"]);
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs[0].starts_with("line 3: kind"), "{}", errs[0]);
        assert!(errs[1].starts_with("line 4: pw is empty"), "{}", errs[1]);
        assert!(
            errs[2].contains("unknown deviation \"bogus\""),
            "{}",
            errs[2]
        );
        assert!(errs[3].contains("appears twice"), "{}", errs[3]);
    }

    #[test]
    fn header_must_name_required_columns() {
        let (ok, errs) = parse_csv("mn,pw,kind\nA,B,air\n");
        assert!(ok.is_empty());
        assert_eq!(errs, ["line 1: header lacks column(s) site"]);
    }
}
