//! Validation of the strings that reach URLs, form bodies and command lines.
//!
//! Every check is an ASCII allowlist, so a value that passes cannot carry shell
//! metacharacters, whitespace, path separators or non-ASCII look-alikes.

/// Suffix that turns a resource URL into a scope for the client credentials grant.
const DEFAULT_SUFFIX: &str = "/.default";

/// Checks a tenant ID or domain: non-empty and only ASCII letters, digits, `.` and `-`.
///
/// The same rule as azure-identity's `validate_tenant_id`. `organizations` and `common`
/// pass, so callers decide whether a flow accepts them.
pub fn tenant_id(value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid tenant id {value:?}: a tenant id contains only ASCII letters, digits, '.' \
             and '-'. Use the directory (tenant) ID GUID or a verified domain such as \
             contoso.onmicrosoft.com, as shown by `az account show --query tenantId`"
        ))
    }
}

/// Checks a client (application) ID: non-empty and only ASCII letters, digits, `.`, `-` and `_`.
pub fn client_id(value: &str) -> Result<(), String> {
    let valid = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid client id {value:?}: use the application (client) ID GUID of the app \
             registration or managed identity"
        ))
    }
}

/// Checks an Azure resource ID of a user-assigned managed identity, such as
/// `/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`:
/// it starts with `/` and contains only ASCII letters, digits and `/`, `.`, `-`, `_`, `(`, `)`.
pub fn resource_id(value: &str) -> Result<(), String> {
    let valid = value.starts_with('/')
        && value.len() > 1
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_' | b'(' | b')'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid identity resource id {value:?}: use the identity's Azure resource ID, \
             /subscriptions/<id>/resourceGroups/<group>/providers/\
             Microsoft.ManagedIdentity/userAssignedIdentities/<name>"
        ))
    }
}

/// Normalizes and checks a scope.
///
/// A value without a path beyond the host (`https://management.azure.com` or
/// `https://management.azure.com/`) is a resource URL, as `az --resource` takes it, and
/// becomes `<resource>/.default`. Every other value must already be a scope. A scope
/// contains only ASCII letters, digits and `.`, `-`, `_`, `:`, `/`, the allowlist of the
/// Azure SDKs, which admits `.../user_impersonation`.
pub fn scope(value: &str) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(
            "invalid scope \"\": give a scope such as https://management.azure.com/.default \
             or a resource URL such as https://management.azure.com"
                .to_string(),
        );
    }
    let valid = trimmed
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'/'));
    if !valid {
        return Err(format!(
            "invalid scope {value:?}: a scope contains only ASCII letters, digits and the \
             characters . - _ : /"
        ));
    }
    if is_resource_url(trimmed) {
        return Ok(format!("{}{DEFAULT_SUFFIX}", trimmed.trim_end_matches('/')));
    }
    Ok(trimmed.to_string())
}

/// Tells whether a value is a bare `scheme://host[/]` URL with no further path.
fn is_resource_url(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else {
        return false;
    };
    let host = rest.trim_end_matches('/');
    !scheme.is_empty() && !host.is_empty() && !host.contains('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_accepts_guid_domain_and_well_known_names() {
        for value in [
            "11111111-2222-3333-4444-555555555555",
            "contoso.example",
            "organizations",
            "common",
        ] {
            assert_eq!(tenant_id(value), Ok(()), "{value}");
        }
    }

    #[test]
    fn tenant_rejects_separators_spaces_and_non_ascii() {
        for value in ["", "bad/tenant", "tenant id", "x;echo INJECTED", "..%2F", "ténant"] {
            let error = tenant_id(value).unwrap_err();
            assert!(error.starts_with("invalid tenant id"), "{value}: {error}");
        }
    }

    #[test]
    fn scope_accepts_sdk_allowlist() {
        for value in [
            "https://management.core.windows.net/user_impersonation",
            "https://management.azure.com/.default",
            "api://99999999-8888-7777-6666-555555555555/.default",
        ] {
            assert_eq!(scope(value).as_deref(), Ok(value));
        }
    }

    #[test]
    fn scope_rejects_shell_metacharacters() {
        for value in [
            "https://management.azure.com/.default;echo INJECTED",
            "https://x.example/.default $(echo INJECTED)",
            "https://x.example/`id`",
            "",
            "   ",
        ] {
            let error = scope(value).unwrap_err();
            assert!(error.starts_with("invalid scope"), "{value}: {error}");
        }
    }

    #[test]
    fn resource_url_becomes_default_scope() {
        // With and without the trailing slash, as `az --resource` accepts both.
        assert_eq!(
            scope("https://management.azure.com").as_deref(),
            Ok("https://management.azure.com/.default")
        );
        assert_eq!(
            scope("https://management.azure.com/").as_deref(),
            Ok("https://management.azure.com/.default")
        );
        assert_eq!(
            scope("https://vault.azure.net").as_deref(),
            Ok("https://vault.azure.net/.default")
        );
    }

    #[test]
    fn client_id_rejects_spaces_and_separators() {
        assert_eq!(client_id("99999999-8888-7777-6666-555555555555"), Ok(()));
        assert!(client_id("").is_err());
        assert!(client_id("a b").is_err());
        assert!(client_id("a/b").is_err());
    }
}

#[cfg(test)]
mod resource_id_tests {
    use super::*;

    #[test]
    fn resource_id_allowlist() {
        let good = "/subscriptions/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/resourceGroups/rg_1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-(1)";
        assert!(resource_id(good).is_ok());
        // A resource ID is a path from the root; anything that could end a query value or
        // a command-line word is rejected.
        for bad in ["", "/", "subscriptions/x", "/x y", "/x&client_id=1", "/x;id", "/x'"] {
            assert!(resource_id(bad).is_err(), "{bad}");
        }
    }
}
