#!/usr/bin/env python3
"""Builds examples/contoso/tenant.json, the bundled example tenant, from the official ARM
example payloads in tests/fixtures/arm-examples (verbatim copies from Azure/azure-rest-api-specs).

Every object starts as a real payload and is patched (JSON merge patch, RFC 7386) into the
Contoso story told in examples/contoso/README.md. Run it after changing the story:

    python3 examples/contoso/generate.py

then refresh the snapshot (`LZAUDIT_UPDATE_EXAMPLE=1 cargo test --test it example_tenant`).
Only the standard library is used.
"""

import copy
import json
import pathlib
import zlib

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLES = HERE.parent.parent / "tests" / "fixtures" / "arm-examples"

TENANT = "8f3c2a61-4b7e-4d0a-9c1e-2f5b6a7c8d90"
S_CORP_PROD = "11111111-1111-4111-8111-111111111111"
S_CORP_DEV = "22222222-2222-4222-8222-222222222222"
S_ONLINE_WEB = "33333333-3333-4333-8333-333333333333"
S_ONLINE_API = "44444444-4444-4444-8444-444444444444"
S_MANAGEMENT = "55555555-5555-4555-8555-555555555555"
S_LEGACY = "66666666-6666-4666-8666-666666666666"

# Kubelet identities (object IDs) of the five clusters.
K_CORP_PROD = "a1a1a1a1-0000-4000-8000-000000000001"
K_CORP_DEV = "a1a1a1a1-0000-4000-8000-000000000002"
K_WEB = "a1a1a1a1-0000-4000-8000-000000000003"
K_API = "a1a1a1a1-0000-4000-8000-000000000004"
K_BATCH = "a1a1a1a1-0000-4000-8000-000000000005"

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
REPO_READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def example(path, pointer="/responses/200/body"):
    value = json.loads((EXAMPLES / path).read_text())
    for part in pointer.strip("/").split("/"):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return copy.deepcopy(value)


def patch(target, p):
    if not isinstance(p, dict):
        return copy.deepcopy(p)
    if not isinstance(target, dict):
        target = {}
    for k, v in p.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = patch(target.get(k), v)
    return target


def mg_id(name):
    return f"/providers/Microsoft.Management/managementGroups/{name}"


def sub_id(s):
    return f"/subscriptions/{s}"


# ---------------------------------------------------------------- subscriptions
def subscription(guid, name, state="Enabled"):
    return patch(example("resources/GetSubscription.json"), {
        "id": sub_id(guid), "subscriptionId": guid, "tenantId": TENANT, "displayName": name,
        "state": state, "managedByTenants": [], "tags": {"costCenter": "cc-1234"},
    })


SUBSCRIPTIONS = [
    ("contoso-corp", subscription(S_CORP_PROD, "contoso-corp-prod")),
    ("contoso-corp", subscription(S_CORP_DEV, "contoso-corp-dev")),
    ("contoso-online", subscription(S_ONLINE_WEB, "contoso-online-web")),
    ("contoso-online", subscription(S_ONLINE_API, "contoso-online-api")),
    ("contoso-management", subscription(S_MANAGEMENT, "contoso-management")),
    ("contoso-decommissioned", subscription(S_LEGACY, "contoso-legacy-apps", state="Disabled")),
]

# ---------------------------------------------------------------- clusters
BASE_CLUSTER = "containerservice/ManagedClustersGet.json"


