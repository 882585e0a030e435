//! `devicecode`: a person signs in on another device with a code (RFC 8628), as
//! azure-identity's `DeviceCodeCredential` and MSAL do it against Entra ID.
//!
//! 1. A cached sign-in is reused silently when there is one (see `sign_in`).
//! 2. `POST {authority}/{tenant}/oauth2/v2.0/devicecode` with `client_id` and the scope
//!    plus `openid profile offline_access` returns the codes.
//! 3. The host shows the verification URL and user code through the `user` import.
//! 4. The token endpoint is polled every `interval` seconds (5 s more after each
//!    `slow_down`) until a token arrives, the person declines, the code expires, or the
//!    sign-in timeout passes.
//!
//! Once the prompt is shown every failure is "failed", so that a chain never moves on
//! to another account behind the person's back. Before that, a host that cannot show a
//! prompt makes the method unavailable.

use serde::Deserialize;

use super::sign_in::UserSignIn;
use super::{MethodError, Plan};
use crate::cache::CacheKey;
use crate::entra::{self, EntraError, Token, UserToken};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::user::{self, DeviceCodePrompt};
use crate::{clock, log};

/// Poll interval when the device authorization response names none, in seconds (RFC
/// 8628 section 3.2).
const DEFAULT_INTERVAL_SECS: u64 = 5;

/// Lifetime of a code when the response names none, in seconds, as MSAL assumes.
const DEFAULT_EXPIRES_IN_SECS: u64 = 1800;

/// Increase of the interval after each `slow_down` (RFC 8628 section 3.5), in seconds.
const SLOW_DOWN_STEP_SECS: u64 = 5;

/// Maximum interval accepted from the server, in seconds, so that a wrong value cannot
/// stall the wait far beyond the code's life.
const MAX_INTERVAL_SECS: u64 = 60;

pub(super) fn plan(settings: &Settings) -> Result<Box<dyn Plan>, MethodError> {
    Ok(Box::new(DeviceCodePlan {
        sign_in: UserSignIn::from_settings("devicecode", settings)?,
        timeout_secs: settings.sign_in_timeout_secs.map(u64::from),
    }))
}

/// A device code sign-in, ready to run.
#[derive(Debug)]
struct DeviceCodePlan {
    sign_in: UserSignIn,
    /// Maximum wait for the person, in seconds. `None` waits until the code expires.
    timeout_secs: Option<u64>,
}

impl Plan for DeviceCodePlan {
    fn cache_key(&self) -> CacheKey {
        self.sign_in.cache_key()
    }

    fn acquire(&self) -> Result<Token, MethodError> {
        if let Some(token) = self.sign_in.silent() {
            return Ok(token);
        }
        let user_token = self.sign_in_with_code()?;
        self.sign_in.remember(&user_token);
        Ok(user_token.token)
    }
}

/// The device authorization response (RFC 8628 section 3.2). Entra ID sends
/// `verification_uri`; `message` is its ready-made instruction text.
#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, deserialize_with = "number_or_string")]
    expires_in: Option<u64>,
    #[serde(default, deserialize_with = "number_or_string")]
    interval: Option<u64>,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Reads a count of seconds sent as a number or as a string of digits.
fn number_or_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(serde_json::Value::Number(number)) => number.as_u64(),
        Some(serde_json::Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    })
}

