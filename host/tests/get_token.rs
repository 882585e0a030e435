//! `azauth get-token` end to end: the real binary, the component and the emulator.

mod common;

use common::*;

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

#[test]
fn client_secret_options_produce_token() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let before = now();
    let finished = run(sandbox.azauth().args(client_secret_args(&emulator)));
    finished.assert_code(0);

    let json = finished.json();
    let issued = emulator.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(json["accessToken"], issued[0].access_token.as_str());
    assert_eq!(json["tokenType"], "Bearer");
    assert_eq!(json["authMethod"], "clientsecret");
    assert_eq!(json["tenant"], TENANT);
    let expires_on = json["expires_on"].as_u64().unwrap();
    assert!(expires_on >= before + 3599, "{expires_on}");
    assert!(expires_on <= now() + 3599, "{expires_on}");

    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(request.form_value("grant_type").as_deref(), Some("client_credentials"));
    assert_eq!(request.form_value("client_id").as_deref(), Some(CLIENT));
    assert_eq!(request.form_value("client_secret").as_deref(), Some(SECRET));
    assert_eq!(request.form_value("scope").as_deref(), Some(SCOPE));
    // Entra ID behind some proxies reads a chunked form as empty.
    assert!(!request.chunked);
    assert_eq!(
        request.header("content-length"),
        Some(request.body.len().to_string().as_str())
    );
    assert!(
        request
            .header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
}

#[test]
fn expires_on_local_time_follows_tz() {
    let emulator = start();
    let sandbox = Sandbox::new();
    // Etc/GMT-2 is UTC+02:00 with no daylight saving.
    let finished = run(sandbox.azauth().args(client_secret_args(&emulator)).env("TZ", "Etc/GMT-2"));
    let json = finished.assert_code(0).json();
    let expires_on = json["expires_on"].as_i64().unwrap();
    let expected = chrono::DateTime::from_timestamp(expires_on + 2 * 3600, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string();
    assert_eq!(json["expiresOn"], expected.as_str());
}

#[test]
fn output_token_prints_token_alone() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .args(client_secret_args(&emulator))
        .args(["--output", "token"]));
    finished.assert_code(0);
    assert_eq!(finished.stdout, format!("{}\n", emulator.issued_tokens()[0].access_token));
}

#[test]
fn resource_becomes_default_scope() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let mut args = client_secret_args(&emulator);
    let position = args.iter().position(|arg| arg == "--scope").unwrap();
    args[position] = "--resource".to_string();
    args[position + 1] = "https://vault.azure.net/".to_string();
    run(sandbox.azauth().args(args)).assert_code(0);
    let requests = token_requests(&emulator);
    assert_eq!(
        requests[0].form_value("scope").as_deref(),
        Some("https://vault.azure.net/.default")
    );
}

#[test]
fn client_secret_from_config_environment_variable() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let config = sandbox.write(
        "msticpyconfig.yaml",
        &format!(
            "Azure:\n  auth_methods: [clientsecret]\nDataProviders:\n  AzureCLI:\n    Args:\n      \
             clientId: {CLIENT}\n      tenantId: {TENANT}\n      clientSecret:\n        \
             EnvironmentVar: MY_APP_SECRET\n"
        ),
    );
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--authority-host", &emulator.url()])
        .arg("--config")
        .arg(&config)
        .env("MY_APP_SECRET", SECRET));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "clientsecret");
    assert_eq!(
        token_requests(&emulator)[0].form_value("client_secret").as_deref(),
        Some(SECRET)
    );
}

#[test]
fn client_secret_missing_environment_variable_is_unavailable() {
    let emulator = start();
    let sandbox = Sandbox::new();
    sandbox.write(
        "msticpyconfig.yaml",
        &format!(
            "DataProviders:\n  AzureCLI:\n    Args:\n      clientId: {CLIENT}\n      tenantId: \
             {TENANT}\n      clientSecret: {{EnvironmentVar: MY_APP_SECRET}}\n"
        ),
    );
    let finished = run(sandbox.azauth().args([
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "clientsecret",
        "--authority-host",
        &emulator.url(),
    ]));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "clientsecret: unavailable: DataProviders.AzureCLI.Args.clientSecret refers to the \
             environment variable MY_APP_SECRET, which is not set or empty"
        ),
        "{finished:#?}"
    );
    assert!(emulator.requests().is_empty());
}

