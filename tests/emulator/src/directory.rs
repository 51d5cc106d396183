//! The tenant's directory: who may sign in and with what. Parsed from the fixture's
//! `clients`, `azure_devops` and `managed_identities` keys (the rest of the fixture is
//! `tenant.rs`'s), and read by the token endpoint, the Azure DevOps OIDC endpoint and the
//! managed-identity endpoints.
//!
//! - `clients[]`: `client_id`; optionally `client_secret`; `certificates` (PEM certificates
//!   whose keys may sign client assertions, as uploaded to an app registration; tests usually
//!   add a freshly generated one with [`Tenant::add_client_certificate`] rather than commit
//!   one); `federated_credentials` (`issuer`, `subject`, optional `audiences`, default
//!   `["api://AzureADTokenExchange"]`), the federated identity credentials of the app.
//! - `azure_devops`: `organization`, `organization_id` (a GUID: Azure DevOps' OIDC issuer is
//!   `https://vstoken.dev.azure.com/{organization_id}`), `project`, and `service_connections`
//!   (`id`, `name`; the assertion for a connection has the subject
//!   `sc://{organization}/{project}/{name}`).
//! - `managed_identities[]`: `client_id` and `system_assigned` (at most one): the identities
//!   assigned to the host the managed-identity endpoints pretend to be.
//!
//! [`Tenant::add_client_certificate`]: crate::Tenant::add_client_certificate

use serde_json::{Map, Value};

use crate::tenant::{as_object, opt_array, opt_str, reject_unknown, req_str};

/// The audience Entra expects in federated assertions unless a credential says otherwise.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A client (app registration / service principal) the token endpoint knows. A client may
/// sign in with its secret, with an assertion signed by one of its certificates' keys, or
/// with a federated assertion one of its federated credentials trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub client_secret: Option<String>,
    /// PEM certificates (public parts only).
    pub certificates: Vec<String>,
    pub federated_credentials: Vec<FederatedCredential>,
}

/// One federated identity credential: assertions from `issuer` about `subject` with one of
/// `audiences` are exchanged for this client's tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedCredential {
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
}

/// The Azure DevOps organisation whose OIDC endpoint the emulator plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzureDevOps {
    pub organization: String,
    pub organization_id: String,
    pub project: String,
    pub service_connections: Vec<ServiceConnection>,
}

impl AzureDevOps {
    /// The issuer of this organisation's OIDC tokens.
    pub fn issuer(&self) -> String {
        format!("https://vstoken.dev.azure.com/{}", self.organization_id)
    }

    /// The subject of a service connection's OIDC token.
    pub fn subject(&self, connection: &ServiceConnection) -> String {
        format!(
            "sc://{}/{}/{}",
            self.organization, self.project, connection.name
        )
    }
}

/// An Azure Resource Manager service connection (workload identity federation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConnection {
    pub id: String,
    pub name: String,
}

/// A managed identity assigned to the emulated host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedIdentity {
    pub client_id: String,
    pub system_assigned: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Directory {
    pub(crate) clients: Vec<Client>,
    pub(crate) azure_devops: Option<AzureDevOps>,
    pub(crate) managed_identities: Vec<ManagedIdentity>,
}

impl Directory {
    pub(crate) fn parse(root: &Map<String, Value>) -> Result<Directory, String> {
        let mut directory = Directory::default();
        directory.parse_clients(root.get("clients"))?;
        if let Some(value) = root.get("azure_devops").filter(|v| !v.is_null()) {
            directory.azure_devops = Some(parse_azure_devops(value)?);
        }
        directory.parse_managed_identities(root.get("managed_identities"))?;
        Ok(directory)
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients
            .iter()
            .find(|c| c.client_id.eq_ignore_ascii_case(client_id))
    }

    fn parse_clients(&mut self, value: Option<&Value>) -> Result<(), String> {
        for (i, item) in opt_array(value, "$.clients")?.iter().enumerate() {
            let path = format!("$.clients[{i}]");
            let obj = as_object(item, &path)?;
            reject_unknown(
                obj,
                &path,
                &[
                    "client_id",
                    "client_secret",
                    "certificates",
                    "federated_credentials",
                ],
            )?;
            let client_id = req_str(obj, &path, "client_id")?;
            if client_id.is_empty() {
                return Err(format!("{path}.client_id: must not be empty"));
            }
            if self.client(client_id).is_some() {
                return Err(format!("{path}.client_id: duplicate client '{client_id}'"));
            }
            let client_secret = opt_str(obj, &path, "client_secret")?.map(str::to_string);
            let mut certificates = Vec::new();
            for (j, pem) in opt_array(obj.get("certificates"), &format!("{path}.certificates"))?
                .iter()
                .enumerate()
            {
                let at = format!("{path}.certificates[{j}]");
                let pem = pem
                    .as_str()
                    .ok_or_else(|| format!("{at}: expected a PEM string"))?;
                crate::certificate::thumbprints(pem).map_err(|e| format!("{at}: {e}"))?;
                certificates.push(pem.to_string());
            }
            let mut federated_credentials = Vec::new();
            let fics = format!("{path}.federated_credentials");
            for (j, item) in opt_array(obj.get("federated_credentials"), &fics)?
                .iter()
                .enumerate()
            {
                let at = format!("{fics}[{j}]");
                let fic = as_object(item, &at)?;
                reject_unknown(fic, &at, &["issuer", "subject", "audiences"])?;
                let issuer = req_str(fic, &at, "issuer")?;
                let subject = req_str(fic, &at, "subject")?;
                if issuer.is_empty() || subject.is_empty() {
                    return Err(format!("{at}: issuer and subject must not be empty"));
                }
                let mut audiences = Vec::new();
                for (k, aud) in opt_array(fic.get("audiences"), &format!("{at}.audiences"))?
                    .iter()
                    .enumerate()
                {
                    let aud = aud
                        .as_str()
                        .filter(|a| !a.is_empty())
                        .ok_or_else(|| format!("{at}.audiences[{k}]: expected a string"))?;
                    audiences.push(aud.to_string());
                }
                if audiences.is_empty() {
                    audiences.push(TOKEN_EXCHANGE_AUDIENCE.to_string());
                }
                federated_credentials.push(FederatedCredential {
                    issuer: issuer.to_string(),
                    subject: subject.to_string(),
                    audiences,
                });
            }
            self.clients.push(Client {
                client_id: client_id.to_string(),
                client_secret,
                certificates,
                federated_credentials,
            });
        }
        Ok(())
    }