def cluster(sub, rg, name, kubelet, properties, extra=None):
    cid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"
    node_rg = f"MC_{rg}_{name}_westeurope"
    body = patch(example(BASE_CLUSTER), {
        "id": cid, "name": name, "location": "westeurope", "eTag": None,
        "tags": {"environment": "prod" if "prod" in name else "nonprod", "archv2": None, "tier": None},
        "identity": {"type": "SystemAssigned", "principalId": kubelet.replace("a1a1a1a1", "b2b2b2b2"),
                     "tenantId": TENANT},
        "properties": {
            "nodeResourceGroup": node_rg,
            "kubernetesVersion": "1.33", "currentKubernetesVersion": "1.33.2",
            "diskEncryptionSetID": None, "upgradeSettings": None,
            "servicePrincipalProfile": {"clientId": "msi"},
            "identityProfile": {"kubeletidentity": {
                "resourceId": f"/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
                "clientId": kubelet.replace("a1a1a1a1", "c3c3c3c3"), "objectId": kubelet}},
            "agentPoolProfiles": [{
                "name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5",
                "type": "VirtualMachineScaleSets", "osType": "Linux", "osSKU": "AzureLinux",
                "orchestratorVersion": "1.33.2", "currentOrchestratorVersion": "1.33.2",
                "nodeImageVersion": "AKSAzureLinux-V3gen2-202510.01.0", "maxPods": 110,
                "availabilityZones": ["1", "2", "3"], "provisioningState": "Succeeded",
                "upgradeSettings": {"maxSurge": "33%"},
                "vnetSubnetID": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/vnet-{name}/subnets/snet-nodes",
            }],
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay",
                               "networkPolicy": "cilium", "networkDataplane": "cilium",
                               "loadBalancerProfile": None},
        },
    })
    body = patch(body, {"properties": properties})
    if extra:
        body = patch(body, extra)
    return body


HARDENED = {
    "enableRBAC": True,
    "disableLocalAccounts": True,
    "aadProfile": {"managed": True, "enableAzureRBAC": True, "tenantID": TENANT,
                   "adminGroupObjectIDs": ["d4d4d4d4-0000-4000-8000-0000000000aa"]},
    "addonProfiles": {
        "azurepolicy": {"enabled": True, "config": {"version": "v2"}},
        "azureKeyvaultSecretsProvider": {"enabled": True,
                                         "config": {"enableSecretRotation": "true", "rotationPollInterval": "2m"}},
    },
    "securityProfile": {
        "defender": {"logAnalyticsWorkspaceResourceId": f"/subscriptions/{S_MANAGEMENT}/resourceGroups/rg-monitor/providers/Microsoft.OperationalInsights/workspaces/law-contoso",
                     "securityMonitoring": {"enabled": True}},
        "workloadIdentity": {"enabled": True},
        "imageCleaner": {"enabled": True, "intervalHours": 48},
        "azureKeyVaultKms": {"enabled": True, "keyVaultNetworkAccess": "Private",
                             "keyId": "https://kv-contoso-prod.vault.azure.net/keys/etcd/0123456789abcdef",
                             "keyVaultResourceId": f"/subscriptions/{S_CORP_PROD}/resourceGroups/rg-aks-prod/providers/Microsoft.KeyVault/vaults/kv-contoso-prod"},
    },
    "oidcIssuerProfile": {"enabled": True, "issuerURL": "https://westeurope.oic.prod-aks.azure.com/tenant/issuer/"},
    "autoUpgradeProfile": {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"},
}

CLUSTERS = [
    # The reference cluster: private, Entra + Azure RBAC, everything on.
    cluster(S_CORP_PROD, "rg-aks-prod", "aks-corp-prod", K_CORP_PROD, patch(copy.deepcopy(HARDENED), {
        "apiServerAccessProfile": {"enablePrivateCluster": True, "privateDNSZone": "system",
                                   "enablePrivateClusterPublicFQDN": False},
        "privateFQDN": "aks-corp-prod-1a2b3c4d.privatelink.westeurope.azmk8s.io", "fqdn": None,
    })),
    # A dev cluster in Corp that was never made private, with local accounts and few add-ons.
    cluster(S_CORP_DEV, "rg-aks-dev", "aks-corp-dev", K_CORP_DEV, {
        "enableRBAC": True,
        "disableLocalAccounts": False,
        "aadProfile": {"managed": True, "enableAzureRBAC": False, "tenantID": TENANT, "adminGroupObjectIDs": None},
        "apiServerAccessProfile": {"authorizedIPRanges": ["198.51.100.0/24"]},
        "addonProfiles": {"azurepolicy": {"enabled": False}},
        "autoUpgradeProfile": {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "Unmanaged"},
    }),
    # An internet-facing cluster deployed from an old template: public API server, no Entra ID,
    # no Kubernetes RBAC at all.
    cluster(S_ONLINE_WEB, "rg-aks-web", "aks-online-web", K_WEB, {
        "enableRBAC": False,
        "addonProfiles": {"azurePolicy": {"enabled": True}, "omsagent": {"enabled": True, "config": {
            "logAnalyticsWorkspaceResourceID": f"/subscriptions/{S_MANAGEMENT}/resourceGroups/rg-monitor/providers/Microsoft.OperationalInsights/workspaces/law-contoso"}}},
        "autoUpgradeProfile": {"upgradeChannel": "none", "nodeOSUpgradeChannel": "None"},
        "securityProfile": {"workloadIdentity": {"enabled": True}},
        "oidcIssuerProfile": {"enabled": False},
    }),
    # The API cluster: public but restricted, hardened, in an AKS-only subscription.
    cluster(S_ONLINE_API, "rg-aks-api", "aks-online-api", K_API, patch(copy.deepcopy(HARDENED), {
        "apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.0/24", "198.51.100.16/28"]},
        "securityProfile": {"azureKeyVaultKms": None},
    })),
    # A batch cluster in the web subscription; its payload spells the type `ManagedClusters`.
    cluster(S_ONLINE_WEB, "rg-aks-batch", "aks-online-batch", K_BATCH, patch(copy.deepcopy(HARDENED), {
        "apiServerAccessProfile": {"authorizedIPRanges": ["0.0.0.0/0"]},
        "securityProfile": {"defender": None, "azureKeyVaultKms": None},
        "autoUpgradeProfile": {"nodeOSUpgradeChannel": "SecurityPatch"},
    }), extra={"type": "Microsoft.ContainerService/ManagedClusters"}),
]

