//! User sign-in through `azauth`: device code polling, the persistent token cache with
//! silent reuse, logout and `--no-cache`.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use azauth_emulator::DevicePoll;
use common::*;

/// The Azure CLI's public client, the default of devicecode and interactive.
const CLI_CLIENT: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const VAULT_SCOPE: &str = "https://vault.azure.net/.default";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn start() -> Emulator {
    // Entra ID sends an interval of 5 s; 1 s keeps the tests fast.
    Emulator::start(EmulatorConfig::default().device_code_interval_secs(1)).expect("emulator starts")
}

fn device_code_args(emulator: &Emulator, scope: &str) -> Vec<String> {
    [
        "get-token",
        "--scope",
        scope,
        "--methods",
        "devicecode",
        "--tenant-id",
        TENANT,
        "--authority-host",
        &emulator.url(),
    ]
    .map(String::from)
    .to_vec()
}

fn requests_to(emulator: &Emulator, suffix: &str) -> Vec<azauth_emulator::RecordedRequest> {
    emulator
        .requests()
        .into_iter()
        .filter(|request| request.path.ends_with(suffix))
        .collect()
}

fn grants(emulator: &Emulator) -> Vec<String> {
    token_requests(emulator)
        .iter()
        .map(|request| request.form_value("grant_type").unwrap_or_default())
        .collect()
}

fn cache_file(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join(".cache/azauth/accounts-v1.json")
}

fn cache_json(sandbox: &Sandbox) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(cache_file(sandbox)).unwrap()).unwrap()
}

#[test]
fn device_code_polls_pending_then_slow_down() {
    let emulator = start();
    let sandbox = Sandbox::new();
    emulator.push_device_poll(DevicePoll::Pending);
    emulator.push_device_poll(DevicePoll::Pending);
    emulator.push_device_poll(DevicePoll::SlowDown);

    let started = Instant::now();
    let finished = run(sandbox.azauth().args(device_code_args(&emulator, SCOPE)));
    let elapsed = started.elapsed();
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "devicecode");
    assert_eq!(json["tenant"], TENANT);
    let issued = emulator.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(json["accessToken"], issued[0].access_token.as_str());
    assert_eq!(issued[0].grant_type, DEVICE_GRANT);
    assert_eq!(issued[0].username.as_deref(), Some(USER));

    // The device authorization request, exactly as MSAL sends it.
    let start = requests_to(&emulator, "/oauth2/v2.0/devicecode");
    assert_eq!(start.len(), 1);
    assert_eq!(start[0].method, "POST");
    assert_eq!(start[0].path, format!("/{TENANT}/oauth2/v2.0/devicecode"));
    assert_eq!(
        start[0].form(),
        vec![
            ("client_id".to_string(), CLI_CLIENT.to_string()),
            ("scope".to_string(), format!("{SCOPE} openid profile offline_access")),
        ]
    );

    // Every poll reaches the server: two pending, one slow down, one token.
    let polls = token_requests(&emulator);
    assert_eq!(polls.len(), 4);
    for poll in &polls {
        let form = poll.form();
        let device_code = poll.form_value("device_code").unwrap();
        assert_eq!(
            form,
            vec![
                ("grant_type".to_string(), DEVICE_GRANT.to_string()),
                ("client_id".to_string(), CLI_CLIENT.to_string()),
                ("device_code".to_string(), device_code.clone()),
                ("code".to_string(), device_code),
                ("client_info".to_string(), "1".to_string()),
            ]
        );
    }
    // 1 s before each of the first three polls, then 1 + 5 s after slow down.
    assert!(elapsed >= Duration::from_secs(9), "{elapsed:?}");

    // The prompt goes to stderr once, and stdout holds only the JSON.
    let prompt = "To sign in, use a web browser to open the page";
    assert_eq!(finished.stderr.matches(prompt).count(), 1, "{}", finished.stderr);
    assert!(finished.stderr.contains(&format!("{}/devicelogin", emulator.url())));
    assert!(finished.stderr.contains("The code expires in 15 minutes"), "{}", finished.stderr);
    assert!(!finished.stdout.contains(prompt));
}

