//! `qingshan` — the one binary of the platform. Each subcommand lives in its own module and
//! only wires the library crates together; no domain logic lives here.

use clap::{Parser, Subcommand};

mod alarm;
mod audit;
mod bench;
mod device;
mod engines;
mod eval;
mod export;
mod hj212_cmd;
mod indicator;
mod migrate;
mod mqtt_bridge;
mod report;
mod serve;
mod serve_bus;
mod simulate;
mod storeargs;
mod user;

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
    /// Run the platform: HJ 212 gateway, store and HTTP API (the main job).
    Serve(serve::ServeArgs),
    /// Move an embedded installation (a data folder) into PostgreSQL.
    Migrate(migrate::MigrateArgs),
    /// The device registry: add, import, list, remove.
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Benchmarks that print their figures (intake end to end).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// A fleet of simulated HJ 212 devices: the demo and the load generator.
    Simulate(simulate::SimulateArgs),
    /// Export stored values as JSON lines or CSV.
    Export(export::ExportArgs),
    /// Reports the bureau sends upward (air; water, sources and indicators to come).
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Evaluate measurements against the national standards (JSON lines in, JSON lines out).
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// The plan's manually reported indicators: record a department's figure, list entries.
    #[command(subcommand)]
    Indicator(indicator::IndicatorCommand),
    /// Operator audit of stored values: mark invalid/valid with a reason, unmark, the trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Alarms and their follow-up: list, show, ack, dispatch, handle, close, reopen, scan.
    #[command(subcommand)]
    Alarm(alarm::AlarmCommand),
    /// Platform accounts for the web: add, list, passwd, disable.
    #[command(subcommand)]
    User(user::UserCommand),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Migrate(a) => migrate::run(a),
        Command::Device(cmd) => device::run(cmd),
        Command::Export(a) => export::run(a),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Simulate(a) => simulate::run(a),
        Command::Hj212(cmd) => hj212_cmd::run(cmd),
        Command::Eval(cmd) => eval::run(cmd),
        Command::Report(cmd) => report::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Indicator(cmd) => indicator::run(cmd),
        Command::Alarm(cmd) => alarm::run(cmd),
        Command::User(cmd) => user::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("qingshan: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
