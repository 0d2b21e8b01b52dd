//! Runs the emulator standalone, before `dmgmt emulator` exists or without the CLI:
//! `cargo run --example emulator -- --listen 127.0.0.1:0 --data /tmp/emu.json`.

use clap::Parser;

#[derive(Parser)]
#[command(about = "local Descope-compatible management API")]
struct Cli {
    #[command(flatten)]
    args: dmgmt::emulator::EmulatorArgs,
}

fn main() {
    let cli = Cli::parse();
    if let Err(err) = dmgmt::emulator::run_standalone(cli.args) {
        eprintln!("{err}");
        std::process::exit(err.exit_code());
    }
}
