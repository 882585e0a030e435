//! Command line: runs the emulator with the demo registrations until the process is
//! killed.

use std::io::{self, Write};
use std::process::ExitCode;

use azauth_emulator::{DEFAULT_TOKEN_LIFETIME_SECS, Emulator, EmulatorConfig, demo};

/// Parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(RunOptions),
    Help,
}

/// Settings of a run.
#[derive(Debug, PartialEq, Eq)]
struct RunOptions {
    /// TCP port on 127.0.0.1; 0 picks a free port.
    port: u16,
    /// `expires_in` of issued access tokens, in seconds.
    token_lifetime_secs: u64,
}

fn usage() -> String {
    format!(
        "\
Usage: azauth-emulator [--port N] [--token-lifetime SECS]

Runs a local Microsoft Entra ID emulator on http://127.0.0.1 over plain HTTP/1.1.
The first line on stdout is 'azauth-emulator listening on URL'. One line per request
(method, path, status) goes to stderr. The emulator runs until it is killed.

Options:
  --port N                TCP port to listen on; 0 picks a free port (default: 0)
  --token-lifetime SECS   expires_in of issued access tokens, in seconds (default: {DEFAULT_TOKEN_LIFETIME_SECS})
  -h, --help              print this help and exit

Demo registrations (fake credentials for offline testing):
  tenant            {tenant} ({domain})
  confidential app  {client}, secret {secret}
  public apps       {cli} (Azure CLI), {vs_code} (VS Code)
  user              {user}, password {password}

Example:
  curl -d grant_type=client_credentials -d client_id={client} \\
       -d client_secret={secret} -d scope=https://management.azure.com/.default \\
       http://127.0.0.1:PORT/{domain}/oauth2/v2.0/token
",
        tenant = demo::TENANT_ID,
        domain = demo::DOMAIN,
        client = demo::CLIENT_ID,
        secret = demo::CLIENT_SECRET,
        cli = demo::AZURE_CLI_CLIENT_ID,
        vs_code = demo::VS_CODE_CLIENT_ID,
        user = demo::USERNAME,
        password = demo::PASSWORD,
    )
}

/// Parses the arguments after the program name. Accepts `--name value` and
/// `--name=value`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = RunOptions {
        port: 0,
        token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
    };
    let mut args = args.into_iter();

    while let Some(arg) = args.next() {
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--port" => {
                let value = option_value(&name, inline_value, &mut args)?;
                options.port = value.parse().map_err(|_| {
                    format!(
                        "invalid value '{value}' for --port: expected a port number from 0 to 65535"
                    )
                })?;
            }
            "--token-lifetime" => {
                let value = option_value(&name, inline_value, &mut args)?;
                options.token_lifetime_secs = value.parse().map_err(|_| {
                    format!("invalid value '{value}' for --token-lifetime: expected a whole number of seconds")
                })?;
            }
            _ => return Err(format!("unknown argument '{arg}'")),
        }
    }

    Ok(Command::Run(options))
}

fn option_value(
    name: &str,
    inline_value: Option<String>,
    args: &mut impl Iterator<Item = String>,
) -> Result<String, String> {
    inline_value
        .or_else(|| args.next())
        .ok_or_else(|| format!("missing value for {name}"))
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("azauth-emulator: {message}\nRun 'azauth-emulator --help' for usage.");
            return ExitCode::from(2);
        }
    };

    let config = EmulatorConfig::default()
        .token_lifetime_secs(options.token_lifetime_secs)
        .log_requests(true);
    let emulator = match Emulator::start_on(config, options.port) {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!(
                "azauth-emulator: failed to listen on 127.0.0.1:{}: {error}",
                options.port
            );
            return ExitCode::FAILURE;
        }
    };

    let mut stdout = io::stdout().lock();
    let announced = writeln!(stdout, "azauth-emulator listening on {}", emulator.url())
        .and_then(|()| stdout.flush());
    if let Err(error) = announced {
        eprintln!("azauth-emulator: failed to write the listening address to stdout: {error}");
        return ExitCode::FAILURE;
    }
    drop(stdout);

    // The accept and connection threads do the work. This thread only keeps the process
    // and the emulator alive until a signal ends both.
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn defaults_without_arguments() {
        assert_eq!(
            parse(&[]),
            Ok(Command::Run(RunOptions {
                port: 0,
                token_lifetime_secs: 3599
            }))
        );
    }

    #[test]
    fn reads_both_value_forms() {
        assert_eq!(
            parse(&["--port", "8400", "--token-lifetime=60"]),
            Ok(Command::Run(RunOptions {
                port: 8400,
                token_lifetime_secs: 60
            }))
        );
    }

    #[test]
    fn help_wins() {
        assert_eq!(parse(&["--port", "1", "-h"]), Ok(Command::Help));
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
    }

    #[test]
    fn rejects_bad_arguments() {
        assert_eq!(
            parse(&["--port", "70000"]),
            Err(
                "invalid value '70000' for --port: expected a port number from 0 to 65535"
                    .to_owned()
            )
        );
        assert_eq!(
            parse(&["--port"]),
            Err("missing value for --port".to_owned())
        );
        assert_eq!(
            parse(&["--token-lifetime", "-1"]),
            Err(
                "invalid value '-1' for --token-lifetime: expected a whole number of seconds"
                    .to_owned()
            )
        );
        assert_eq!(
            parse(&["--verbose"]),
            Err("unknown argument '--verbose'".to_owned())
        );
    }
}