impl DeviceCodePlan {
    fn sign_in_with_code(&self) -> Result<UserToken, MethodError> {
        let started = clock::now_unix();
        let authorization = self.start()?;
        let expires_in = authorization.expires_in.unwrap_or(DEFAULT_EXPIRES_IN_SECS);
        let prompt = DeviceCodePrompt {
            verification_uri: authorization.verification_uri.clone(),
            user_code: authorization.user_code.clone(),
            message: authorization.message.clone().unwrap_or_else(|| {
                format!(
                    "To sign in, use a web browser to open the page {} and enter the code {} \
                     to authenticate.",
                    authorization.verification_uri, authorization.user_code
                )
            }),
            expires_on: started + expires_in,
        };
        user::show_device_code(&prompt).map_err(|error| {
            MethodError::Unavailable(format!(
                "the sign-in code cannot be shown here: {error}. Run azauth where a \
                 person can read its messages, or use another method"
            ))
        })?;
        log::info(&format!(
            "devicecode waits for the sign-in at {} (interval {} s, code valid {expires_in} s)",
            authorization.verification_uri,
            authorization.interval.unwrap_or(DEFAULT_INTERVAL_SECS)
        ));

        let schedule = Schedule {
            interval_secs: authorization.interval.unwrap_or(DEFAULT_INTERVAL_SECS),
            expires_on: started + expires_in,
            timeout_secs: self.timeout_secs,
        };
        let device_code = Secret::new(authorization.device_code.clone());
        let result = wait_for_sign_in(&SystemClock, &schedule, started, &authorization.verification_uri, || {
            self.poll(&device_code)
        });
        user::end_device_code(result.is_ok());
        result
    }

    /// Sends the device authorization request.
    fn start(&self) -> Result<DeviceAuthorization, MethodError> {
        let sign_in = &self.sign_in;
        let url = sign_in.endpoint_url("devicecode");
        let scope = entra::user_scope_list(&sign_in.scope);
        let (status, body) =
            entra::post_form(&url, &[("client_id", &sign_in.client_id), ("scope", &scope)])
                .map_err(|error| MethodError::Failed(error))?;
        if status != 200 {
            return Err(MethodError::Failed(format!(
                "Entra ID rejected the device code request to {url}: {}",
                describe_error_body(status, &body)
            )));
        }
        serde_json::from_slice(&body).map_err(|error| {
            MethodError::Failed(format!(
                "the device code response from {url} could not be read: {error}"
            ))
        })
    }

    /// Sends one poll, with the fields MSAL sends.
    fn poll(&self, device_code: &Secret) -> PollAnswer {
        let sign_in = &self.sign_in;
        let url = sign_in.endpoint_url("token");
        let started = clock::now_unix();
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", sign_in.client_id.as_str()),
            ("device_code", device_code.expose()),
            ("code", device_code.expose()),
            ("client_info", "1"),
        ];
        let (status, body) = match entra::post_form(&url, &form) {
            Ok(answer) => answer,
            Err(error) => return PollAnswer::Failed(error),
        };
        if status == 200 {
            return match entra::parse_user_token(&body, started, &sign_in.tenant) {
                Ok(user_token) => PollAnswer::Token(user_token),
                Err(error) => PollAnswer::Failed(format!("{url}: {error}")),
            };
        }
        match serde_json::from_slice::<EntraError>(&body) {
            Ok(error) => PollAnswer::Error { status, error },
            Err(_) => PollAnswer::Failed(format!(
                "the token endpoint {url} returned {}",
                describe_error_body(status, &body)
            )),
        }
    }
}

/// Describes an error response, keeping Entra ID's code, hint and IDs.
fn describe_error_body(status: u16, body: &[u8]) -> String {
    match serde_json::from_slice::<EntraError>(body) {
        Ok(error) => entra::describe_entra_error(&error, Some(status)),
        Err(_) => format!("HTTP {status} with an unreadable body"),
    }
}

/// The response to one poll.
#[derive(Debug)]
enum PollAnswer {
    /// The person signed in.
    Token(UserToken),
    /// An OAuth error response.
    Error { status: u16, error: EntraError },
    /// No response could be read, for the reason in the message.
    Failed(String),
}

/// Time for the polling loop: the component's clocks, or a fake one in tests.
trait Clock {
    /// Unix seconds.
    fn now(&self) -> u64;
    /// Waits `secs` seconds.
    fn sleep(&self, secs: u64);
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        clock::now_unix()
    }

    fn sleep(&self, secs: u64) {
        clock::sleep_millis(secs.saturating_mul(1000));
    }
}

