//! `azauth`: get an Azure access token through the sandboxed credential component.
//!
//! Exit codes: 0 on success, 1 when no method produced a token, 2 for a usage or
//! configuration error.

mod cli;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    output::init_logging(args.verbose());
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("azauth: starting the async runtime failed: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(cli::run(args))
}
