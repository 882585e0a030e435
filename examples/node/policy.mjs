// Grants of the example host to the azauth component: environment variables and the
// origins of HTTP requests. They are kept apart from host.mjs so that policy.test.mjs
// can test them without the component.

// The variables that the credential methods read, as the Rust host grants them. The
// component receives these, when set, and no other variable of this process.
const METHOD_VARIABLES = [
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
];

// Authority hosts of the clouds, by the names that the component accepts.
const CLOUD_AUTHORITIES = {
    global: "https://login.microsoftonline.com",
    public: "https://login.microsoftonline.com",
    azurecloud: "https://login.microsoftonline.com",
    usgov: "https://login.microsoftonline.us",
    gov: "https://login.microsoftonline.us",
    azureusgovernment: "https://login.microsoftonline.us",
    cn: "https://login.chinacloudapi.cn",
    china: "https://login.chinacloudapi.cn",
    azurechinacloud: "https://login.chinacloudapi.cn",
};

/** Returns the granted environment: the method variables that are set, and nothing else. */
export function grantedEnvironment(env) {
    const granted = {};
    for (const name of METHOD_VARIABLES) {
        if (env[name] !== undefined) {
            granted[name] = env[name];
        }
    }
    return granted;
}

/**
 * Returns the origin (`scheme://host[:port]`, without a default port) of an HTTP or
 * HTTPS URL, or undefined for an invalid URL or another scheme.
 */
function httpOrigin(text) {
    let url;
    try {
        url = new URL(text);
    } catch {
        return undefined;
    }
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : undefined;
}

/** Returns the origin of an authority host, or undefined when it is invalid. */
export function authorityOrigin(host) {
    // The component adds https:// to a value without a scheme, as azure-identity does.
    return httpOrigin(/^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `https://${host}`);
}

/**
 * Returns the origins that the component may send requests to: the explicit authority
 * host and AZURE_AUTHORITY_HOST when set, else the cloud's authority. `options` takes
 * the command-line names `authority-host` and `cloud`.
 */
export function allowedOrigins(options, env) {
    const hosts = [options["authority-host"], env.AZURE_AUTHORITY_HOST].filter(Boolean);
    if (hosts.length === 0) {
        // An unknown cloud name allows nothing; the component rejects it with the valid names.
        const cloudAuthority = CLOUD_AUTHORITIES[(options.cloud ?? "global").toLowerCase()];
        hosts.push(...(cloudAuthority ? [cloudAuthority] : []));
    }
    return new Set(hosts.map(authorityOrigin).filter(Boolean));
}

/**
 * Returns the origin of a wasi:http outgoing-request, or undefined when it has no
 * scheme or authority, or a scheme other than HTTP and HTTPS.
 */
export function requestOrigin(request) {
    const scheme = request.scheme();
    const authority = request.authority();
    if (scheme === undefined || authority === undefined) {
        return undefined;
    }
    const schemeName = scheme.tag === "other" ? scheme.val : scheme.tag.toLowerCase();
    return httpOrigin(`${schemeName}://${authority}`);
}

/** Wraps a wasi:http outgoing-handler so that it sends requests only to `origins`. */
export function restrictOutgoingHandler(handler, origins, log) {
    return {
        ...handler,
        handle(request, requestOptions) {
            const origin = requestOrigin(request);
            if (origin === undefined || !origins.has(origin)) {
                const target = origin ?? "a URL without an HTTP scheme or an authority";
                log("warn", `rejected an HTTP request to ${target}; allowed origins: ${[...origins].join(", ") || "none"}`);
                // A thrown object becomes the err case: error-code.HTTP-request-denied.
                throw { tag: "HTTP-request-denied" };
            }
            return handler.handle(request, requestOptions);
        },
    };
}