#[test]
fn older_section_in_working_folder() {
    let emulator = start();
    let sandbox = Sandbox::new();
    sandbox.write(
        "msticpyconfig.yaml",
        &format!(
            "Azure:\n  auth_methods: clientsecret\nAzureCLI:\n  Args:\n    clientId: {CLIENT}\n    \
             tenantId: {TENANT}\n    clientSecret: {SECRET}\n"
        ),
    );
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--authority-host", &emulator.url()]));
    assert_eq!(finished.assert_code(0).json()["authMethod"], "clientsecret");
}

#[test]
fn config_found_through_msticpyconfig_and_home() {
    let emulator = start();
    let text = format!(
        "Azure:\n  auth_methods: [clientsecret]\n  tenant_id: {TENANT}\nDataProviders:\n  \
         AzureCLI:\n    Args:\n      clientId: {CLIENT}\n      clientSecret: {SECRET}\n"
    );
    let args = ["get-token", "--scope", SCOPE, "--authority-host", &emulator.url()];

    let sandbox = Sandbox::new();
    let path = sandbox.write("elsewhere/custom.yaml", &text);
    let finished = run(sandbox.azauth().args(args).env("MSTICPYCONFIG", &path));
    assert_eq!(finished.assert_code(0).json()["tenant"], TENANT);

    let sandbox = Sandbox::new();
    sandbox.write(".msticpy/msticpyconfig.yaml", &text);
    let finished = run(sandbox.azauth().args(args));
    assert_eq!(finished.assert_code(0).json()["authMethod"], "clientsecret");

    // MSTICPYCONFIG that names no file falls through to the next place, as in MSTICPy.
    let finished = run(sandbox.azauth().args(args).env("MSTICPYCONFIG", "/nonexistent.yaml"));
    finished.assert_code(0);
}

#[test]
fn env_client_secret_with_authority_host_variable() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--methods", "env"])
        .env("AZURE_CLIENT_ID", CLIENT)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env("AZURE_AUTHORITY_HOST", emulator.url()));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "env");
    assert_eq!(json["tenant"], TENANT);
    let request = &token_requests(&emulator)[0];
    assert_eq!(request.form_value("grant_type").as_deref(), Some("client_credentials"));
}

#[test]
fn env_secret_set_wins_over_username_password() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--methods", "environment"])
        .env("AZURE_CLIENT_ID", CLIENT)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env("AZURE_USERNAME", USER)
        .env("AZURE_PASSWORD", PASSWORD)
        .env("AZURE_AUTHORITY_HOST", emulator.url()));
    finished.assert_code(0);
    let request = &token_requests(&emulator)[0];
    assert_eq!(request.form_value("grant_type").as_deref(), Some("client_credentials"));
}

#[test]
fn env_username_password_grant() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let public_client = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--methods", "env", "-vvv"])
        .env("AZURE_CLIENT_ID", public_client)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_USERNAME", USER)
        .env("AZURE_PASSWORD", PASSWORD)
        .env("AZURE_AUTHORITY_HOST", emulator.url()));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "env");
    assert!(!finished.stderr.contains(PASSWORD), "{}", finished.stderr);

    let requests = emulator.requests();
    let realm = requests
        .iter()
        .find(|request| request.path.starts_with("/common/userrealm/"))
        .expect("user realm discovery before the password grant");
    assert_eq!(realm.path, format!("/common/userrealm/{USER}"));
    assert_eq!(realm.query_value("api-version").as_deref(), Some("1.0"));

    let request = &token_requests(&emulator)[0];
    assert_eq!(request.form_value("grant_type").as_deref(), Some("password"));
    assert_eq!(request.form_value("username").as_deref(), Some(USER));
    assert_eq!(request.form_value("password").as_deref(), Some(PASSWORD));
    assert_eq!(request.form_value("client_id").as_deref(), Some(public_client));
    assert_eq!(request.form_value("client_info").as_deref(), Some("1"));
    let scope = request.form_value("scope").unwrap();
    for part in [SCOPE, "openid", "profile", "offline_access"] {
        assert!(scope.split(' ').any(|s| s == part), "{scope}");
    }
    assert_eq!(request.header("x-anchormailbox"), Some(format!("upn:{USER}").as_str()));
}

#[test]
fn env_wrong_password_fails_without_leaking_it() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--methods", "env,clientsecret"])
        .env("AZURE_CLIENT_ID", "04b07795-8ddb-461a-bbee-02f9e1bf7b46")
        .env("AZURE_USERNAME", USER)
        .env("AZURE_PASSWORD", "wrong-password-value")
        .env("AZURE_AUTHORITY_HOST", emulator.url()));
    finished.assert_code(1);
    assert!(finished.stderr.contains("env: failed: "), "{}", finished.stderr);
    assert!(finished.stderr.contains("AADSTS50126"), "{}", finished.stderr);
    assert!(finished.stderr.contains("Hint: check the username and password"));
    assert!(!finished.stderr.contains("wrong-password-value"));
    // The chain stopped: clientsecret was not tried.
    assert!(!finished.stderr.contains("clientsecret:"), "{}", finished.stderr);
}

