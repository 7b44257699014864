//! `qingshan eval …` — filled in by the standards work (issue 3).
use clap::Subcommand;

#[derive(Subcommand)]
pub enum EvalCommand {}

pub fn run(cmd: EvalCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {}
}
