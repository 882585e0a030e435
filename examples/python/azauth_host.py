"""Get an Azure access token through the azauth component from Python.

A minimal host for the component built by `cargo build --release`, using wasmtime-py
(the `wasmtime` package on PyPI). It grants the component only the environment
variables of the credential methods, defines the two custom imports, calls
`get-token-with-options` and prints the token's metadata as JSON.

Exit codes: 0 when a method produced a token, 1 when none did, 2 for a usage error or
an invalid request.
"""

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from wasmtime import Engine, Store, WasiConfig, WasmtimeError
from wasmtime.component import Component, Linker, Record, Variant

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_COMPONENT = REPOSITORY / "target/guest/wasm32-wasip2/guest/azauth_guest.wasm"
DEFAULT_SCOPE = "https://management.azure.com/.default"

# The variables that the credential methods read, as the Rust host grants them. The
# component receives these, when set, and no other variable of this process.
METHOD_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "MSI_ENDPOINT",
)

# The `level` enum of azauth:credential/logging mapped to Python logging levels.
TRACE = 5
GUEST_LEVELS = {
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}
VERBOSITY_LEVELS = [logging.WARNING, logging.INFO, logging.DEBUG, TRACE]

# The fields of the WIT record token-options, in order. wasmtime-py needs every field
# of a record set, so this list must follow wit/azauth.wit.
TOKEN_OPTION_FIELDS = (
    "tenant-id",
    "client-id",
    "client-secret",
    "certificate-path",
    "certificate-password",
    "cloud",
    "authority-host",
    "config",
    "send-certificate-chain",
    "login-hint",
    "sign-in-timeout-secs",
    "imds-probe-timeout-ms",
    "process-timeout-ms",
    "identity-object-id",
    "identity-resource-id",
)

guest_log = logging.getLogger("azauth.guest")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Get an Azure access token through the azauth WebAssembly component."
    )
    parser.add_argument(
        "--component",
        type=Path,
        default=DEFAULT_COMPONENT,
        help="path of azauth_guest.wasm (default: %(default)s)",
    )
    parser.add_argument(
        "--methods",
        default="clientsecret",
        help="comma-separated credential methods, in order (default: %(default)s)",
    )
    parser.add_argument("--scope", default=DEFAULT_SCOPE, help="scope of the token (default: %(default)s)")
    parser.add_argument("--tenant-id", help="tenant ID or verified domain name")
    parser.add_argument("--client-id", help="application (client) ID")
    parser.add_argument(
        "--client-secret",
        metavar="SECRET|-",
        help="client secret for the clientsecret method; '-' reads it from stdin",
    )
    parser.add_argument("--cloud", help="cloud name: global, usgov or cn")
    parser.add_argument("--authority-host", help="authority host URL that replaces the cloud's")
    parser.add_argument(
        "--show-token",
        action="store_true",
        help="include the access token itself in the output (as accessToken)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="print the component's log messages: -v info, -vv debug, -vvv trace",
    )
    return parser.parse_args(argv)


def read_secret(value):
    """Return the client secret, reading it from stdin when the value is '-'."""
    if value != "-":
        return value
    secret = sys.stdin.read().rstrip("\r\n")
    if not secret:
        raise ValueError("--client-secret - read an empty secret from stdin")
    return secret


def run_program(_store, command):
    """Implement azauth:credential/process.run: this host never runs a program."""
    guest_log.info("rejected a request to run %s: this host does not run programs", command.program)
    return Variant("not-allowed", f"{command.program}: this host does not run programs")


def log_message(_store, level, message):
    """Implement azauth:credential/logging.log on Python's logging."""
    guest_log.log(GUEST_LEVELS.get(level, logging.INFO), "%s", message)


def no_person(_store, *_args):
    """Implement azauth:credential/user: this host has no person to sign in."""
    return Variant("err", "this host has no person to sign in")


def end_device_code(_store, _signed_in):
    """Implement user.end-device-code: there is no prompt to end."""


def no_token_store(_store, *_args):
    """Implement azauth:credential/token-store: this host keeps no persistent cache."""
    return Variant("err", "this host keeps no persistent token cache")


