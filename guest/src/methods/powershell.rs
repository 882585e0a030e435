//! `powershell`: the account that Azure PowerShell (`Connect-AzAccount`) is signed in with.
//!
//! Runs `pwsh -NoProfile -NonInteractive -Command <script>` through the host's process
//! capability, or `powershell` (Windows PowerShell 5.1) with the same arguments when
//! `pwsh` is missing. The script imports Az.Accounts, calls `Get-AzAccessToken` for the
//! resource of the scope (and the tenant), turns a SecureString token into text, and
//! prints one line: [`RESULT_PREFIX`] followed by compact JSON with `token`,
//! `expires_on` (Unix seconds) and `tenant`.
//!
//! Both programs missing, Az.Accounts missing, not signed in, or a timeout is unavailable;
//! any other failure is failed, with PowerShell's message (tokens removed).

use super::{MethodError, Plan};
use crate::cache::CacheKey;
use crate::entra::Token;
use crate::process::{self, ProcessError};
use crate::secret::Secret;
use crate::settings::{Environment, Settings};
use crate::{log, validate};

/// Start of the line that carries the result.
pub const RESULT_PREFIX: &str = "AZAUTH_POWERSHELL_RESULT ";

/// The only line the script prints when Az.Accounts 2.2.0 or later is missing.
pub const NO_MODULE_SENTINEL: &str = "AZAUTH_NO_AZ_ACCOUNTS_MODULE";

/// The script. `{resource}` and `{tenant}` are replaced by values that passed the scope
/// and tenant allowlists, which exclude quotes, so they cannot leave their
/// single-quoted strings.
///
/// Az.Accounts versions differ in how they return the token. Before 2.17.0 it is always
/// text. From 2.17.0 to 4.x it is text unless `-AsSecureString` is passed. From 5.0.0 it
/// is always a SecureString. The script asks for a SecureString where the switch exists
/// and the default is text, and unwraps any SecureString it gets: with
/// `ConvertFrom-SecureString -AsPlainText` on PowerShell 7, through a BSTR on Windows
/// PowerShell 5.1, which lacks `-AsPlainText`.
const SCRIPT: &str = r#"$ErrorActionPreference = 'Stop'
$module = Import-Module Az.Accounts -MinimumVersion 2.2.0 -PassThru -ErrorAction SilentlyContinue
if (-not $module) { Write-Output 'AZAUTH_NO_AZ_ACCOUNTS_MODULE'; exit 0 }
$parameters = @{ ResourceUrl = '{resource}'; WarningAction = 'Ignore' }
if ('{tenant}' -ne '') { $parameters['TenantId'] = '{tenant}' }
if ($module.Version -ge [version]'2.17.0' -and $module.Version -lt [version]'5.0.0') { $parameters['AsSecureString'] = $true }
$result = Get-AzAccessToken @parameters
$token = $result.Token
if ($token -is [System.Security.SecureString]) {
    if ($PSVersionTable.PSVersion.Major -ge 7) {
        $token = ConvertFrom-SecureString -SecureString $token -AsPlainText
    } else {
        $bstr = [System.Runtime.InteropServices.Marshal]::SecureStringToBSTR($token)
        try { $token = [System.Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr) }
        finally { [System.Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr) }
    }
}
$json = @{ token = [string]$token; expires_on = $result.ExpiresOn.ToUnixTimeSeconds(); tenant = [string]$result.TenantId } | ConvertTo-Json -Compress
Write-Output ''
Write-Output ('AZAUTH_POWERSHELL_RESULT ' + $json)
"#;

/// A `Get-AzAccessToken` call.
#[derive(Debug)]
struct PowerShellPlan {
    scope: String,
    resource: String,
    tenant: Option<String>,
    timeout_ms: u32,
}

pub(super) fn plan(settings: &Settings, _env: &Environment) -> Result<Box<dyn Plan>, MethodError> {
    let tenant = settings
        .tenant_id
        .clone()
        .or_else(|| settings.config.tenant_id.clone());
    if let Some(tenant) = &tenant {
        validate::tenant_id(tenant).map_err(MethodError::Failed)?;
    }
    let resource = resource_of(&settings.scope)?;
    Ok(Box::new(PowerShellPlan {
        scope: settings.scope.clone(),
        resource,
        tenant,
        timeout_ms: settings.process_timeout_ms,
    }))
}