#[test]
fn env_username_password_without_client_id_names_it() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--methods", "env"])
        .env("AZURE_USERNAME", USER)
        .env("AZURE_PASSWORD", PASSWORD)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_AUTHORITY_HOST", emulator.url()));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "env: unavailable: the username and password variables are incomplete: \
             AZURE_CLIENT_ID is not set"
        ),
        "{}",
        finished.stderr
    );
    assert!(!finished.stderr.contains(PASSWORD));
    assert!(emulator.requests().is_empty());
}

#[test]
fn env_empty_secret_fails_and_stops_chain() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let mut args = client_secret_args(&emulator);
    let position = args.iter().position(|arg| arg == "clientsecret").unwrap();
    args[position] = "env,clientsecret".to_string();
    let finished = run(sandbox
        .azauth()
        .args(args)
        .env("AZURE_CLIENT_ID", CLIENT)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_SECRET", ""));
    finished.assert_code(1);
    assert!(finished.stderr.contains("env: failed: AZURE_CLIENT_SECRET is set but empty"));
    assert!(emulator.requests().is_empty());
}

#[test]
fn unavailable_method_lets_chain_continue() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let mut args = client_secret_args(&emulator);
    let position = args.iter().position(|arg| arg == "clientsecret").unwrap();
    args[position] = "env,msi,clientsecret,devicecode".to_string();
    let finished = run(sandbox.azauth().args(args).arg("-v"));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "clientsecret");
    // The log names each method tried and how it ended.
    for method in ["env", "msi", "clientsecret"] {
        assert!(
            finished.stderr.contains(&format!("method tried method={method} ")),
            "{method}: {}",
            finished.stderr
        );
    }
}

#[test]
fn failed_method_stops_chain() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .args([
            "get-token",
            "--scope",
            SCOPE,
            "--methods",
            "clientsecret,env",
            "--tenant-id",
            TENANT,
            "--client-id",
            CLIENT,
            "--client-secret",
            "not-the-secret",
            "--authority-host",
            &emulator.url(),
        ])
        .env("AZURE_CLIENT_ID", CLIENT)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_SECRET", SECRET));
    finished.assert_code(1);
    assert!(finished.stderr.contains("clientsecret: failed: Entra ID rejected the token request"));
    assert!(finished.stderr.contains("AADSTS7000215"), "{}", finished.stderr);
    assert!(finished.stderr.contains("Hint: use the client secret's value, not its ID"));
    assert!(finished.stderr.contains("trace ID "), "{}", finished.stderr);
    assert!(!finished.stderr.contains("not-the-secret"));
    assert!(!finished.stderr.contains("  env:"), "{}", finished.stderr);
    assert_eq!(token_requests(&emulator).len(), 1);
}

#[test]
fn entra_errors_name_code_and_hint() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let cases = [
        ("contoso-unknown.example", CLIENT, "AADSTS90002", "Hint: check the tenant ID"),
        (TENANT, "00000000-0000-0000-0000-000000000000", "AADSTS700016", "Hint: check the client ID"),
    ];
    for (tenant, client, code, hint) in cases {
        let finished = run(sandbox.azauth().args([
            "get-token",
            "--scope",
            SCOPE,
            "--methods",
            "clientsecret",
            "--tenant-id",
            tenant,
            "--client-id",
            client,
            "--client-secret",
            SECRET,
            "--authority-host",
            &emulator.url(),
        ]));
        finished.assert_code(1);
        assert!(finished.stderr.contains(code), "{code}: {}", finished.stderr);
        assert!(finished.stderr.contains(hint), "{code}: {}", finished.stderr);
    }
}

#[test]
fn no_method_available_lists_every_reason() {
    // The default chain ends with devicecode; the emulator declines its sign-in.
    let emulator = Emulator::start(EmulatorConfig::default().device_code_interval_secs(1)).unwrap();
    emulator.push_device_poll(azauth_emulator::DevicePoll::Declined);
    let sandbox = Sandbox::new();
    // The default chain starts with msi: IMDS goes to a refused loopback port, never to
    // the real IMDS address.
    let imds = format!("http://127.0.0.1:{}", refused_port());
    let finished = run(sandbox
        .azauth()
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds)
        .args(["get-token", "--scope", SCOPE, "--authority-host", &emulator.url(), "--no-cache"]));
    finished.assert_code(1);
    assert!(finished.stdout.is_empty());
    let lines: Vec<&str> = finished
        .stderr
        .lines()
        .skip_while(|line| !line.starts_with("azauth: no method"))
        .collect();
    assert_eq!(lines[0], format!("azauth: no method produced a token for {SCOPE}"));
    assert!(lines[1].starts_with("  msi: unavailable: "), "{lines:?}");
    assert!(lines[2].starts_with("  cli: unavailable: "), "{lines:?}");
    assert!(lines[3].starts_with("  devicecode: failed: the sign-in at "), "{lines:?}");
    assert!(lines[4].starts_with("The chain stopped at the failed method"), "{lines:?}");
    assert_eq!(lines.len(), 5, "{lines:?}");
}

