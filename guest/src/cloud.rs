//! Azure clouds and authority hosts.
//!
//! This file has no dependencies so that the host can include it too: the host's
//! network policy and the component must agree on which authority a cloud uses.

/// A national cloud of Microsoft Entra ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// The public (global) cloud.
    Global,
    /// Azure US Government.
    UsGov,
    /// Azure operated by 21Vianet in China.
    China,
}

impl Cloud {
    /// Parses a cloud name, ignoring case.
    ///
    /// Accepts MSTICPy's names and aliases (`global`/`public`, `usgov`/`gov`,
    /// `cn`/`china`) and the Azure CLI's (`AzureCloud`, `AzureUSGovernment`,
    /// `AzureChinaCloud`). Unknown names are an error that lists the valid ones, unlike
    /// MSTICPy, which falls back to the public cloud and so sends a government tenant's
    /// sign-in to the wrong authority.
    pub fn parse(name: &str) -> Result<Cloud, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "global" | "public" | "azurecloud" => Ok(Cloud::Global),
            "usgov" | "gov" | "azureusgovernment" => Ok(Cloud::UsGov),
            "cn" | "china" | "azurechinacloud" => Ok(Cloud::China),
            _ => Err(format!(
                "unknown cloud {name:?}: valid names are global (public, AzureCloud), \
                 usgov (gov, AzureUSGovernment) and cn (china, AzureChinaCloud)"
            )),
        }
    }

    /// Canonical MSTICPy name.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::China => "cn",
        }
    }

    /// Host name of the cloud's Entra ID authority.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global => "login.microsoftonline.com",
            Cloud::UsGov => "login.microsoftonline.us",
            Cloud::China => "login.chinacloudapi.cn",
        }
    }

    /// Authority URL with no trailing slash.
    pub fn authority(self) -> Authority {
        Authority {
            scheme: Scheme::Https,
            host: self.authority_host().to_string(),
            port: None,
        }
    }
}

/// URL scheme of an authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP, accepted only for loopback hosts.
    Http,
    /// HTTPS.
    Https,
}

/// An authority: the scheme, host and port that token requests go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// Scheme.
    pub scheme: Scheme,
    /// Host name or IP address; IPv6 addresses keep their brackets.
    pub host: String,
    /// Port, when the URL names one.
    pub port: Option<u16>,
}

impl Authority {
    /// Parses an authority host URL such as `https://login.example` or
    /// `http://127.0.0.1:8400`.
    ///
    /// A value without a scheme gets `https://`, as azure-identity does. A trailing
    /// slash is removed. Paths, queries, fragments and user information are rejected,
    /// and so is plain `http://` for any host outside loopback, because a token request
    /// carries a secret.
    pub fn parse(value: &str) -> Result<Authority, String> {
        let trimmed = value.trim().trim_end_matches('/');
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_string(), trimmed),
        };
        let scheme = match scheme.as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            _ => {
                return Err(format!(
                    "invalid authority host {value:?}: the scheme must be https (or http for \
                     a loopback host)"
                ));
            }
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "invalid authority host {value:?}: give a scheme, host and optional port only, \
                 such as https://login.microsoftonline.com"
            ));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| {
            format!("invalid authority host {value:?}: the port must be a number from 1 to 65535")
        })?;
        let valid_host = host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
        });
        if host.is_empty() || !valid_host {
            return Err(format!(
                "invalid authority host {value:?}: the host name contains characters that are \
                 not allowed"
            ));
        }
        let authority = Authority {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        };
        if scheme == Scheme::Http && !authority.is_loopback() {
            return Err(format!(
                "invalid authority host {value:?}: plain http is accepted only for loopback \
                 hosts (localhost, 127.0.0.0/8, [::1]); use https"
            ));
        }
        Ok(authority)
    }

    /// Tells whether the host is a loopback name or address.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }

    /// `host[:port]`, as an HTTP authority component.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// Formats the URL, with no trailing slash.
    pub fn url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}", self.host_port())
    }
}

/// Tells whether a host name or address is loopback: `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host == "[::1]" || host == "::1" {
        return true;
    }
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets[0] == "127"
        && octets
            .iter()
            .all(|octet| !octet.is_empty() && octet.parse::<u8>().is_ok())
}

/// Splits `host[:port]`, keeping IPv6 brackets. Returns `None` for an invalid port.
fn split_host_port(value: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(end) = value.find(']') {
        let host = &value[..=end];
        match value[end + 1..].strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if value.len() == end + 1 => (host, None),
            None => return None,
        }
    } else {
        match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        }
    };
    match port {
        None => Some((host, None)),
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => None,
            Ok(port) => Some((host, Some(port))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_aliases_ignore_case() {
        for (name, cloud) in [
            ("global", Cloud::Global),
            ("Public", Cloud::Global),
            ("AzureCloud", Cloud::Global),
            ("usgov", Cloud::UsGov),
            ("USGov", Cloud::UsGov),
            ("gov", Cloud::UsGov),
            ("AzureUSGovernment", Cloud::UsGov),
            ("cn", Cloud::China),
            ("china", Cloud::China),
            ("CHINA", Cloud::China),
        ] {
            assert_eq!(Cloud::parse(name), Ok(cloud), "{name}");
        }
    }

    #[test]
    fn unknown_cloud_lists_valid_names() {
        let error = Cloud::parse("nosuchcloud").unwrap_err();
        assert!(error.contains("\"nosuchcloud\""), "{error}");
        assert!(error.contains("usgov"), "{error}");
        // Germany's cloud closed in 2021, so `de` is no longer valid.
        assert!(Cloud::parse("de").is_err());
    }

    #[test]
    fn cloud_authority_hosts() {
        assert_eq!(Cloud::Global.authority().url(), "https://login.microsoftonline.com");
        assert_eq!(Cloud::UsGov.authority().url(), "https://login.microsoftonline.us");
        assert_eq!(Cloud::China.authority().url(), "https://login.chinacloudapi.cn");
    }

    #[test]
    fn authority_normalizes_scheme_and_slash() {
        let authority = Authority::parse("login.example/").unwrap();
        assert_eq!(authority.url(), "https://login.example");
        let authority = Authority::parse("HTTP://127.0.0.1:8400/").unwrap();
        assert_eq!(authority.url(), "http://127.0.0.1:8400");
        assert_eq!(authority.port, Some(8400));
        let authority = Authority::parse("http://[::1]:9000").unwrap();
        assert_eq!(authority.host_port(), "[::1]:9000");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for value in ["http://localhost:1", "http://127.0.0.1", "http://127.8.9.10:80"] {
            assert!(Authority::parse(value).is_ok(), "{value}");
        }
        for value in ["http://login.example", "http://10.0.0.1", "http://127.0.0.1.example"] {
            let error = Authority::parse(value).unwrap_err();
            assert!(error.contains("loopback"), "{value}: {error}");
        }
    }

    #[test]
    fn authority_rejects_paths_and_bad_ports() {
        for value in [
            "https://login.example/tenant",
            "https://login.example?x=1",
            "https://user@login.example",
            "ftp://login.example",
            "https://login.example:0",
            "https://login.example:99999",
            "https://",
        ] {
            assert!(Authority::parse(value).is_err(), "{value}");
        }
    }
}