# ---------------------------------------------------------------- registries
def registry(sub, rg, name, properties, sku="Premium"):
    rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}"
    body = patch(example("containerregistry/RegistryGet.json"), {
        "id": rid, "name": name, "location": "westeurope", "tags": {"environment": "prod"},
        "sku": {"name": sku, "tier": sku},
        "properties": {"loginServer": f"{name}.azurecr.io", "creationDate": "2025-03-01T09:00:00.0000000Z",
                       "policies": {"retentionPolicy": {"lastUpdatedTime": "2025-03-01T09:00:00.0000000+00:00"}}},
    })
    return patch(body, {"properties": properties})


def connection(registry_body, name, status, pe_rg):
    rid = registry_body["id"]
    sub = rid.split("/")[2]
    c = example("containerregistry/PrivateEndpointConnectionList.json", "/responses/200/body/value/0")
    return patch(c, {
        "id": f"{rid}/privateEndpointConnections/{name}", "name": name,
        "properties": {
            "privateEndpoint": {"id": f"/subscriptions/{sub}/resourceGroups/{pe_rg}/providers/Microsoft.Network/privateEndpoints/pe-{registry_body['name']}"},
            "privateLinkServiceConnectionState": {"status": status, "description": status,
                                                  "actionsRequired": "None"},
        },
    })


ACR_CORP = registry(S_CORP_PROD, "rg-acr-prod", "acrcontosocorpprod", {
    "publicNetworkAccess": "Disabled", "networkRuleSet": {"defaultAction": "Deny"},
    "networkRuleBypassOptions": "AzureServices", "adminUserEnabled": False, "anonymousPullEnabled": False,
    "policies": {"exportPolicy": {"status": "disabled"}, "azureADAuthenticationAsArmPolicy": {"status": "disabled"},
                 "retentionPolicy": {"days": 7, "status": "enabled"}},
})
ACR_WEB = registry(S_ONLINE_WEB, "rg-acr-web", "acrcontosoweb", {
    "adminUserEnabled": True,
}, sku="Standard")
ACR_API = registry(S_ONLINE_API, "rg-acr-api", "acrcontosoapi", {
    "publicNetworkAccess": "Enabled", "networkRuleSet": {"defaultAction": "Deny",
                                                         "ipRules": [{"action": "Allow", "value": "203.0.113.0/24"}]},
    "roleAssignmentMode": "AbacRepositoryPermissions",
    "policies": {"exportPolicy": {"status": "disabled"}, "azureADAuthenticationAsArmPolicy": {"status": "disabled"}},
})
CONN_CORP = connection(ACR_CORP, "pe-acrcontosocorpprod.1f2e3d", "Approved", "rg-network")
CONN_API = connection(ACR_API, "pe-acrcontosoapi.4c5b6a", "Pending", "rg-network")
ACR_CORP["properties"]["privateEndpointConnections"] = [CONN_CORP]
ACR_API["properties"]["privateEndpointConnections"] = [CONN_API]
REGISTRIES = [ACR_CORP, ACR_WEB, ACR_API]

