//! The `user` import: the device code prompt, the browser and the loopback redirect
//! listener of the sign-in methods.
//!
//! How a prompt reaches a person is the embedding host's choice, through
//! [`UserInterface`]. [`NoUser`] is for hosts without a person, and [`TerminalUser`]
//! writes to stderr, with a countdown on a terminal.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

pub use crate::bindings::azauth::credential::user::DeviceCodePrompt;

/// Interface through which the sign-in methods reach a person.
///
/// Called from inside the component's call on the async runtime: implementations must
/// not block for long.
pub trait UserInterface: Send + Sync {
    /// Shows the device code prompt until [`end_device_code`](Self::end_device_code).
    /// An error means no person can be shown it, so the method is unavailable.
    fn show_device_code(&self, prompt: &DeviceCodePrompt) -> Result<(), String>;

    /// Ends the prompt. `signed_in` is true when the sign-in succeeded.
    fn end_device_code(&self, signed_in: bool);

    /// Opens a URL in the person's browser. An error means no browser can be opened.
    fn open_browser(&self, url: &str) -> Result<(), String>;
}

/// A host with no person: every prompt fails, so `devicecode` and `interactive` are
/// unavailable.
#[derive(Debug, Default)]
pub struct NoUser;

impl UserInterface for NoUser {
    fn show_device_code(&self, _: &DeviceCodePrompt) -> Result<(), String> {
        Err("this host has nobody to show a sign-in code to".to_string())
    }

    fn end_device_code(&self, _: bool) {}

    fn open_browser(&self, _: &str) -> Result<(), String> {
        Err("this host has no browser to open".to_string())
    }
}

/// A person at a command line: prompts go to stderr, so stdout stays machine-readable.
///
/// On a terminal a line under the prompt counts down to the code's expiry each second.
/// Elsewhere (CI logs) the prompt is printed once with the expiry time, and no more.
/// The browser is the command in `$BROWSER`, else `xdg-open` (or `open` on macOS) when
/// there is a display.
#[derive(Debug, Default)]
pub struct TerminalUser {
    countdown: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl UserInterface for TerminalUser {
    fn show_device_code(&self, prompt: &DeviceCodePrompt) -> Result<(), String> {
        let now = unix_now();
        let minutes = prompt.expires_on.saturating_sub(now).div_ceil(60);
        // The text comes from the identity provider: control characters could move the
        // cursor or rewrite the terminal, so they are dropped.
        let message: String = prompt.message.chars().filter(|c| !c.is_control()).collect();
        eprintln!("{message}");
        if !std::io::stderr().is_terminal() {
            eprintln!("The code expires in {minutes} minutes. Waiting for the sign-in...");
            return Ok(());
        }
        let expires_on = prompt.expires_on;
        let task = tokio::spawn(async move {
            loop {
                let left = expires_on.saturating_sub(unix_now());
                eprint!(
                    "\r\x1b[KWaiting for the sign-in: the code expires in {}:{:02}",
                    left / 60,
                    left % 60
                );
                let _ = std::io::stderr().flush();
                if left == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        if let Some(old) = self.countdown.lock().unwrap_or_else(|e| e.into_inner()).replace(task) {
            old.abort();
        }
        Ok(())
    }

    fn end_device_code(&self, signed_in: bool) {
        if let Some(task) = self.countdown.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
            eprint!("\r\x1b[K");
        }
        if signed_in {
            eprintln!("Signed in.");
        }
    }

    fn open_browser(&self, url: &str) -> Result<(), String> {
        let argv = browser_command(
            std::env::var("BROWSER").ok().as_deref(),
            has_display(),
            url,
        )?;
        spawn_detached(&argv)
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn has_display() -> bool {
    cfg!(target_os = "macos")
        || ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// Builds the browser command: `$BROWSER` split on whitespace, without a shell, with
/// `%s` replaced by the URL or the URL appended; else the platform's opener when there
/// is a display. Only the first of several `:`-separated `$BROWSER` entries is used.
fn browser_command(browser: Option<&str>, display: bool, url: &str) -> Result<Vec<String>, String> {
    let first = browser.and_then(|value| value.split(':').map(str::trim).find(|e| !e.is_empty()));
    if let Some(command) = first {
        let mut argv: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        if argv.iter().any(|arg| arg.contains("%s")) {
            argv = argv.into_iter().map(|arg| arg.replace("%s", url)).collect();
        } else {
            argv.push(url.to_string());
        }
        return Ok(argv);
    }
    if !display {
        return Err(
            "no browser can be opened: $BROWSER is not set and there is no graphical display \
             (DISPLAY or WAYLAND_DISPLAY)"
                .to_string(),
        );
    }
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    Ok(vec![opener.to_string(), url.to_string()])
}

/// Starts a program without waiting for it, with its output discarded so that stdout
/// stays machine-readable. A background task reaps it.
fn spawn_detached(argv: &[String]) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("the browser command is empty")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|error| format!("starting the browser {program:?} failed: {error}"))?;
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(())
}

/// Largest redirect request read: the request line, headers and a form body.
const MAX_REDIRECT_BYTES: usize = 64 * 1024;

/// The page the browser shows after the redirect.
const DONE_PAGE: &str = "<!DOCTYPE html><html><head><title>azauth</title></head><body>\
    <p>Authentication complete. You can close this window and return to azauth.</p>\
    </body></html>";

/// Binds a listener on a free port of 127.0.0.1.
pub(crate) async fn listen() -> Result<(TcpListener, u16), String> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|error| format!("no loopback port is free for the redirect: {error}"))?;
    let port = listener
        .local_addr()
        .map_err(|error| format!("reading the listener's port failed: {error}"))?
        .port();
    Ok((listener, port))
}

/// Waits for the redirect and returns its target: the request target of a GET, or `?`
/// and the body of a POST. Requests for `/favicon.ico` get 204 and the wait goes on.
pub(crate) async fn wait(listener: TcpListener, timeout: Duration) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let accepted = tokio::time::timeout_at(deadline, listener.accept()).await;
        let (stream, _) = match accepted {
            Err(_) => {
                return Err(format!(
                    "no browser redirect arrived within {} seconds",
                    timeout.as_secs()
                ));
            }
            Ok(Err(error)) => return Err(format!("accepting the redirect failed: {error}")),
            Ok(Ok(accepted)) => accepted,
        };
        match tokio::time::timeout_at(deadline, read_redirect(stream)).await {
            Ok(Ok(Some(target))) => return Ok(target),
            Ok(Ok(None)) => continue,
            Ok(Err(error)) => {
                tracing::debug!("ignored a malformed request to the redirect listener: {error}");
                continue;
            }
            Err(_) => {
                return Err(format!(
                    "no complete browser redirect arrived within {} seconds",
                    timeout.as_secs()
                ));
            }
        }
    }
}