def build_linker(engine):
    linker = Linker(engine)
    linker.add_wasip2()
    # NOTE: wasmtime-py 51 gives no hook on outgoing requests, so the component can
    # reach any host that this process can. The Rust host and the Node.js example
    # allow only the authority host.
    linker.add_wasi_http()
    with linker.root() as root:
        with root.add_instance("azauth:credential/process@0.1.0") as process:
            process.add_func("run", run_program)
        with root.add_instance("azauth:credential/logging@0.1.0") as logging_instance:
            logging_instance.add_func("log", log_message)
        # Every prompt and every cache call fails, so devicecode and interactive report
        # themselves unavailable and tokens live only as long as the instance.
        with root.add_instance("azauth:credential/user@0.1.0") as user:
            for name in ("show-device-code", "open-browser", "listen-redirect", "wait-redirect"):
                user.add_func(name, no_person)
            user.add_func("end-device-code", end_device_code)
        with root.add_instance("azauth:credential/token-store@0.1.0") as token_store:
            for name in ("load", "save", "remove"):
                token_store.add_func(name, no_token_store)
    return linker


def build_store(engine):
    wasi = WasiConfig()
    wasi.env = [(name, os.environ[name]) for name in METHOD_VARIABLES if name in os.environ]
    # Panic messages from the component go to stderr. As WasiConfig does by default, the
    # component gets an empty stdin, a discarded stdout, no arguments and no preopened
    # directories.
    wasi.inherit_stderr()
    store = Store(engine)
    store.set_wasi(wasi)
    store.set_wasi_http()
    return store


def token_options(args, client_secret):
    """Build the token-options record. Record fields use the WIT (kebab-case) names."""
    options = Record()
    for field in TOKEN_OPTION_FIELDS:
        setattr(options, field, None)
    setattr(options, "tenant-id", args.tenant_id)
    setattr(options, "client-id", args.client_id)
    setattr(options, "client-secret", client_secret)
    setattr(options, "cloud", args.cloud)
    setattr(options, "authority-host", args.authority_host)
    return options


def describe_attempts(attempts):
    return [
        {
            "method": attempt.method,
            "outcome": attempt.outcome,
            "reason": attempt.reason,
            "elapsedMs": getattr(attempt, "elapsed-ms"),
        }
        for attempt in attempts
    ]


def token_metadata(token, show_token):
    """Return the token's metadata as a dict, with the token itself only when show_token is set."""
    output = {}
    if show_token:
        output["accessToken"] = token.token
    output["expires_on"] = getattr(token, "expires-on")
    output["tenant"] = token.tenant
    output["tokenType"] = getattr(token, "token-type")
    output["authMethod"] = token.method
    output["attempts"] = describe_attempts(token.attempts)
    return output


def main(argv):
    args = parse_args(argv)
    logging.addLevelName(TRACE, "TRACE")
    logging.basicConfig(
        level=VERBOSITY_LEVELS[min(args.verbose, len(VERBOSITY_LEVELS) - 1)],
        format="azauth-host: %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    methods = [name.strip() for name in args.methods.split(",") if name.strip()]

    try:
        client_secret = read_secret(args.client_secret)
    except ValueError as error:
        print(f"azauth-host: {error}", file=sys.stderr)
        return 2

    engine = Engine()
    try:
        component = Component.from_file(engine, str(args.component))
    except (OSError, WasmtimeError) as error:
        print(
            f"azauth-host: failed to load the component {args.component}: {error}\n"
            "Build it with `cargo build --release` in the repository root.",
            file=sys.stderr,
        )
        return 2
    store = build_store(engine)
    instance = build_linker(engine).instantiate(store, component)
    get_token = instance.get_func(store, "get-token-with-options")
    if get_token is None:
        print(f"azauth-host: {args.component} does not export get-token-with-options", file=sys.stderr)
        return 2

    result = get_token(store, methods, args.scope, token_options(args, client_secret))
    get_token.post_return(store)

    # wasmtime-py passes a variant untagged when the Python types of its cases differ.
    # So result<access-token, auth-error> arrives as the access-token Record, a str for
    # invalid-request(string), or a list for no-token(list<attempt>).
    if isinstance(result, str):
        print(f"azauth-host: invalid request: {result}", file=sys.stderr)
        return 2
    if isinstance(result, list):
        print(f"azauth-host: no method produced a token for {args.scope}:", file=sys.stderr)
        for attempt in describe_attempts(result):
            print(f"  {attempt['method']}: {attempt['outcome']}: {attempt['reason']}", file=sys.stderr)
        return 1
    print(json.dumps(token_metadata(result, args.show_token), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