TOKENS = [{
    "id": f"{ACR_API['id']}/tokens/ci-pull",
    "name": "ci-pull", "type": "Microsoft.ContainerRegistry/registries/tokens",
    "properties": {"creationDate": "2025-05-01T10:00:00Z", "provisioningState": "Succeeded",
                   "scopeMapId": f"{ACR_API['id']}/scopeMaps/_repositories_pull", "status": "enabled"},
}]

# ---------------------------------------------------------------- role assignments
def role(scope, role_guid, principal, ptype="ServicePrincipal", n=0):
    sub = scope.split("/")[2] if scope.startswith("/subscriptions/") else S_CORP_PROD
    base = example("authorization/RoleAssignments_ListForScope.json", "/responses/200/body/value/0")
    name = f"e5e5e5e5-0000-4000-8000-{n:012d}"
    return patch(base, {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", "name": name,
        "properties": {"roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
                       "principalId": principal, "principalType": ptype, "scope": scope},
    })


ROLE_ASSIGNMENTS = [
    role(ACR_CORP["id"], ACR_PULL, K_CORP_PROD, n=1),
    role(ACR_CORP["id"], ACR_PULL, K_CORP_DEV, n=2),            # corp-dev pulls across subscriptions
    role(ACR_WEB["id"], ACR_PULL, K_WEB, n=3),
    role(f"/subscriptions/{S_ONLINE_WEB}/resourceGroups/rg-acr-web", ACR_PUSH, K_WEB, n=4),  # over-privileged
    role(ACR_API["id"], REPO_READER, K_API, n=5),
    role(ACR_WEB["id"], ACR_PULL, K_BATCH, n=8),
    role(ACR_API["id"], ACR_PULL, K_BATCH, n=6),                # AcrPull is not honoured on an ABAC registry
    role(f"/subscriptions/{S_CORP_PROD}/resourceGroups/rg-acr-prod", CONTRIBUTOR,
         "f6f6f6f6-0000-4000-8000-000000000001", ptype="Group", n=7),
]

# ---------------------------------------------------------------- machines and pricings
def vmss(sub, cluster_body, pool="system"):
    node_rg = cluster_body["properties"]["nodeResourceGroup"]
    name = f"aks-{pool}-12345678-vmss"
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}",
        "name": name, "type": "Microsoft.Compute/virtualMachineScaleSets", "location": "westeurope",
        "tags": {"aks-managed-poolName": pool, "aks-managed-orchestrator": "Kubernetes:1.33.2",
                 "aks-managed-createOperationID": "00000000-0000-0000-0000-000000000000"},
        "sku": {"name": "Standard_D4ds_v5", "tier": "Standard", "capacity": 3},
        "properties": {"provisioningState": "Succeeded", "orchestrationMode": "Uniform"},
    }


def vm(sub, rg, name):
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}",
        "name": name, "type": "Microsoft.Compute/virtualMachines", "location": "westeurope",
        "tags": {"role": "jumpbox"},
        "properties": {"provisioningState": "Succeeded", "hardwareProfile": {"vmSize": "Standard_B2s"}},
    }


MACHINES = [vmss(S_CORP_PROD, CLUSTERS[0]), vmss(S_CORP_DEV, CLUSTERS[1]), vmss(S_ONLINE_WEB, CLUSTERS[2]),
            vmss(S_ONLINE_API, CLUSTERS[3]), vmss(S_ONLINE_WEB, CLUSTERS[4]),
            vm(S_MANAGEMENT, "rg-jumpbox", "vm-jumpbox-01")]


def pricings(sub, plans):
    """`plans`: name -> (tier, extra properties)."""
    out = []
    for item in example("security/ListPricings_example.json")["value"]:
        name = item["name"]
        body = patch(item, {"id": f"/subscriptions/{sub}/providers/Microsoft.Security/pricings/{name}"})
        if name in plans:
            tier, extra = plans[name]
            body = patch(body, {"properties": patch({"pricingTier": tier}, extra)})
            if tier == "Free":
                for k in ("subPlan", "enablementTime", "extensions"):
                    body["properties"].pop(k, None)
        out.append(body)
    return out


