//! `qingshan` — the one binary of the platform. Each subcommand lives in its own module and
//! only wires the library crates together; no domain logic lives here.

use clap::{Parser, Subcommand};

mod eval;
mod hj212_cmd;

#[derive(Parser)]
#[command(
    name = "qingshan",
    version,
    about = "qingshan (青山) eco-environment supervision platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// HJ 212 protocol tools: parse a byte stream, encode a packet, compute a CRC.
    #[command(subcommand)]
    Hj212(hj212_cmd::Hj212Command),
    /// Evaluate measurements against the national standards (JSON lines in, JSON lines out).
    #[command(subcommand)]
    Eval(eval::EvalCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hj212(cmd) => hj212_cmd::run(cmd),
        Command::Eval(cmd) => eval::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("qingshan: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