#[test]
fn device_code_declined_or_expired_stops() {
    for (answer, expected) in [
        (DevicePoll::Declined, "devicecode: failed: the sign-in at"),
        (DevicePoll::Expired, "devicecode: failed: the code expired"),
    ] {
        let emulator = start();
        let sandbox = Sandbox::new();
        emulator.push_device_poll(DevicePoll::Pending);
        emulator.push_device_poll(answer);
        // cli would follow, but a failed devicecode stops the chain.
        let mut args = device_code_args(&emulator, SCOPE);
        let position = args.iter().position(|arg| arg == "devicecode").unwrap();
        args[position] = "devicecode,clientsecret".to_string();
        let finished = run(sandbox.azauth().args(args));
        finished.assert_code(1);
        assert!(finished.stderr.contains(expected), "{answer:?}: {}", finished.stderr);
        assert!(!finished.stderr.contains("clientsecret:"), "{}", finished.stderr);
        assert_eq!(token_requests(&emulator).len(), 2, "{answer:?}");
        assert!(emulator.issued_tokens().is_empty());
    }
}

#[test]
fn device_code_timeout_stops_polling() {
    let emulator = start();
    let sandbox = Sandbox::new();
    for _ in 0..20 {
        emulator.push_device_poll(DevicePoll::Pending);
    }
    let finished = run(sandbox
        .azauth()
        .args(device_code_args(&emulator, SCOPE))
        .args(["--sign-in-timeout", "2"]));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("nobody completed the sign-in at")
            && finished.stderr.contains("within the sign-in timeout of 2 seconds"),
        "{}",
        finished.stderr
    );
    let polls = token_requests(&emulator).len();
    // A poll at 1 s and one at the 2 s deadline, and none after it.
    assert_eq!(polls, 2);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(token_requests(&emulator).len(), polls);
}

#[test]
fn device_code_expiry_from_server_ends_wait() {
    let emulator = Emulator::start(
        EmulatorConfig::default()
            .device_code_interval_secs(1)
            .device_code_lifetime_secs(2),
    )
    .unwrap();
    let sandbox = Sandbox::new();
    for _ in 0..20 {
        emulator.push_device_poll(DevicePoll::Pending);
    }
    let finished = run(sandbox.azauth().args(device_code_args(&emulator, SCOPE)));
    finished.assert_code(1);
    assert!(finished.stderr.contains("the code expired"), "{}", finished.stderr);
    assert!(token_requests(&emulator).len() <= 2);
}

#[test]
fn second_run_is_silent() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let first = run(sandbox.azauth().args(device_code_args(&emulator, SCOPE)));
    let first_token = first.assert_code(0).json()["accessToken"].clone();
    assert_eq!(grants(&emulator), vec![DEVICE_GRANT]);

    // Same scope: the access token comes from the cache, with no request at all.
    emulator.clear_requests();
    let second = run(sandbox.azauth().args(device_code_args(&emulator, SCOPE)));
    assert_eq!(second.assert_code(0).json()["accessToken"], first_token);
    assert!(emulator.requests().is_empty(), "{:?}", emulator.requests());
    assert!(!second.stderr.contains("To sign in"), "{}", second.stderr);

    // Another scope in the same tenant and client: the refresh token, no device code.
    let third = run(sandbox.azauth().args(device_code_args(&emulator, VAULT_SCOPE)));
    let json = third.assert_code(0).json();
    assert!(!third.stderr.contains("To sign in"), "{}", third.stderr);
    assert!(requests_to(&emulator, "/devicecode").is_empty());
    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 1);
    let refresh = &requests[0];
    assert_eq!(refresh.form_value("grant_type").as_deref(), Some("refresh_token"));
    assert_eq!(refresh.form_value("client_id").as_deref(), Some(CLI_CLIENT));
    assert_eq!(refresh.form_value("client_info").as_deref(), Some("1"));
    assert_eq!(
        refresh.form_value("scope").as_deref(),
        Some(format!("{VAULT_SCOPE} openid profile offline_access").as_str())
    );
    let issued = emulator.find_token(json["accessToken"].as_str().unwrap()).unwrap();
    assert_eq!(issued.scope, format!("{VAULT_SCOPE} openid profile offline_access"));
}

#[test]
fn no_cache_asks_again_and_writes_nothing() {
    let emulator = start();
    let sandbox = Sandbox::new();
    run(sandbox.azauth().args(device_code_args(&emulator, SCOPE)).arg("--no-cache")).assert_code(0);
    assert!(!cache_file(&sandbox).exists());

    run(sandbox.azauth().args(device_code_args(&emulator, SCOPE))).assert_code(0);
    assert!(cache_file(&sandbox).exists());
    let again = run(sandbox.azauth().args(device_code_args(&emulator, SCOPE)).arg("--no-cache"));
    again.assert_code(0);
    assert!(again.stderr.contains("To sign in"), "{}", again.stderr);
    // A disabled cache is not a warning.
    assert!(!again.stderr.contains("WARN"), "{}", again.stderr);
    assert_eq!(requests_to(&emulator, "/devicecode").len(), 3);
}