def containers(sensor, registry_va):
    flag = lambda on: "True" if on else "False"
    return {"extensions": [
        {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": flag(registry_va)},
        {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": "True"},
        {"name": "AgentlessVmScanning", "isEnabled": "True"},
        {"name": "ContainerSensor", "isEnabled": flag(sensor),
         "additionalExtensionProperties": {"SecurityGatingEnabled": "False"}},
    ]}


PRICINGS = (
    pricings(S_CORP_PROD, {"Containers": ("Standard", containers(True, True)), "VirtualMachines": ("Free", {})})
    + pricings(S_CORP_DEV, {"Containers": ("Standard", containers(True, True)), "VirtualMachines": ("Free", {})})
    + pricings(S_ONLINE_WEB, {"Containers": ("Free", {}), "VirtualMachines": ("Standard", {"subPlan": "P2"})})
    + pricings(S_ONLINE_API, {"Containers": ("Standard", containers(False, True)), "VirtualMachines": ("Free", {})})
    + pricings(S_MANAGEMENT, {"Containers": ("Free", {}), "VirtualMachines": ("Standard", {"subPlan": "P2"})})
)


def resource_pricing(machine, tier, inherited):
    body = example("security/GetResourcePricingByNameVirtualMachines_example.json")
    sub = machine["id"].split("/")[2]
    body = patch(body, {"id": f"{machine['id']}/providers/Microsoft.Security/pricings/VirtualMachines",
                        "properties": {"pricingTier": tier, "inherited": "True" if inherited else "False",
                                       "inheritedFrom": sub_id(sub) if inherited else None}})
    if tier == "Free":
        body["properties"].pop("subPlan", None)
        body["properties"].pop("enablementTime", None)
    return body


RESOURCE_PRICINGS = [
    resource_pricing(MACHINES[0], "Free", True),
    resource_pricing(MACHINES[1], "Free", True),
    resource_pricing(MACHINES[2], "Standard", True),
    resource_pricing(MACHINES[3], "Free", True),
    resource_pricing(MACHINES[4], "Standard", True),
]

# ---------------------------------------------------------------- policy
def definition(guid, display, mode, effect_default, allowed):
    return {
        "id": f"/providers/Microsoft.Authorization/policyDefinitions/{guid}", "name": guid,
        "type": "Microsoft.Authorization/policyDefinitions",
        "properties": {"displayName": display, "policyType": "BuiltIn", "mode": mode,
                       "metadata": {"version": "1.0.0", "category": "Kubernetes"},
                       "parameters": {"effect": {"type": "String", "defaultValue": effect_default,
                                                 "allowedValues": allowed}},
                       "policyRule": {"if": {"field": "type", "equals": "Microsoft.ContainerService/managedClusters"},
                                      "then": {"effect": "[parameters('effect')]"}}},
    }


K8S = "Microsoft.Kubernetes.Data"
DEFINITIONS = [
    definition("95edb821-ddaf-4404-9732-666045e056b4", "Kubernetes cluster should not allow privileged containers", K8S, "Audit", ["Audit", "Deny", "Disabled"]),
    definition("1c6e92c9-99f0-4e55-9cf2-0c234dc48f99", "Kubernetes clusters should not allow container privilege escalation", K8S, "Audit", ["Audit", "Deny", "Disabled"]),
    definition("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d", "Kubernetes clusters should be accessible only over HTTPS", K8S, "Audit", ["Audit", "Deny", "Disabled"]),
    definition("040732e8-d947-40b8-95d6-854c95024bf8", "Azure Kubernetes Service Private Clusters should be enabled", "Indexed", "Audit", ["Audit", "Deny", "Disabled"]),
    definition("0fdf0491-d080-4575-b627-ad0e843cba0f", "Public network access should be disabled for Container registries", "Indexed", "Audit", ["Audit", "Deny", "Disabled"]),
    definition("a8eff44f-8c92-45c3-a3fb-9880802d67a7", "Deploy Azure Policy Add-on to Azure Kubernetes Service clusters", "Indexed", "DeployIfNotExists", ["DeployIfNotExists", "Disabled"]),
    definition("5eb6d64a-4086-4d7a-92da-ec51aed0332d", "Configure Microsoft Defender for Servers plan", "All", "DeployIfNotExists", ["DeployIfNotExists", "Disabled"]),
    definition("c9ddb292-b203-4738-aead-18e2716e858f", "Configure Microsoft Defender for Containers to be enabled", "All", "DeployIfNotExists", ["DeployIfNotExists", "Disabled"]),
    definition("64def556-fbad-4622-930e-72d1d5589bf5", "Configure Azure Kubernetes Service clusters to enable Defender profile", "Indexed", "DeployIfNotExists", ["DeployIfNotExists", "Disabled"]),
]


def set_definition(name, display, version, parameters, members):
    return {
        "id": f"{mg_id('contoso')}/providers/Microsoft.Authorization/policySetDefinitions/{name}", "name": name,
        "type": "Microsoft.Authorization/policySetDefinitions",
        "properties": {"displayName": display, "policyType": "Custom", "metadata": {"version": version, "source": "https://github.com/Azure/Azure-Landing-Zones-Library"},
                       "parameters": parameters,
                       "policyDefinitions": [
                           {"policyDefinitionReferenceId": ref,
                            "policyDefinitionId": f"/providers/Microsoft.Authorization/policyDefinitions/{guid}",
                            "parameters": {"effect": {"value": f"[parameters('{param}')]"}}}
                           for ref, guid, param in members]},
    }


SETS = [
    set_definition("Deploy-MDFC-Config_20240319", "Deploy Microsoft Defender for Cloud configuration", "2.4.1", {
        "enableAscForServers": {"type": "String", "defaultValue": "DeployIfNotExists", "allowedValues": ["DeployIfNotExists", "Disabled"]},
        "enableAscForContainers": {"type": "String", "defaultValue": "DeployIfNotExists", "allowedValues": ["DeployIfNotExists", "Disabled"]},
    }, [
        ("defenderForVM", "5eb6d64a-4086-4d7a-92da-ec51aed0332d", "enableAscForServers"),
        ("defenderforContainers", "c9ddb292-b203-4738-aead-18e2716e858f", "enableAscForContainers"),
        ("defenderforKubernetes", "64def556-fbad-4622-930e-72d1d5589bf5", "enableAscForContainers"),
        ("azurePolicyForKubernetes", "a8eff44f-8c92-45c3-a3fb-9880802d67a7", "enableAscForContainers"),
    ]),
    set_definition("Deny-PublicPaaSEndpoints", "Public network access should be disabled for PaaS services", "5.2.0", {
        "AKSPublicIpDenyEffect": {"type": "String", "defaultValue": "Deny", "allowedValues": ["Audit", "Deny", "Disabled"]},
        "ACRPublicIpDenyEffect": {"type": "String", "defaultValue": "Deny", "allowedValues": ["Audit", "Deny", "Disabled"]},
    }, [
        ("AKSDenyPaasPublicIP", "040732e8-d947-40b8-95d6-854c95024bf8", "AKSPublicIpDenyEffect"),
        ("ACRDenyPaasPublicIP", "0fdf0491-d080-4575-b627-ad0e843cba0f", "ACRPublicIpDenyEffect"),
    ]),
]


def assignment(scope, name, definition_id, parameters, enforcement="Default", not_scopes=(), version=None):
    body = patch(example("policy/getPolicyAssignment.json"), {
        "id": f"{scope}/providers/Microsoft.Authorization/policyAssignments/{name}", "name": name,
        "location": "westeurope",
        "identity": {"type": "SystemAssigned", "principalId": "d7d7d7d7-0000-4000-8000-000000000001", "tenantId": TENANT},
        "properties": {"displayName": name, "description": f"ALZ assignment {name}",
                       "metadata": {"assignedBy": "ALZ accelerator"},
                       "policyDefinitionId": definition_id, "definitionVersion": version,
                       "parameters": {k: {"value": v} for k, v in parameters.items()},
                       "scope": scope, "notScopes": list(not_scopes), "enforcementMode": enforcement,
                       "instanceId": "e4b0f5a6-7c8d-4e9f-8a1b-" + format(zlib.crc32(name.encode()), "012d")},
    })
    body["properties"]["parameters"] = {k: {"value": v} for k, v in parameters.items()}
    if version is None:
        body["properties"].pop("definitionVersion", None)
    return body


def builtin(guid):
    return f"/providers/Microsoft.Authorization/policyDefinitions/{guid}"


LZ = mg_id("contoso-landingzones")
ASSIGNMENTS = [
    assignment(mg_id("contoso"), "Deploy-MDFC-Config-H224", SETS[0]["id"],
               {"enableAscForServers": "DeployIfNotExists", "enableAscForContainers": "DeployIfNotExists"},
               not_scopes=[sub_id(S_ONLINE_WEB)]),
    assignment(LZ, "Deny-Privileged-AKS", builtin("95edb821-ddaf-4404-9732-666045e056b4"), {"effect": "Deny"}, version="9.*.*"),
    assignment(LZ, "Deny-Priv-Esc-AKS", builtin("1c6e92c9-99f0-4e55-9cf2-0c234dc48f99"), {"effect": "Deny"}, version="7.*.*"),
    assignment(LZ, "Enforce-AKS-HTTPS", builtin("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d"), {"effect": "Deny"}, version="8.*.*",
               not_scopes=[sub_id(S_ONLINE_WEB), sub_id(S_CORP_DEV)]),
    # corp-dev's team re-assigned HTTPS-only themselves, but audit-only.
    assignment(sub_id(S_CORP_DEV), "Enforce-AKS-HTTPS-dev", builtin("1a5b4dca-0b6f-4cf5-907c-56316bc1bf3d"), {"effect": "Deny"},
               enforcement="DoNotEnforce"),
    assignment(mg_id("contoso-corp"), "Deny-Public-Endpoints", SETS[1]["id"], {}),
]

EXEMPTIONS = [patch(example("policy/listPolicyExemptionsForSubscription.json", "/responses/200/body/value/0"), {
    "id": f"{sub_id(S_ONLINE_API)}/providers/Microsoft.Authorization/policyExemptions/dfs-aks-only",
    "name": "dfs-aks-only",
    "properties": {"policyAssignmentId": ASSIGNMENTS[0]["id"], "policyDefinitionReferenceIds": ["defenderForVM"],
                   "exemptionCategory": "Waiver", "expiresOn": "2027-06-30T00:00:00Z",
                   "displayName": "AKS-only subscription: no Defender for Servers",
                   "description": "Only AKS node pools run here; nodes are covered by Defender for Containers",
                   "metadata": {"reason": "CAF AKS guidance: disable Defender for Servers in AKS-only subscriptions"}},
})]

MANAGEMENT_GROUPS = [
    {"name": "contoso", "display_name": "Contoso", "parent": TENANT},
    {"name": "contoso-platform", "display_name": "Platform", "parent": "contoso"},
    {"name": "contoso-management", "display_name": "Management", "parent": "contoso-platform"},
    {"name": "contoso-connectivity", "display_name": "Connectivity", "parent": "contoso-platform"},
    {"name": "contoso-landingzones", "display_name": "Landing Zones", "parent": "contoso"},
    {"name": "contoso-corp", "display_name": "Corp", "parent": "contoso-landingzones"},
    {"name": "contoso-online", "display_name": "Online", "parent": "contoso-landingzones"},
    {"name": "contoso-decommissioned", "display_name": "Decommissioned", "parent": "contoso"},
]

# What the auditing identity is not allowed to read: the corp-dev team never granted Security
# Reader, and the API team's registry has role assignments the auditor cannot list.
DENY = [
    {"scope": sub_id(S_CORP_DEV), "api": "Microsoft.Security/pricings"},
    {"scope": ACR_API["id"], "api": "Microsoft.Authorization/roleAssignments"},
]


def main():
    resources = (CLUSTERS + REGISTRIES + [CONN_CORP, CONN_API] + TOKENS + MACHINES + PRICINGS
                 + RESOURCE_PRICINGS + DEFINITIONS + SETS + ASSIGNMENTS + EXEMPTIONS + ROLE_ASSIGNMENTS)
    tenant = {
        "tenant_id": TENANT,
        "management_groups": MANAGEMENT_GROUPS,
        "subscriptions": [{"management_group": mg, "subscription": s} for mg, s in SUBSCRIPTIONS],
        "resources": resources,
        "deny": DENY,
        "clients": [{"client_id": "0a0a0a0a-1111-4222-8333-444444444444", "client_secret": "example-secret-not-real"}],
        "static_tokens": ["example-cli-token"],
    }
    (HERE / "tenant.json").write_text(json.dumps(tenant, indent=1) + "\n")
    print(f"wrote {HERE / 'tenant.json'}: {len(resources)} resources")


if __name__ == "__main__":
    main()
