//! `qingshan hj212 …`
use clap::Subcommand;

#[derive(Subcommand)]
pub enum Hj212Command {}

pub fn run(cmd: Hj212Command) -> anyhow::Result<std::process::ExitCode> {
    match cmd {}
}