#[test]
fn config_auth_methods_are_used() {
    let sandbox = Sandbox::new();
    sandbox.write("msticpyconfig.yaml", "Azure:\n  auth_methods: [env, cli]\n");
    let finished = run(sandbox.azauth().args(["get-token", "--scope", SCOPE]));
    finished.assert_code(1);
    let methods: Vec<&str> = finished
        .stderr
        .lines()
        .skip(1)
        .filter_map(|line| line.trim().split(':').next())
        .collect();
    assert_eq!(methods, ["env", "cli"]);
}

#[test]
fn usage_errors_exit_2_before_any_request() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let url = emulator.url();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--methods", "cli,kerberos"], "unknown auth method \"kerberos\": valid names are env (environment), cli, msi"),
        (vec!["--tenant-id", "x;echo INJECTED"], "invalid tenant id \"x;echo INJECTED\""),
        (vec!["--tenant-id", "ténant"], "invalid tenant id"),
        (vec!["--cloud", "nosuchcloud"], "unknown cloud \"nosuchcloud\": valid names are global"),
        (vec!["--authority-host", "http://login.example"], "plain http is accepted only for loopback hosts"),
        (vec!["--client-id", "a b"], "invalid client id"),
    ];
    for (extra, expected) in cases {
        let authority = if extra.contains(&"--authority-host") { vec![] } else { vec!["--authority-host", &url] };
        let finished = run(sandbox
            .azauth()
            .args(["get-token", "--scope", SCOPE])
            .args(&authority)
            .args(&extra));
        finished.assert_code(2);
        assert!(finished.stderr.contains(expected), "{extra:?}: {}", finished.stderr);
    }
    for scope in [
        "https://management.azure.com/.default;echo INJECTED",
        "https://x.example/.default $(echo INJECTED)",
        "https://x.example/`id`",
        "",
    ] {
        let finished = run(sandbox.azauth().args(["get-token", "--scope", scope, "--methods", "env"]));
        finished.assert_code(2);
        assert!(finished.stderr.contains("invalid scope"), "{scope}: {}", finished.stderr);
    }
    assert!(emulator.requests().is_empty());
}

#[test]
fn config_errors_exit_2() {
    let sandbox = Sandbox::new();
    let broken = sandbox.write("broken.yaml", "Azure:\n  cloud: global\n  auth_methods: [cli\n");
    let finished = run(sandbox.azauth().args(["get-token", "--scope", SCOPE]).arg("--config").arg(&broken));
    finished.assert_code(2);
    assert!(
        finished.stderr.contains(&format!("invalid YAML in {} at line ", broken.display())),
        "{}",
        finished.stderr
    );

    let key_vault = sandbox.write(
        "kv.yaml",
        "DataProviders:\n  AzureCLI:\n    Args:\n      clientSecret:\n        KeyVault: vault/name\n",
    );
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--methods", "clientsecret"])
        .arg("--config")
        .arg(&key_vault));
    finished.assert_code(2);
    assert!(finished.stderr.contains("is a KeyVault reference, which azauth does not support"));

    let finished = run(sandbox.azauth().args(["get-token", "--scope", SCOPE, "--config", "/nonexistent.yaml"]));
    finished.assert_code(2);
    assert!(finished.stderr.contains("the configuration file /nonexistent.yaml does not exist"));

    let finished = run(sandbox.azauth().args(["get-token"]));
    finished.assert_code(2);
}

#[test]
fn secrets_and_tokens_never_logged() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .args(client_secret_args(&emulator))
        .arg("-vvv")
        .env("RUST_LOG", "trace"));
    finished.assert_code(0);
    let token = emulator.issued_tokens()[0].access_token.clone();
    assert!(finished.stderr.contains("clientsecret produced a token"), "{}", finished.stderr);
    assert!(!finished.stderr.contains(SECRET), "secret in the log");
    assert!(!finished.stderr.contains(&token), "token in the log");
    assert!(finished.stdout.contains(&token));
}