#[test]
fn cache_file_is_private() {
    let emulator = start();
    let sandbox = Sandbox::new();
    run(sandbox.azauth().args(device_code_args(&emulator, SCOPE))).assert_code(0);
    let file = std::fs::metadata(cache_file(&sandbox)).unwrap();
    assert_eq!(file.permissions().mode() & 0o777, 0o600);
    let folder = std::fs::metadata(sandbox.path().join(".cache/azauth")).unwrap();
    assert_eq!(folder.permissions().mode() & 0o777, 0o700);

    // A cache that others can read is not used: the person signs in again.
    std::fs::set_permissions(cache_file(&sandbox), std::fs::Permissions::from_mode(0o644)).unwrap();
    let finished = run(sandbox.azauth().args(device_code_args(&emulator, SCOPE)).arg("-vv"));
    finished.assert_code(0);
    assert!(finished.stderr.contains("is open to other users (mode 644)"), "{}", finished.stderr);
    assert!(finished.stderr.contains("To sign in"), "{}", finished.stderr);
    // The save that follows replaces it with a private file.
    let file = std::fs::metadata(cache_file(&sandbox)).unwrap();
    assert_eq!(file.permissions().mode() & 0o777, 0o600);
}

#[test]
fn tokens_never_logged_in_sign_in() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let first = run(sandbox
        .azauth()
        .args(device_code_args(&emulator, SCOPE))
        .arg("-vvv")
        .env("RUST_LOG", "trace"));
    first.assert_code(0);
    let cache = cache_json(&sandbox);
    let refresh_token = cache["accounts"][0]["refresh_token"].as_str().unwrap().to_string();
    let device_code = token_requests(&emulator)[0].form_value("device_code").unwrap();
    let second = run(sandbox
        .azauth()
        .args(device_code_args(&emulator, VAULT_SCOPE))
        .arg("-vvv")
        .env("RUST_LOG", "trace"));
    second.assert_code(0);
    for token in emulator.issued_tokens() {
        assert!(!first.stderr.contains(&token.access_token), "access token in the log");
        assert!(!second.stderr.contains(&token.access_token), "access token in the log");
    }
    for text in [&first.stderr, &second.stderr, &first.stdout, &second.stdout] {
        assert!(!text.contains(&refresh_token), "refresh token printed");
        assert!(!text.contains(&device_code), "device code printed");
    }
    assert!(second.stderr.contains("redeems the cached refresh token of fake.user@contoso.example"));
}

#[test]
fn revoked_refresh_token_prompts_again() {
    let emulator = start();
    let sandbox = Sandbox::new();
    run(sandbox.azauth().args(device_code_args(&emulator, SCOPE))).assert_code(0);
    let refresh_token = cache_json(&sandbox)["accounts"][0]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(emulator.revoke_refresh_token(&refresh_token));

    let finished = run(sandbox.azauth().args(device_code_args(&emulator, VAULT_SCOPE)));
    finished.assert_code(0);
    assert!(finished.stderr.contains("AADSTS50173"), "{}", finished.stderr);
    assert!(finished.stderr.contains("To sign in"), "{}", finished.stderr);
    assert_eq!(grants(&emulator), vec![DEVICE_GRANT, "refresh_token", DEVICE_GRANT]);
    let new_refresh = cache_json(&sandbox)["accounts"][0]["refresh_token"].clone();
    assert_ne!(new_refresh.as_str(), Some(refresh_token.as_str()));
}

#[test]
fn logout_removes_accounts() {
    let emulator = start();
    let sandbox = Sandbox::new();
    run(sandbox.azauth().args(device_code_args(&emulator, SCOPE))).assert_code(0);

    let other = run(sandbox.azauth().args(["logout", "--username", "someone@contoso.example"]));
    other.assert_code(0);
    assert!(other.stderr.contains("no cached sign-in of someone@contoso.example"), "{}", other.stderr);
    assert_eq!(cache_json(&sandbox)["accounts"].as_array().unwrap().len(), 1);

    let one = run(sandbox.azauth().args(["logout", "--username", "FAKE.USER@contoso.example"]));
    one.assert_code(0);
    assert_eq!(one.stderr, format!("azauth: signed out {USER}\n"));
    let cache = cache_json(&sandbox);
    assert!(cache["accounts"].as_array().unwrap().is_empty());
    assert!(cache["access_tokens"].as_array().unwrap().is_empty());

    // The next run asks for a sign-in again.
    let again = run(sandbox.azauth().args(device_code_args(&emulator, SCOPE)));
    again.assert_code(0);
    assert!(again.stderr.contains("To sign in"), "{}", again.stderr);

    let all = run(sandbox.azauth().args(["logout"]));
    all.assert_code(0);
    assert_eq!(all.stderr, format!("azauth: signed out {USER}\n"));
    assert!(!cache_file(&sandbox).exists());
    let empty = run(sandbox.azauth().args(["logout"]));
    assert_eq!(empty.stderr, "azauth: the token cache contains no sign-ins\n");
}