/// Reads one request and responds to it. Returns `None` for a request that is not the
/// redirect (a favicon).
async fn read_redirect(mut stream: TcpStream) -> Result<Option<String>, String> {
    let mut buffer = Vec::new();
    let header_end = loop {
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("the connection closed before the request ended".to_string());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_REDIRECT_BYTES {
            return Err("the request is too large".to_string());
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let target = request_line.next().unwrap_or_default().to_string();

    if target.starts_with("/favicon") {
        let _ = stream
            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .await;
        return Ok(None);
    }
    let redirect = match method.as_str() {
        "GET" => target,
        "POST" => {
            let length = lines
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if length > MAX_REDIRECT_BYTES {
                return Err("the form body is too large".to_string());
            }
            let mut body = buffer[header_end..].to_vec();
            while body.len() < length {
                let mut chunk = [0u8; 4096];
                let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
                if read == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..read]);
            }
            body.truncate(length);
            format!("?{}", String::from_utf8_lossy(&body))
        }
        other => {
            let _ = stream
                .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n")
                .await;
            return Err(format!("unexpected method {other:?}"));
        }
    };
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{DONE_PAGE}",
        DONE_PAGE.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    Ok(Some(redirect))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:9/authorize?a=1";

    #[test]
    fn browser_variable_split_without_shell() {
        assert_eq!(
            browser_command(Some("/opt/x/browser --new-tab"), false, URL).unwrap(),
            vec!["/opt/x/browser", "--new-tab", URL]
        );
        assert_eq!(
            browser_command(Some("firefox -url %s:chromium"), false, URL).unwrap(),
            vec!["firefox", "-url", URL]
        );
        // A URL with shell metacharacters stays one argument.
        let tricky = "http://127.0.0.1/?a=1;echo INJECTED";
        assert_eq!(browser_command(Some("b"), false, tricky).unwrap(), vec!["b", tricky]);
    }

    #[test]
    fn no_browser_and_no_display_is_an_error() {
        let error = browser_command(None, false, URL).unwrap_err();
        assert!(error.contains("$BROWSER is not set"), "{error}");
        let error = browser_command(Some("  "), false, URL).unwrap_err();
        assert!(error.contains("no graphical display"), "{error}");
        if !cfg!(target_os = "macos") {
            assert_eq!(browser_command(None, true, URL).unwrap(), vec!["xdg-open", URL]);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn redirect_get_and_post_are_read() {
        let (listener, port) = listen().await.unwrap();
        let client = tokio::spawn(async move {
            let mut favicon = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            favicon.write_all(b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
            let mut answer = String::new();
            favicon.read_to_string(&mut answer).await.unwrap();
            assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            stream
                .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\ncode=c1&state=s1")
                .await
                .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
            assert!(answer.contains("Authentication complete"), "{answer}");
        });
        let target = wait(listener, Duration::from_secs(5)).await.unwrap();
        assert_eq!(target, "?code=c1&state=s1");
        client.await.unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn redirect_wait_times_out() {
        let (listener, _) = listen().await.unwrap();
        let error = wait(listener, Duration::from_millis(200)).await.unwrap_err();
        assert!(error.contains("within 0 seconds"), "{error}");
    }
}