    fn parse_managed_identities(&mut self, value: Option<&Value>) -> Result<(), String> {
        for (i, item) in opt_array(value, "$.managed_identities")?.iter().enumerate() {
            let path = format!("$.managed_identities[{i}]");
            let obj = as_object(item, &path)?;
            reject_unknown(obj, &path, &["client_id", "system_assigned"])?;
            let client_id = req_str(obj, &path, "client_id")?;
            if client_id.is_empty() {
                return Err(format!("{path}.client_id: must not be empty"));
            }
            let system_assigned = match obj.get("system_assigned") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(format!("{path}.system_assigned: expected a boolean")),
            };
            if system_assigned && self.managed_identities.iter().any(|m| m.system_assigned) {
                return Err(format!(
                    "{path}.system_assigned: a host has at most one system-assigned identity"
                ));
            }
            self.managed_identities.push(ManagedIdentity {
                client_id: client_id.to_string(),
                system_assigned,
            });
        }
        Ok(())
    }
}

fn parse_azure_devops(value: &Value) -> Result<AzureDevOps, String> {
    let path = "$.azure_devops";
    let obj = as_object(value, path)?;
    reject_unknown(
        obj,
        path,
        &[
            "organization",
            "organization_id",
            "project",
            "service_connections",
        ],
    )?;
    let field = |key: &str| -> Result<String, String> {
        let v = req_str(obj, path, key)?;
        if v.is_empty() || v.contains('/') {
            return Err(format!("{path}.{key}: must be non-empty, without '/'"));
        }
        Ok(v.to_string())
    };
    let mut devops = AzureDevOps {
        organization: field("organization")?,
        organization_id: field("organization_id")?,
        project: field("project")?,
        service_connections: Vec::new(),
    };
    let list = format!("{path}.service_connections");
    for (i, item) in opt_array(obj.get("service_connections"), &list)?
        .iter()
        .enumerate()
    {
        let at = format!("{list}[{i}]");
        let sc = as_object(item, &at)?;
        reject_unknown(sc, &at, &["id", "name"])?;
        let id = req_str(sc, &at, "id")?;
        let name = req_str(sc, &at, "name")?;
        if id.is_empty() || name.is_empty() {
            return Err(format!("{at}: id and name must not be empty"));
        }
        devops.service_connections.push(ServiceConnection {
            id: id.to_string(),
            name: name.to_string(),
        });
    }
    Ok(devops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<Directory, String> {
        Directory::parse(v.as_object().expect("object"))
    }

    #[test]
    fn parses_credentials_connections_and_identities() {
        let d = parse(serde_json::json!({
            "clients": [
                {"client_id": "a", "client_secret": "s"},
                {"client_id": "b", "federated_credentials": [
                    {"issuer": "https://i", "subject": "s1"},
                    {"issuer": "https://j", "subject": "s2", "audiences": ["x"]}
                ]}
            ],
            "azure_devops": {"organization": "org", "organization_id": "0000", "project": "p",
                "service_connections": [{"id": "sc-1", "name": "reader"}]},
            "managed_identities": [{"client_id": "m1", "system_assigned": true}, {"client_id": "m2"}]
        }))
        .expect("parses");
        assert_eq!(
            d.client("A").map(|c| c.client_secret.as_deref()),
            Some(Some("s"))
        );
        let b = d.client("b").expect("b");
        assert_eq!(
            b.federated_credentials[0].audiences,
            [TOKEN_EXCHANGE_AUDIENCE]
        );
        assert_eq!(b.federated_credentials[1].audiences, ["x"]);
        let devops = d.azure_devops.expect("devops");
        assert_eq!(devops.issuer(), "https://vstoken.dev.azure.com/0000");
        assert_eq!(
            devops.subject(&devops.service_connections[0]),
            "sc://org/p/reader"
        );
        assert_eq!(d.managed_identities.len(), 2);
        assert!(
            d.managed_identities[0].system_assigned && !d.managed_identities[1].system_assigned
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        let err = |v: Value| parse(v).unwrap_err();
        assert!(
            err(serde_json::json!({"clients": [{"client_id": "a", "certificates": ["nope"]}]}))
                .starts_with("$.clients[0].certificates[0]: ")
        );
        assert!(
            err(serde_json::json!({"clients": [{"client_id": "a", "federated_credentials": [{"issuer": "i"}]}]}))
                .starts_with("$.clients[0].federated_credentials[0].subject: missing")
        );
        assert!(
            err(serde_json::json!({"azure_devops": {"organization": "o", "project": "p"}}))
                .starts_with("$.azure_devops.organization_id: missing")
        );
        assert!(
            err(serde_json::json!({"managed_identities": [
                {"client_id": "a", "system_assigned": true}, {"client_id": "b", "system_assigned": true}]}))
            .contains("at most one system-assigned")
        );
        assert!(
            err(serde_json::json!({"clients": [{"client_id": "a"}, {"client_id": "A"}]}))
                .contains("duplicate client")
        );
    }
}
