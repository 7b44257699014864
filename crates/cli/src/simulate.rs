//! `qingshan simulate` — filled in by the simulator work.
use clap::Args;

#[derive(Args)]
pub struct SimulateArgs {}

pub fn run(_a: SimulateArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("simulate: not built yet")
}
