// Gets an Azure access token through the azauth component from Node.js.
//
// A minimal host for the component transpiled by jco (`npm run transpile`). It grants
// the component only the environment variables of the credential methods and HTTP
// requests only to the authority host, defines the two custom imports, calls
// `get-token-with-options` and prints the token's metadata as JSON.
//
// Exit codes: 0 when a method produced a token, 1 when none did, 2 for a usage error or
// an invalid request.

import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";

import { WASIShim } from "@bytecodealliance/preview2-shim/instantiation";

import { allowedOrigins, grantedEnvironment, restrictOutgoingHandler } from "./policy.mjs";

const GENERATED = new URL("./generated/", import.meta.url);
const DEFAULT_SCOPE = "https://management.azure.com/.default";

// The `level` enum of azauth:credential/logging, most severe first.
const LEVELS = ["error", "warn", "info", "debug", "trace"];

const USAGE = `Usage: node host.mjs [options]

Gets an Azure access token through the azauth WebAssembly component.

Options:
  --methods NAME[,NAME...]  credential methods, in order (default: clientsecret)
  --scope SCOPE             scope of the token (default: ${DEFAULT_SCOPE})
  --tenant-id ID            tenant ID or verified domain name
  --client-id ID            application (client) ID
  --client-secret SECRET|-  client secret for the clientsecret method; '-' reads it from stdin
  --cloud NAME              cloud name: global, usgov or cn (default: global)
  --authority-host URL      authority host URL that replaces the cloud's
  --show-token              include the access token itself in the output (as accessToken)
  -v, --verbose             print the component's log messages: -v info, -vv debug, -vvv trace
  -h, --help                print this help and exit`;

class UsageError extends Error {}

function parseCommandLine(argv) {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            options: {
                methods: { type: "string", default: "clientsecret" },
                scope: { type: "string", default: DEFAULT_SCOPE },
                "tenant-id": { type: "string" },
                "client-id": { type: "string" },
                "client-secret": { type: "string" },
                cloud: { type: "string" },
                "authority-host": { type: "string" },
                "show-token": { type: "boolean", default: false },
                verbose: { type: "boolean", short: "v", multiple: true, default: [] },
                help: { type: "boolean", short: "h", default: false },
            },
            strict: true,
        });
    } catch (error) {
        throw new UsageError(`${error.message}\n\n${USAGE}`);
    }
    return parsed.values;
}

/** Returns the client secret, reading it from stdin when the value is '-'. */
function readSecret(value) {
    if (value !== "-") {
        return value;
    }
    const secret = readFileSync(0, "utf8").replace(/[\r\n]+$/, "");
    if (secret === "") {
        throw new UsageError("--client-secret - read an empty secret from stdin");
    }
    return secret;
}

function makeLogger(verbosity) {
    // Messages at warn and error are always printed. Each -v adds one level.
    const maxLevel = Math.min(1 + verbosity, LEVELS.length - 1);
    return (level, message) => {
        if (LEVELS.indexOf(level) <= maxLevel) {
            console.error(`azauth-host: ${level.toUpperCase()} ${message}`);
        }
    };
}