/// When to poll and when to stop.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    /// The server's interval, in seconds.
    interval_secs: u64,
    /// When the code expires, Unix seconds.
    expires_on: u64,
    /// The caller's limit on the whole wait, in seconds.
    timeout_secs: Option<u64>,
}

/// Polls until the person signs in, declines, or time runs out.
///
/// Waits the interval before each poll, so the first poll comes one interval after the
/// prompt. `authorization_pending` keeps the interval and `slow_down` adds
/// [`SLOW_DOWN_STEP_SECS`]. The wait ends at the earlier of the code's expiry and the
/// timeout. The last wait is shortened to end there, and one last poll is sent then.
fn wait_for_sign_in(
    clock: &dyn Clock,
    schedule: &Schedule,
    started: u64,
    verification_uri: &str,
    mut poll: impl FnMut() -> PollAnswer,
) -> Result<UserToken, MethodError> {
    let mut interval = match schedule.interval_secs {
        0 => DEFAULT_INTERVAL_SECS,
        secs => secs.min(MAX_INTERVAL_SECS),
    };
    let timeout_deadline = schedule.timeout_secs.map(|secs| started.saturating_add(secs));
    let deadline = timeout_deadline.map_or(schedule.expires_on, |t| t.min(schedule.expires_on));
    let mut polls = 0u32;

    loop {
        let now = clock.now();
        if now >= deadline {
            return Err(MethodError::Failed(match timeout_deadline {
                Some(limit) if limit <= schedule.expires_on => format!(
                    "nobody completed the sign-in at {verification_uri} within the \
                     sign-in timeout of {} seconds; run azauth again and enter the new code, or \
                     raise the timeout",
                    schedule.timeout_secs.unwrap_or_default()
                ),
                _ => format!(
                    "the code expired before the sign-in at {verification_uri} was \
                     completed; run azauth again for a new code"
                ),
            }));
        }
        clock.sleep(interval.min(deadline - now));
        polls += 1;

        match poll() {
            PollAnswer::Token(user_token) => {
                log::info(&format!("devicecode: signed in after {polls} polls"));
                return Ok(user_token);
            }
            PollAnswer::Error { status, error } => match error.error.as_str() {
                "authorization_pending" => {
                    log::debug(&format!("devicecode: poll {polls}: sign-in pending"));
                }
                "slow_down" => {
                    interval = (interval + SLOW_DOWN_STEP_SECS).min(MAX_INTERVAL_SECS);
                    log::debug(&format!(
                        "devicecode: poll {polls}: the server asked to slow down; polling \
                         every {interval} s"
                    ));
                }
                "authorization_declined" | "access_denied" => {
                    return Err(MethodError::Failed(format!(
                        "the sign-in at {verification_uri} was declined ({}); run \
                         azauth again and accept the sign-in, or use another account",
                        entra::describe_entra_error(&error, Some(status))
                    )));
                }
                "expired_token" => {
                    return Err(MethodError::Failed(format!(
                        "the code expired before the sign-in at {verification_uri} \
                         was completed; run azauth again for a new code ({})",
                        entra::describe_entra_error(&error, Some(status))
                    )));
                }
                "bad_verification_code" => {
                    return Err(MethodError::Failed(format!(
                        "Entra ID did not recognise the device code ({})",
                        entra::describe_entra_error(&error, Some(status))
                    )));
                }
                _ => {
                    return Err(MethodError::Failed(format!(
                        "Entra ID rejected the sign-in: {}",
                        entra::describe_entra_error(&error, Some(status))
                    )));
                }
            },
            PollAnswer::Failed(message) => return Err(MethodError::Failed(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    use super::*;
    use crate::entra::Account;

    /// A clock that moves only when the loop sleeps, and records each sleep.
    struct FakeClock {
        now: Cell<u64>,
        sleeps: RefCell<Vec<u64>>,
    }

    impl FakeClock {
        fn at(now: u64) -> FakeClock {
            FakeClock {
                now: Cell::new(now),
                sleeps: RefCell::new(Vec::new()),
            }
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> u64 {
            self.now.get()
        }

        fn sleep(&self, secs: u64) {
            self.sleeps.borrow_mut().push(secs);
            self.now.set(self.now.get() + secs);
        }
    }

    fn error(code: &str) -> PollAnswer {
        PollAnswer::Error {
            status: 400,
            error: EntraError {
                error: code.to_string(),
                error_description: Some(format!("AADSTS70016: fake {code}")),
                error_codes: vec![],
                timestamp: None,
                trace_id: None,
                correlation_id: None,
            },
        }
    }

    fn token() -> PollAnswer {
        PollAnswer::Token(UserToken {
            token: Token {
                access_token: Secret::new("FAKE-AT-0070"),
                expires_on: 3_600,
                refresh_on: None,
                token_type: "Bearer".to_string(),
                tenant: None,
            },
            refresh_token: None,
            account: None::<Account>,
        })
    }

    /// Runs the loop over scripted responses and returns the result, sleeps and polls.
    fn run(
        schedule: Schedule,
        answers: Vec<PollAnswer>,
    ) -> (Result<UserToken, MethodError>, Vec<u64>, usize) {
        let clock = FakeClock::at(1_000);
        let answers = RefCell::new(VecDeque::from(answers));
        let polls = Cell::new(0);
        let result = wait_for_sign_in(&clock, &schedule, 1_000, "https://microsoft.com/devicelogin", || {
            polls.set(polls.get() + 1);
            answers
                .borrow_mut()
                .pop_front()
                .unwrap_or_else(|| error("authorization_pending"))
        });
        let sleeps = clock.sleeps.borrow().clone();
        (result, sleeps, polls.get())
    }

    fn schedule(interval_secs: u64) -> Schedule {
        Schedule {
            interval_secs,
            expires_on: 1_900,
            timeout_secs: None,
        }
    }

    #[test]
    fn pending_keeps_interval_and_slow_down_adds_five() {
        let answers = vec![
            error("authorization_pending"),
            error("authorization_pending"),
            error("slow_down"),
            token(),
        ];
        let (result, sleeps, polls) = run(schedule(1), answers);
        assert_eq!(result.unwrap().token.access_token.expose(), "FAKE-AT-0070");
        assert_eq!(sleeps, vec![1, 1, 1, 6]);
        assert_eq!(polls, 4);
    }

    #[test]
    fn server_interval_is_honoured() {
        // Entra ID sends 5; every wait is at least that.
        let answers = vec![error("authorization_pending"), error("slow_down"), error("slow_down"), token()];
        let (result, sleeps, _) = run(schedule(5), answers);
        assert!(result.is_ok());
        assert_eq!(sleeps, vec![5, 5, 10, 15]);
        // A missing or zero interval means the RFC's default of 5 s.
        let (_, sleeps, _) = run(schedule(0), vec![token()]);
        assert_eq!(sleeps, vec![5]);
    }

    #[test]
    fn declined_and_expired_stop_at_once() {
        for (code, expected) in [
            ("authorization_declined", "was declined"),
            ("access_denied", "was declined"),
            ("expired_token", "the code expired"),
            ("bad_verification_code", "did not recognise the device code"),
            ("invalid_client", "rejected the sign-in"),
        ] {
            let (result, _, polls) = run(schedule(1), vec![error("authorization_pending"), error(code)]);
            let Err(MethodError::Failed(message)) = result else {
                panic!("{code}: expected a failure");
            };
            assert!(message.contains(expected), "{code}: {message}");
            assert_eq!(polls, 2, "{code}");
        }
    }

    #[test]
    fn code_expiry_ends_polling() {
        // The code lives 900 s: polls at 5 s steps, the last one at expiry, then no more.
        let schedule = Schedule {
            interval_secs: 5,
            expires_on: 1_900,
            timeout_secs: None,
        };
        let (result, sleeps, polls) = run(schedule, vec![]);
        let Err(MethodError::Failed(message)) = result else { panic!("expected a failure") };
        assert!(message.contains("the code expired"), "{message}");
        assert_eq!(polls, 180);
        assert_eq!(sleeps.iter().sum::<u64>(), 900);
    }

    #[test]
    fn timeout_shorter_than_expiry_ends_polling() {
        let schedule = Schedule {
            interval_secs: 5,
            expires_on: 1_900,
            timeout_secs: Some(12),
        };
        let (result, sleeps, polls) = run(schedule, vec![]);
        let Err(MethodError::Failed(message)) = result else { panic!("expected a failure") };
        assert!(message.contains("within the sign-in timeout of 12 seconds"), "{message}");
        // The last wait is cut to end at the deadline.
        assert_eq!(sleeps, vec![5, 5, 2]);
        assert_eq!(polls, 3);
    }

    #[test]
    fn transport_failure_stops_polling() {
        let (result, _, polls) = run(
            schedule(1),
            vec![PollAnswer::Failed("connection refused".to_string())],
        );
        assert_eq!(result.unwrap_err(), MethodError::Failed("connection refused".to_string()));
        assert_eq!(polls, 1);
    }

    #[test]
    fn cloud_and_tenant_choose_endpoint() {
        use crate::bindings::azauth::credential::types::{ConfigSource, TokenOptions};

        let tenant = "11111111-2222-3333-4444-555555555555";
        for (cloud, host) in [
            ("usgov", "login.microsoftonline.us"),
            ("gov", "login.microsoftonline.us"),
            ("China", "login.chinacloudapi.cn"),
            ("AzureUSGovernment", "login.microsoftonline.us"),
            ("public", "login.microsoftonline.com"),
        ] {
            let options = TokenOptions {
                config: Some(ConfigSource {
                    path: "msticpyconfig.yaml".to_string(),
                    text: format!(
                        "Azure:\n  cloud: {cloud}\n  auth_methods: [devicecode]\n  tenant_id: {tenant}\n"
                    ),
                }),
                ..TokenOptions::default()
            };
            let settings =
                crate::settings::resolve(&[], "https://management.azure.com/.default", options).unwrap();
            let sign_in = UserSignIn::from_settings("devicecode", &settings).unwrap();
            assert_eq!(
                sign_in.endpoint_url("devicecode"),
                format!("https://{host}/{tenant}/oauth2/v2.0/devicecode"),
                "{cloud}"
            );
            assert_eq!(sign_in.client_id, super::super::sign_in::DEVELOPER_CLIENT_ID);
        }
        // With no tenant anywhere, any work or school account may sign in.
        let settings = crate::settings::resolve(
            &[],
            "https://management.azure.com/.default",
            TokenOptions::default(),
        )
        .unwrap();
        let sign_in = UserSignIn::from_settings("devicecode", &settings).unwrap();
        assert_eq!(sign_in.tenant, "organizations");
    }

    #[test]
    fn authorization_response_accepts_strings_and_hides_device_code() {
        let text = r#"{"device_code":"FAKE-DC","user_code":"FAKE-UC","verification_uri":"https://microsoft.com/devicelogin","expires_in":"900","interval":5,"message":"fake prompt"}"#;
        let authorization: DeviceAuthorization = serde_json::from_str(text).unwrap();
        assert_eq!(authorization.expires_in, Some(900));
        assert_eq!(authorization.interval, Some(5));
        let printed = format!("{authorization:?}");
        assert!(!printed.contains("FAKE-DC"), "{printed}");
        assert!(printed.contains("FAKE-UC"), "{printed}");
    }
}
