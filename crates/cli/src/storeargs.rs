//! `--data DIR` / `--store URL`: where a command finds the platform's data. Every command that
//! reads or changes data takes both; without `--store` it is the embedded store in `--data`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use store::{Backend, StoreConfig};

#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Data folder of the embedded store (SQLite), used when --store is not given.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// The platform's store instead of the data folder: `postgres://user@host:port/database`
    /// (also from the environment variable QINGSHAN_STORE).
    #[arg(long, env = "QINGSHAN_STORE")]
    pub store: Option<String>,
}

impl StoreArgs {
    pub fn config(&self) -> anyhow::Result<StoreConfig> {
        Ok(StoreConfig::new(self.store.as_deref(), &self.data)?)
    }

    /// Opens the store (creating an empty one if there is none yet).
    pub fn open(&self) -> anyhow::Result<Box<dyn Backend>> {
        let cfg = self.config()?;
        cfg.open()
            .with_context(|| format!("opening the {}", cfg.describe()))
    }

    /// Opens a store that must already hold data (reports, exports, audits).
    pub fn open_existing(&self) -> anyhow::Result<Box<dyn Backend>> {
        let cfg = self.config()?;
        cfg.open_existing()
            .with_context(|| format!("opening the {}", cfg.describe()))
    }

    pub fn describe(&self) -> String {
        match self.config() {
            Ok(c) => c.describe(),
            Err(_) => self.data.display().to_string(),
        }
    }
}