/// Returns the resource of a `.default` scope: the scope without that suffix. Other scopes
/// cannot be expressed as a resource URL.
fn resource_of(scope: &str) -> Result<String, MethodError> {
    match scope.strip_suffix("/.default") {
        Some(resource) if !resource.is_empty() => Ok(resource.to_string()),
        _ => Err(MethodError::Unavailable(format!(
            "Get-AzAccessToken takes a resource URL, so the powershell method needs a scope \
             of the form <resource>/.default, not {scope}"
        ))),
    }
}

/// Builds the script for a resource and an optional tenant.
fn script(resource: &str, tenant: Option<&str>) -> String {
    SCRIPT
        .replace("{resource}", resource)
        .replace("{tenant}", tenant.unwrap_or(""))
}

impl Plan for PowerShellPlan {
    fn cache_key(&self) -> CacheKey {
        CacheKey {
            method: "powershell",
            authority: "pwsh".to_string(),
            tenant: self.tenant.clone(),
            client_id: None,
            scope: self.scope.clone(),
        }
    }

    fn acquire(&self) -> Result<Token, MethodError> {
        let args = [
            "-NoProfile".to_string(),
            "-NonInteractive".to_string(),
            "-Command".to_string(),
            script(&self.resource, self.tenant.as_deref()),
        ];
        let mut missing = Vec::new();
        for program in PROGRAMS {
            match self.run(program, &args)? {
                Attempt::Ran(output) => {
                    return interpret(program, output.exit_code, &output.stdout, &output.stderr);
                }
                Attempt::Missing(reason) => {
                    log::debug(&format!("powershell: {program} is missing: {reason}"));
                    missing.push(format!("{program}: {reason}"));
                }
            }
        }
        Err(MethodError::Unavailable(format!(
            "PowerShell was not found ({}); install PowerShell 7 and Az.Accounts, or remove \
             powershell from the methods",
            missing.join("; ")
        )))
    }
}

/// The programs tried in order: PowerShell 7, then Windows PowerShell 5.1.
const PROGRAMS: [&str; 2] = ["pwsh", "powershell"];

/// Exit codes of a shell whose command was not found: 127 from POSIX shells, 9009 from
/// `cmd.exe`. The fallback decides on these codes alone, because the shell's message is
/// in the user's language.
const NOT_FOUND_EXIT_CODES: [i32; 2] = [127, 9009];

fn is_not_found_exit(code: i32) -> bool {
    NOT_FOUND_EXIT_CODES.contains(&code)
}

/// The result of trying one PowerShell program.
enum Attempt {
    /// The program ran, successfully or not.
    Ran(process::Output),
    /// The program is not installed or not allowed, for the reason given.
    Missing(String),
}

impl PowerShellPlan {
    /// Runs one PowerShell program. A program that the host cannot find or may not run,
    /// or that a shell wrapper reports as not found by exit code, is missing.
    fn run(&self, program: &str, args: &[String]) -> Result<Attempt, MethodError> {
        match process::run(program, args, self.timeout_ms) {
            Ok(output) => match output.exit_code {
                Some(code) if is_not_found_exit(code) => Ok(Attempt::Missing(format!(
                    "exit code {code}, which a shell returns for a command not found"
                ))),
                _ => Ok(Attempt::Ran(output)),
            },
            Err(ProcessError::NotFound(message) | ProcessError::NotAllowed(message)) => {
                Ok(Attempt::Missing(message))
            }
            Err(ProcessError::TimedOut) => Err(MethodError::Unavailable(format!(
                "{program} did not finish within {} ms and was stopped; raise the limit with \
                 --process-timeout-ms",
                self.timeout_ms
            ))),
            Err(ProcessError::OutputTooLarge) => Err(MethodError::Failed(format!(
                "{program} wrote more output than the host accepts"
            ))),
            Err(ProcessError::Failed(message)) => Err(MethodError::Unavailable(format!(
                "{program} could not be run: {message}"
            ))),
        }
    }
}

/// Turns what `program` printed into a token or a reason.
fn interpret(
    program: &str,
    exit_code: Option<i32>,
    stdout: &str,
    stderr: &str,
) -> Result<Token, MethodError> {
    if stdout.lines().any(|line| line.trim() == NO_MODULE_SENTINEL) {
        return Err(MethodError::Unavailable(
            format!(
            "the Az.Accounts module (2.2.0 or later) is not installed for {program}; run \
             `Install-Module Az.Accounts`"
        ),
        ));
    }
    let stderr = process::redact(stderr.trim());
    if stderr.contains("Connect-AzAccount") {
        return Err(MethodError::Unavailable(
            "Azure PowerShell is not signed in; run `Connect-AzAccount`".to_string(),
        ));
    }
    if stderr.contains("AuthorizationManager check failed") {
        return Err(MethodError::Unavailable(
            "PowerShell's execution policy blocked Az.Accounts; allow it with \
             `Set-ExecutionPolicy RemoteSigned -Scope CurrentUser`"
                .to_string(),
        ));
    }
    if exit_code != Some(0) {
        let code = exit_code.map_or("a signal".to_string(), |code| format!("exit code {code}"));
        return Err(MethodError::Failed(format!(
            "{program} failed ({code}): {stderr}"
        )));
    }
    parse_result(program, stdout).map_err(MethodError::Failed)
}