async function instantiateComponent(options, log) {
    // The sandbox replaces the shim's defaults, which pass all of process.env and the
    // process arguments to the component. No directory is preopened, as in the
    // default of preview2-shim 0.26.
    const shim = new WASIShim({ sandbox: { env: grantedEnvironment(process.env), args: [], preopens: {} } });
    const wasiImports = shim.getImportObject();
    const imports = {
        ...wasiImports,
        "wasi:http/outgoing-handler": restrictOutgoingHandler(
            wasiImports["wasi:http/outgoing-handler"],
            allowedOrigins(options, process.env),
            log,
        ),
        "azauth:credential/logging": { log },
        "azauth:credential/process": {
            run(command) {
                log("info", `rejected a request to run ${command.program}: this host does not run programs`);
                // A thrown object becomes the err case: run-error.not-allowed.
                throw { tag: "not-allowed", val: `${command.program}: this host does not run programs` };
            },
        },
        // This host has no person to sign in and keeps no persistent cache: every call
        // fails, so devicecode and interactive report themselves unavailable and tokens
        // live only as long as the instance. A thrown string becomes the err case.
        "azauth:credential/user": {
            showDeviceCode() {
                throw "this host cannot show a device code";
            },
            endDeviceCode() {},
            openBrowser() {
                throw "this host cannot open a browser";
            },
            listenRedirect() {
                throw "this host cannot listen for a sign-in redirect";
            },
            waitRedirect() {
                throw "this host cannot listen for a sign-in redirect";
            },
        },
        "azauth:credential/token-store": {
            load() {
                throw "this host keeps no persistent token cache";
            },
            save() {
                throw "this host keeps no persistent token cache";
            },
            remove() {
                throw "this host keeps no persistent token cache";
            },
        },
        // The types interface has no functions.
        "azauth:credential/types": {},
    };

    let instantiate;
    try {
        ({ instantiate } = await import(new URL("azauth.js", GENERATED)));
    } catch (error) {
        throw new UsageError(`failed to load the transpiled component in ${GENERATED.pathname}: ${error.message}\nRun \`npm run transpile\` after \`cargo build --release\`.`);
    }
    const compileCore = async (name) => WebAssembly.compile(await readFile(new URL(name, GENERATED)));
    return instantiate(compileCore, imports);
}

function describeAttempts(attempts) {
    return attempts.map((attempt) => ({
        method: attempt.method,
        outcome: attempt.outcome,
        reason: attempt.reason,
        elapsedMs: Number(attempt.elapsedMs),
    }));
}

/** Returns the token's metadata, with the token itself only when showToken is set. */
function tokenMetadata(token, showToken) {
    return {
        ...(showToken ? { accessToken: token.token } : {}),
        expires_on: Number(token.expiresOn),
        tenant: token.tenant ?? null,
        tokenType: token.tokenType,
        authMethod: token.method,
        attempts: describeAttempts(token.attempts),
    };
}

async function main(argv) {
    const options = parseCommandLine(argv);
    if (options.help) {
        console.log(USAGE);
        return 0;
    }
    const log = makeLogger(options.verbose.length);
    const clientSecret = options["client-secret"] === undefined ? undefined : readSecret(options["client-secret"]);
    const methods = options.methods.split(",").map((name) => name.trim()).filter(Boolean);

    const component = await instantiateComponent(options, log);
    const tokenOptions = {
        tenantId: options["tenant-id"],
        clientId: options["client-id"],
        clientSecret,
        cloud: options.cloud,
        authorityHost: options["authority-host"],
    };

    // The call blocks this thread until the component returns: the shim runs HTTP
    // requests on a worker thread and waits for them synchronously.
    let token;
    try {
        token = component.getTokenWithOptions(methods, options.scope, tokenOptions);
    } catch (error) {
        // jco throws the err case of a result as a ComponentError whose payload is the
        // auth-error variant.
        const authError = error?.payload;
        if (authError?.tag === "invalid-request") {
            console.error(`azauth-host: invalid request: ${authError.val}`);
            return 2;
        }
        if (authError?.tag === "no-token") {
            console.error(`azauth-host: no method produced a token for ${options.scope}:`);
            for (const attempt of describeAttempts(authError.val)) {
                console.error(`  ${attempt.method}: ${attempt.outcome}: ${attempt.reason}`);
            }
            return 1;
        }
        throw error;
    }
    console.log(JSON.stringify(tokenMetadata(token, options["show-token"]), null, 2));
    return 0;
}

try {
    process.exitCode = await main(process.argv.slice(2));
} catch (error) {
    if (!(error instanceof UsageError)) {
        throw error;
    }
    console.error(`azauth-host: ${error.message}`);
    process.exitCode = 2;
}
