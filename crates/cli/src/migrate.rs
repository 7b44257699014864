//! `qingshan migrate --data DIR --to postgres://…` — moves an embedded installation into
//! PostgreSQL: every table (values, archive, devices, commands, alarms and their steps, audit
//! marks, accounts and the audit log, indicator entries, derived tables with their
//! watermarks), then checks the row counts on both sides. Stop `serve` first; afterwards start
//! it with `--store postgres://…`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct MigrateArgs {
    /// The embedded installation's data folder.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// The PostgreSQL database to fill (must hold no qingshan data yet).
    #[arg(long)]
    pub to: String,
}

pub fn run(a: MigrateArgs) -> anyhow::Result<std::process::ExitCode> {
    let src_cfg = store::StoreConfig::new(None, &a.data)?;
    let dst_cfg = store::StoreConfig::new(Some(&a.to), &a.data)?;
    anyhow::ensure!(
        a.data.join("qingshan.db").exists(),
        "{} holds no qingshan data (qingshan.db): give the folder `qingshan serve` used with --data",
        a.data.display()
    );
    let src = store::SqliteStore::open(&a.data)
        .with_context(|| format!("opening the {}", src_cfg.describe()))?;
    let dst = store::PgStore::connect(&a.to)
        .with_context(|| format!("opening the {}", dst_cfg.describe()))?;
    let started = std::time::Instant::now();
    let mut err = std::io::stderr().lock();
    let copied = store::migrate::sqlite_to_postgres(&src, &dst, &mut |t| {
        let _ = writeln!(err, "migrate: {:<20} {:>12} rows", t.table, t.rows);
    })
    .with_context(|| {
        format!(
            "migrating {} into {}",
            src_cfg.describe(),
            dst_cfg.describe()
        )
    })?;
    let rows: u64 = copied.iter().map(|t| t.rows).sum();
    println!(
        "{}",
        serde_json::json!({
            "from": src_cfg.describe(),
            "to": dst_cfg.describe(),
            "tables": copied,
            "rows": rows,
            "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        })
    );
    Ok(std::process::ExitCode::SUCCESS)
}