#[test]
fn throttled_request_is_retried() {
    let emulator = start();
    emulator.push_fault(Fault::Status {
        status: 429,
        body: "Too many requests".to_string(),
        content_type: "text/plain".to_string(),
        headers: vec![("Retry-After".to_string(), "1".to_string())],
    });
    emulator.push_fault(Fault::Status {
        status: 503,
        body: "busy".to_string(),
        content_type: "text/plain".to_string(),
        headers: vec![("retry-after-ms".to_string(), "50".to_string())],
    });
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth().args(client_secret_args(&emulator)));
    finished.assert_code(0);
    assert_eq!(token_requests(&emulator).len(), 3);
}

#[test]
fn retries_are_bounded() {
    let emulator = start();
    for _ in 0..5 {
        emulator.push_fault(Fault::Status {
            status: 503,
            body: "Service Unavailable".to_string(),
            content_type: "text/plain".to_string(),
            headers: vec![("retry-after-ms".to_string(), "10".to_string())],
        });
    }
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth().args(client_secret_args(&emulator)));
    finished.assert_code(1);
    assert_eq!(token_requests(&emulator).len(), 4);
    assert!(finished.stderr.contains("HTTP 503"), "{}", finished.stderr);
    assert!(finished.stderr.contains("Service Unavailable"), "{}", finished.stderr);
}

#[test]
fn closed_connection_names_host() {
    let emulator = start();
    emulator.push_fault(Fault::Close);
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth().args(client_secret_args(&emulator)));
    finished.assert_code(1);
    let host = emulator.url().trim_start_matches("http://").to_string();
    assert!(finished.stderr.contains(&host), "{}", finished.stderr);
}

#[test]
fn silent_server_times_out() {
    let emulator = start();
    emulator.push_fault(Fault::Silence { millis: 5000 });
    let sandbox = Sandbox::new();
    let started = std::time::Instant::now();
    let finished = run(sandbox
        .azauth()
        .args(client_secret_args(&emulator))
        .args(["--http-timeout", "1"]));
    finished.assert_code(1);
    let host = emulator.url().trim_start_matches("http://").to_string();
    assert!(
        finished.stderr.contains(&format!("{host} did not answer in time")),
        "{}",
        finished.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "{:?}", started.elapsed());
}

#[test]
fn tls_failure_names_host() {
    // The emulator speaks plain HTTP, so a TLS handshake with it fails.
    let emulator = start();
    let sandbox = Sandbox::new();
    let mut args = client_secret_args(&emulator);
    let https = emulator.url().replace("http://", "https://");
    *args.last_mut().unwrap() = https;
    let finished = run(sandbox.azauth().args(args));
    finished.assert_code(1);
    let host = emulator.url().trim_start_matches("http://").to_string();
    assert!(finished.stderr.contains(&format!("TLS handshake with {host} failed")) || finished.stderr.contains(&format!("{host} sent an invalid")), "{}", finished.stderr);
}

#[test]
fn dns_failure_names_host() {
    // Only inside the loopback-only namespace of scripts/test, where no lookup can leave
    // the machine.
    if std::env::var_os("AZAUTH_TEST_LOOPBACK_ONLY").is_none() {
        eprintln!("dns_failure_names_host runs only in the loopback-only namespace");
        return;
    }
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth().args([
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "clientsecret",
        "--tenant-id",
        TENANT,
        "--client-id",
        CLIENT,
        "--client-secret",
        SECRET,
        "--authority-host",
        "https://login.invalid",
    ]));
    finished.assert_code(1);
    assert!(finished.stderr.contains("DNS lookup of login.invalid"), "{}", finished.stderr);
}

#[test]
fn refused_connection_names_host() {
    // Bind and drop a listener to find a port with nothing behind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth().args([
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "clientsecret",
        "--tenant-id",
        TENANT,
        "--client-id",
        CLIENT,
        "--client-secret",
        SECRET,
        "--authority-host",
        &format!("http://127.0.0.1:{port}"),
    ]));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(&format!("connection to 127.0.0.1:{port} was refused")),
        "{}",
        finished.stderr
    );
}

#[test]
fn methods_command_lists_names_and_aliases() {
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth().arg("methods"));
    finished.assert_code(0);
    for expected in [
        "env (also: environment)",
        "msi (also: managedidentity, managed_identity)",
        "devicecode (also: device_code, device)",
        "clientsecret (also: client_secret)",
        "certificate (also: cert)",
        "interactive (also: interactive_browser)",
        "vscode",
        "powershell",
        "cli",
    ] {
        assert!(finished.stdout.contains(expected), "{expected}: {}", finished.stdout);
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