#[test]
fn username_password_sign_in_is_reused() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let env_run = |scope: &str| {
        run(sandbox
            .azauth()
            .args(["get-token", "--scope", scope, "--methods", "env"])
            .env("AZURE_CLIENT_ID", CLI_CLIENT)
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_USERNAME", USER)
            .env("AZURE_PASSWORD", PASSWORD)
            .env("AZURE_AUTHORITY_HOST", emulator.url()))
    };
    env_run(SCOPE).assert_code(0);
    env_run(SCOPE).assert_code(0);
    env_run(VAULT_SCOPE).assert_code(0);
    assert_eq!(grants(&emulator), vec!["password", "refresh_token"]);
    let cache = std::fs::read_to_string(cache_file(&sandbox)).unwrap();
    assert!(!cache.contains(PASSWORD), "the password is never cached");
}

#[test]
fn concurrent_runs_keep_cache_readable() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let children: Vec<_> = (0..4)
        .map(|_| {
            sandbox
                .azauth()
                .args(device_code_args(&emulator, SCOPE))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    // Each run signed in and saved; the file is whole JSON with the one account.
    let cache = cache_json(&sandbox);
    assert_eq!(cache["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(cache["accounts"][0]["username"], USER);
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.path().join(".cache/azauth"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // And it serves the next run silently.
    emulator.clear_requests();
    run(sandbox.azauth().args(device_code_args(&emulator, SCOPE))).assert_code(0);
    assert!(emulator.requests().is_empty());
}

#[test]
fn device_code_request_rejected_names_code() {
    let emulator = start();
    let sandbox = Sandbox::new();
    emulator.push_fault_for(
        "/oauth2/v2.0/devicecode",
        Fault::Status {
            status: 400,
            body: r#"{"error":"invalid_scope","error_description":"AADSTS70011: The provided request must include a 'scope' input parameter.\r\nTrace ID: 1","error_codes":[70011]}"#.to_string(),
            content_type: "application/json".to_string(),
            headers: vec![],
        },
    );
    let finished = run(sandbox.azauth().args(device_code_args(&emulator, SCOPE)));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(&format!(
            "devicecode: failed: Entra ID rejected the device code request to {}/{TENANT}/oauth2/v2.0/devicecode: \
             HTTP 400, invalid_scope: AADSTS70011",
            emulator.url()
        )),
        "{}",
        finished.stderr
    );
    assert!(token_requests(&emulator).is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn host_without_person_makes_devicecode_unavailable() {
    use azauth::{AuthError, Authority, Outcome, Policy, Runtime, TokenOptions};

    let emulator = start();
    let mut policy = Policy::new();
    policy.allow_authority(&Authority::parse(&emulator.url()).unwrap());
    let runtime = Runtime::new().unwrap();
    let mut session = runtime.session(&policy).await.unwrap();
    let options = TokenOptions {
        tenant_id: Some(TENANT.to_string()),
        authority_host: Some(emulator.url()),
        ..TokenOptions::default()
    };
    let methods = ["devicecode".to_string()];
    let result = session.get_token(&methods, SCOPE, &options).await.unwrap();
    let Err(AuthError::NoToken(attempts)) = result else {
        panic!("expected no token: {result:?}");
    };
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, Outcome::Unavailable);
    assert_eq!(
        attempts[0].reason,
        "the sign-in code cannot be shown here: the host policy does not allow sign-in \
         prompts. Run azauth where a person can read its messages, or use another method"
    );
    assert!(token_requests(&emulator).is_empty());
}

/// Writes a `$BROWSER` script that plays the browser: it requests the authorize URL,
/// reads the redirect's `Location`, passes it through `edit` (a sed expression), and
/// requests the result from azauth's loopback listener. It records each URL it visits.
fn browser_script(sandbox: &Sandbox, edit: &str) -> PathBuf {
    let path = sandbox.write(
        "browser.sh",
        &format!(
            "#!/bin/sh\n\
             echo \"$1\" >> \"$(dirname \"$0\")/visited.txt\"\n\
             location=$(curl -s -o /dev/null -w '%{{redirect_url}}' \"$1\")\n\
             location=$(printf '%s' \"$location\" | sed '{edit}')\n\
             echo \"$location\" >> \"$(dirname \"$0\")/visited.txt\"\n\
             curl -s -o /dev/null \"$location\"\n"
        ),
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn interactive_args(emulator: &Emulator, scope: &str) -> Vec<String> {
    let mut args = device_code_args(emulator, scope);
    let position = args.iter().position(|arg| arg == "devicecode").unwrap();
    args[position] = "interactive".to_string();
    args
}

fn visited(sandbox: &Sandbox) -> Vec<String> {
    std::fs::read_to_string(sandbox.path().join("visited.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn query_of(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_string(), percent_decode(value)))
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn interactive_browser_follows_redirect() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let browser = browser_script(&sandbox, "s/x/x/");
    let finished = run(sandbox
        .azauth()
        .args(interactive_args(&emulator, SCOPE))
        .args(["--login-hint", USER])
        .env("BROWSER", &browser));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "interactive");
    assert_eq!(json["tenant"], TENANT);

    let visits = visited(&sandbox);
    assert_eq!(visits.len(), 2, "{visits:?}");
    let authorize = &visits[0];
    assert!(
        authorize.starts_with(&format!("{}/{TENANT}/oauth2/v2.0/authorize?", emulator.url())),
        "{authorize}"
    );
    let query = query_of(authorize);
    let names: Vec<&str> = query.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "client_id", "response_type", "redirect_uri", "scope", "state", "code_challenge",
            "code_challenge_method", "prompt", "response_mode", "client_info", "login_hint",
            "X-AnchorMailbox",
        ]
    );
    let param = |name: &str| query.iter().find(|(key, _)| key == name).unwrap().1.clone();
    assert_eq!(param("client_id"), CLI_CLIENT);
    assert_eq!(param("response_type"), "code");
    let redirect_uri = param("redirect_uri");
    assert!(redirect_uri.starts_with("http://localhost:"), "{redirect_uri}");
    assert!(redirect_uri["http://localhost:".len()..].parse::<u16>().is_ok(), "{redirect_uri}");
    assert_eq!(param("scope"), format!("{SCOPE} openid profile offline_access"));
    assert_eq!(param("state").len(), 22);
    assert_eq!(param("code_challenge").len(), 43);
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(param("prompt"), "select_account");
    assert_eq!(param("client_info"), "1");
    assert_eq!(param("login_hint"), USER);
    assert_eq!(param("X-AnchorMailbox"), format!("UPN:{USER}"));
    // The redirect went back to the listener with the same state.
    // curl adds the `/` path to the redirect URI when it follows it.
    assert!(visits[1].starts_with(&format!("{redirect_uri}/?code=")), "{}", visits[1]);
    assert_eq!(query_of(&visits[1]).iter().find(|(k, _)| k == "state").unwrap().1, param("state"));

    // The code redemption, with the PKCE verifier that the emulator checked.
    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 1);
    let form = requests[0].form();
    let names: Vec<&str> = form.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["grant_type", "code", "code_verifier", "client_id", "redirect_uri", "scope", "client_info"]
    );
    let field = |name: &str| requests[0].form_value(name).unwrap();
    assert_eq!(field("grant_type"), "authorization_code");
    assert_eq!(field("redirect_uri"), redirect_uri);
    assert_eq!(field("client_id"), CLI_CLIENT);
    assert_eq!(field("code_verifier").len(), 43);
    assert_eq!(field("scope"), format!("{SCOPE} openid profile offline_access"));
    assert_eq!(field("client_info"), "1");
    assert!(!finished.stderr.contains(&field("code")), "the code was printed");
    // Routing to the user's home region, from the redirect's client_info.
    let oid = query_of(&visits[1]).iter().find(|(k, _)| k == "client_info").map(|(_, v)| v.clone());
    assert!(oid.is_some(), "{}", visits[1]);
    let anchor = requests[0].header("x-anchormailbox").unwrap().to_string();
    assert!(anchor.starts_with("Oid:") && anchor.ends_with(&format!("@{TENANT}")), "{anchor}");

    // A devicecode run afterwards uses the same account silently: same client.
    let again = run(sandbox.azauth().args(device_code_args(&emulator, VAULT_SCOPE)));
    again.assert_code(0);
    assert!(!again.stderr.contains("To sign in"), "{}", again.stderr);
    assert_eq!(grants(&emulator), vec!["authorization_code", "refresh_token"]);
}

#[test]
fn interactive_wrong_state_rejected() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let browser = browser_script(&sandbox, "s/state=[^&]*/state=forged/");
    let finished = run(sandbox
        .azauth()
        .args(interactive_args(&emulator, SCOPE))
        .env("BROWSER", &browser));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "interactive: failed: the browser's redirect carried a different state than the \
             sign-in request, so it was rejected as possibly forged; sign in again"
        ),
        "{}",
        finished.stderr
    );
    assert!(token_requests(&emulator).is_empty(), "the code was not redeemed");
    assert!(!cache_file(&sandbox).exists());
}

