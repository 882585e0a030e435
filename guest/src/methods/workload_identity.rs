//! `workloadidentity`: workload identity federation, as Azure Kubernetes Service sets
//! it up.
//!
//! Needs `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID` and `AZURE_TENANT_ID`
//! (`--client-id` and `--tenant-id` take their place when the variables are absent).
//! The file contains a token that Kubernetes signs and rotates. It goes to Entra ID as
//! the client assertion of a client credentials request. The file is read again for every
//! new token, so a rotated token is used as soon as the cached access token is due.
//!
//! The host must grant read access to the file's folder; azauth's command line does.

use super::{MethodError, Plan, env};
use crate::cache::CacheKey;
use crate::cloud::Authority;
use crate::entra::{self, Endpoint, Grant, Token};
use crate::secret::Secret;
use crate::settings::{Environment, Settings};
use crate::validate;

const TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
const CLIENT_ID: &str = "AZURE_CLIENT_ID";
const TENANT_ID: &str = "AZURE_TENANT_ID";

/// Largest token file read. Kubernetes service account tokens are about 1 KiB.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

#[derive(Debug)]
struct WorkloadIdentityPlan {
    authority: Authority,
    tenant: String,
    client_id: String,
    token_file: String,
    scope: String,
}

pub(super) fn plan(settings: &Settings, env: &Environment) -> Result<Box<dyn Plan>, MethodError> {
    let value = |name: &str| {
        env.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let token_file = value(TOKEN_FILE);
    let client_id = value(CLIENT_ID).or_else(|| settings.client_id.clone());
    let tenant = value(TENANT_ID).or_else(|| settings.tenant_id.clone());
    let (Some(token_file), Some(client_id), Some(tenant)) = (token_file, client_id, tenant) else {
        let missing: Vec<&str> = [
            (TOKEN_FILE, env.get(TOKEN_FILE).is_none_or(str::is_empty)),
            (
                CLIENT_ID,
                value(CLIENT_ID).is_none() && settings.client_id.is_none(),
            ),
            (
                TENANT_ID,
                value(TENANT_ID).is_none() && settings.tenant_id.is_none(),
            ),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        return Err(MethodError::Unavailable(format!(
            "{} not set; workload identity needs {TOKEN_FILE}, {CLIENT_ID} and {TENANT_ID}, \
             which Azure Kubernetes Service sets in pods that use it",
            missing.join(", ")
        )));
    };
    validate::client_id(&client_id)
        .map_err(|error| MethodError::Failed(format!("{CLIENT_ID}: {error}")))?;
    validate::tenant_id(&tenant)
        .map_err(|error| MethodError::Failed(format!("{TENANT_ID}: {error}")))?;
    Ok(Box::new(WorkloadIdentityPlan {
        authority: env::authority(settings, env)?,
        tenant,
        client_id,
        token_file,
        scope: settings.scope.clone(),
    }))
}

impl Plan for WorkloadIdentityPlan {
    fn cache_key(&self) -> CacheKey {
        CacheKey::for_client(
            "workloadidentity",
            &self.authority,
            &self.tenant,
            &self.client_id,
            &self.scope,
        )
    }

    fn acquire(&self) -> Result<Token, MethodError> {
        let assertion = read_token_file(&self.token_file)?;
        let endpoint = Endpoint {
            authority: &self.authority,
            tenant: &self.tenant,
            client_id: &self.client_id,
        };
        entra::request_token(&endpoint, Grant::ClientAssertion(&assertion), &self.scope)
    }
}

/// Reads the federated token. A missing, unreadable, empty or oversized file fails,
/// because the variables show that this pod is set up for workload identity.
fn read_token_file(path: &str) -> Result<Secret, MethodError> {
    let fail = |what: String| {
        MethodError::Failed(format!(
            "{TOKEN_FILE} names {path}, which {what}; check the pod's service account token \
             volume, and that the host grants read access to the file's folder"
        ))
    };
    let size = std::fs::metadata(path)
        .map_err(|error| fail(format!("could not be read ({error})")))?
        .len();
    if size > MAX_TOKEN_FILE_BYTES {
        return Err(fail(format!("is larger than {MAX_TOKEN_FILE_BYTES} bytes")));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| fail(format!("could not be read ({error})")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(fail("is empty".to_string()));
    }
    Ok(Secret::new(token))
}