/// Reads the result line that the script prints.
fn parse_result(program: &str, stdout: &str) -> Result<Token, String> {
    let line = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix(RESULT_PREFIX.trim_end()))
        .ok_or_else(|| {
            format!("{program} exited without printing a token: Get-AzAccessToken returned nothing")
        })?;
    let value: serde_json::Value = serde_json::from_str(line.trim())
        .map_err(|error| format!("{program} printed an unreadable result ({error})"))?;
    let token = value
        .get("token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("the {program} result has no token"))?;
    if token == "System.Security.SecureString" {
        return Err(
            "Get-AzAccessToken returned a SecureString that the script could not unwrap"
                .to_string(),
        );
    }
    let expires_on = value
        .get("expires_on")
        .and_then(|e| e.as_u64())
        .filter(|&e| e > 0)
        .ok_or_else(|| format!("the {program} result has no expires_on"))?;
    Ok(Token {
        access_token: Secret::new(token),
        expires_on,
        refresh_on: None,
        token_type: "Bearer".to_string(),
        tenant: value
            .get("tenant")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESULT: &str = "\nAZAUTH_POWERSHELL_RESULT {\"token\":\"FAKE-AT-0080\",\"expires_on\":1900000000,\"tenant\":\"11111111-2222-3333-4444-555555555555\"}\n";

    #[test]
    fn result_line_parses() {
        let token = interpret("pwsh", Some(0), RESULT, "WARNING: upgrade").unwrap();
        assert_eq!(token.access_token.expose(), "FAKE-AT-0080");
        assert_eq!(token.expires_on, 1_900_000_000);
        assert_eq!(
            token.tenant.as_deref(),
            Some("11111111-2222-3333-4444-555555555555")
        );
    }

    #[test]
    fn outcomes_sorted_by_cause() {
        let unavailable = |stdout: &str, stderr: &str, code| {
            matches!(
                interpret("pwsh", Some(code), stdout, stderr),
                Err(MethodError::Unavailable(_))
            )
        };
        let failed = |stdout: &str, stderr: &str, code| {
            matches!(
                interpret("pwsh", Some(code), stdout, stderr),
                Err(MethodError::Failed(_))
            )
        };
        // The module is missing: the script prints the sentinel and exits 0.
        assert!(unavailable("AZAUTH_NO_AZ_ACCOUNTS_MODULE\n", "", 0));
        assert!(unavailable("", "Run Connect-AzAccount to login.", 1));
        assert!(failed("", "Get-AzAccessToken: something else broke", 1));
        assert!(failed("no result here\n", "", 0));
        let secure = "AZAUTH_POWERSHELL_RESULT {\"token\":\"System.Security.SecureString\",\"expires_on\":1900000000}";
        assert!(failed(secure, "", 0));
    }

    #[test]
    fn only_shell_not_found_codes_mean_missing() {
        assert!(is_not_found_exit(127));
        assert!(is_not_found_exit(9009));
        for code in [0, 1, 2, 126, 128, 255] {
            assert!(!is_not_found_exit(code), "{code}");
        }
    }

    #[test]
    fn script_quotes_validated_values() {
        let text = script("https://management.azure.com", Some("contoso.example"));
        assert!(text.contains("ResourceUrl = 'https://management.azure.com'"));
        assert!(text.contains("$parameters['TenantId'] = 'contoso.example'"));
        assert!(script("https://x.example", None).contains("if ('' -ne '')"));
        assert!(text.contains(RESULT_PREFIX.trim_end()));
        assert!(text.contains(NO_MODULE_SENTINEL));
    }

    #[test]
    fn resource_needs_default_scope() {
        assert_eq!(
            resource_of("https://management.azure.com/.default").unwrap(),
            "https://management.azure.com"
        );
        assert!(resource_of("https://graph.microsoft.com/User.Read").is_err());
    }
}