#[test]
fn interactive_without_browser_suggests_devicecode() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let mut args = interactive_args(&emulator, SCOPE);
    let position = args.iter().position(|arg| arg == "interactive").unwrap();
    args[position] = "interactive,devicecode".to_string();
    // No $BROWSER and no display: the chain moves on to devicecode.
    let finished = run(sandbox.azauth().args(args).arg("-v"));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "devicecode");
    assert!(
        finished.stderr.contains(
            "no browser can be opened: $BROWSER is not set and there is no graphical display \
             (DISPLAY or WAYLAND_DISPLAY). Sign in with devicecode instead"
        ),
        "{}",
        finished.stderr
    );
    assert!(requests_to(&emulator, "/authorize").is_empty());
}

#[test]
fn interactive_times_out_without_redirect() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let browser = sandbox.write("idle-browser.sh", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let finished = run(sandbox
        .azauth()
        .args(interactive_args(&emulator, SCOPE))
        .args(["--sign-in-timeout", "2"])
        .env("BROWSER", &browser));
    finished.assert_code(1);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        finished.stderr.contains("interactive: failed: the browser sign-in did not complete: no browser redirect arrived within 2 seconds"),
        "{}",
        finished.stderr
    );
}

#[test]
fn token_cache_in_real_keyring() {
    if !secret_service_installed("token_cache_in_real_keyring") {
        return;
    }
    let emulator = start();
    let sandbox = Sandbox::new();
    let args = device_code_args(&emulator, SCOPE).join(" ");
    let vault_args = device_code_args(&emulator, VAULT_SCOPE).join(" ");
    // Sign in, reuse silently, read the item, log out, and look for the item again.
    let script = format!(
        "\"$AZAUTH\" {args} --token-cache keyring > first.json 2> first.err || exit 91\n\
         \"$AZAUTH\" {vault_args} --token-cache keyring > second.json 2> second.err || exit 92\n\
         secret-tool lookup service azauth partition accounts-v1 > item.json || exit 93\n\
         \"$AZAUTH\" logout --token-cache keyring 2> logout.err || exit 94\n\
         secret-tool lookup service azauth partition accounts-v1 > after.json\n\
         echo \"after=$?\"\n"
    );
    let finished = run_in_keyring_session(&sandbox, "", &script);
    let read = |name: &str| std::fs::read_to_string(sandbox.path().join(name)).unwrap_or_default();
    assert_eq!(finished.code, Some(0), "{finished:#?}\n{}\n{}", read("first.err"), read("second.err"));
    assert_eq!(finished.stdout.trim(), "after=1");

    assert!(read("first.err").contains("To sign in"), "{}", read("first.err"));
    assert!(!read("second.err").contains("To sign in"), "{}", read("second.err"));
    assert_eq!(grants(&emulator), vec![DEVICE_GRANT, "refresh_token"]);
    let item: serde_json::Value = serde_json::from_str(&read("item.json")).unwrap();
    assert_eq!(item["accounts"][0]["username"], USER);
    assert_eq!(read("logout.err"), format!("azauth: signed out {USER}\n"));
    assert_eq!(read("after.json"), "");
    // Only the lock file is on disk; the tokens stayed in the keyring.
    assert!(!cache_file(&sandbox).exists());
}

#[test]
fn keyring_cache_without_secret_service_is_an_error() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .args(device_code_args(&emulator, SCOPE))
        .args(["--token-cache", "keyring"]));
    finished.assert_code(2);
    assert!(
        finished.stderr.contains("--token-cache keyring: no Secret Service answers on the session bus"),
        "{}",
        finished.stderr
    );
    assert!(emulator.requests().is_empty());
}
