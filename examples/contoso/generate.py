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

HARDENED_POOLS = lambda sub, rg, name: [
    {"name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5",
     "type": "VirtualMachineScaleSets", "osType": "Linux", "osSKU": "AzureLinux",
     "orchestratorVersion": "1.33.2", "currentOrchestratorVersion": "1.33.2",
     "nodeImageVersion": "AKSAzureLinux-V3gen2-202510.01.0", "maxPods": 110,
     "availabilityZones": ["1", "2", "3"], "provisioningState": "Succeeded",
     "nodeTaints": ["CriticalAddonsOnly=true:NoSchedule"], "enableEncryptionAtHost": True,
     "enableNodePublicIP": False, "securityProfile": {"sshAccess": "Disabled"},
     "vnetSubnetID": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/vnet-{name}/subnets/snet-nodes"},
    {"name": "apps", "mode": "User", "count": 3, "vmSize": "Standard_D8ds_v5",
     "type": "VirtualMachineScaleSets", "osType": "Linux", "osSKU": "AzureLinux",
     "orchestratorVersion": "1.33.2", "currentOrchestratorVersion": "1.33.2",
     "availabilityZones": ["1", "2", "3"], "provisioningState": "Succeeded",
     "enableEncryptionAtHost": True, "enableNodePublicIP": False, "securityProfile": {"sshAccess": "Disabled"},
     "vnetSubnetID": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/vnet-{name}/subnets/snet-nodes"},
]

CLUSTERS = [
    # The reference cluster: private, Entra + Azure RBAC, everything on.
    cluster(S_CORP_PROD, "rg-aks-prod", "aks-corp-prod", K_CORP_PROD, patch(copy.deepcopy(HARDENED), {
        "apiServerAccessProfile": {"enablePrivateCluster": True, "privateDNSZone": "system",
                                   "enablePrivateClusterPublicFQDN": False, "disableRunCommand": True},
        "networkProfile": {"outboundType": "userDefinedRouting"},
        "nodeResourceGroupProfile": {"restrictionLevel": "ReadOnly"},
        "securityProfile": {"imageIntegrity": {"enabled": True}},
        "privateFQDN": "aks-corp-prod-1a2b3c4d.privatelink.westeurope.azmk8s.io", "fqdn": None,
    }), extra={"properties": {"agentPoolProfiles": HARDENED_POOLS(S_CORP_PROD, "rg-aks-prod", "aks-corp-prod")}}),
    # A dev cluster in Corp that was never made private, with local accounts and few add-ons.
    cluster(S_CORP_DEV, "rg-aks-dev", "aks-corp-dev", K_CORP_DEV, {
        "enableRBAC": True,
        "disableLocalAccounts": False,
        "aadProfile": {"managed": True, "enableAzureRBAC": False, "tenantID": TENANT, "adminGroupObjectIDs": None},
        "apiServerAccessProfile": {"authorizedIPRanges": ["198.51.100.0/24"]},
        "addonProfiles": {"azurepolicy": {"enabled": False}},
        "autoUpgradeProfile": {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "Unmanaged"},
        "networkProfile": {"outboundType": "userDefinedRouting", "networkPolicy": "none"},
        "podIdentityProfile": {"enabled": True, "allowNetworkPluginKubenet": False},
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
        "kubernetesVersion": "1.29", "currentKubernetesVersion": "1.29.15",
        "servicePrincipalProfile": {"clientId": "5e5e5e5e-0000-4000-8000-0000000000e1"},
    }, extra={"identity": None, "properties": {"identityProfile": None, "agentPoolProfiles": [{
        "name": "system", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5",
        "type": "VirtualMachineScaleSets", "osType": "Linux", "osSKU": "Ubuntu",
        "orchestratorVersion": "1.29.15", "currentOrchestratorVersion": "1.29.15",
        "enableNodePublicIP": True, "enableEncryptionAtHost": False,
        "vnetSubnetID": f"/subscriptions/{S_ONLINE_WEB}/resourceGroups/rg-aks-web/providers/Microsoft.Network/virtualNetworks/vnet-aks-online-web/subnets/snet-nodes",
    }]}}),
    # The API cluster: public but restricted, hardened, in an AKS-only subscription.
    cluster(S_ONLINE_API, "rg-aks-api", "aks-online-api", K_API, patch(copy.deepcopy(HARDENED), {
        "apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.0/24", "198.51.100.16/28"]},
        "securityProfile": {"azureKeyVaultKms": None},
        "networkProfile": {"outboundType": "managedNATGateway"},
        "nodeResourceGroupProfile": {"restrictionLevel": "Unrestricted"},
    }), extra={"properties": {"agentPoolProfiles": HARDENED_POOLS(S_ONLINE_API, "rg-aks-api", "aks-online-api")}}),
    # A batch cluster in the web subscription; its payload spells the type `ManagedClusters`.
    cluster(S_ONLINE_WEB, "rg-aks-batch", "aks-online-batch", K_BATCH, patch(copy.deepcopy(HARDENED), {
        "apiServerAccessProfile": {"authorizedIPRanges": ["0.0.0.0/0"]},
        "securityProfile": {"defender": None, "azureKeyVaultKms": None, "imageCleaner": {"enabled": False}},
        "autoUpgradeProfile": {"upgradeChannel": "node-image", "nodeOSUpgradeChannel": "SecurityPatch"},
    }), extra={"type": "Microsoft.ContainerService/ManagedClusters"}),
]

C = {c["name"]: c for c in CLUSTERS}

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
    "networkRuleBypassOptions": "None",
    "publicNetworkAccess": "Enabled", "networkRuleSet": {"defaultAction": "Deny",
                                                         "ipRules": [{"action": "Allow", "value": "203.0.113.0/24"}]},
    "roleAssignmentMode": "AbacRepositoryPermissions",
    "policies": {"exportPolicy": {"status": "disabled"}, "azureADAuthenticationAsArmPolicy": {"status": "disabled"}},
})
CONN_CORP = connection(ACR_CORP, "pe-acrcontosocorpprod.1f2e3d", "Approved", "rg-network")
CONN_API = connection(ACR_API, "pe-acrcontosoapi.4c5b6a", "Pending", "rg-network")
CONN_API_HUB = connection(ACR_API, "pe-acrcontosoapi-hub.7d8e9f", "Approved", "rg-hub")
CONN_API_HUB["properties"]["privateEndpoint"]["id"] = (
    f"/subscriptions/{S_MANAGEMENT}/resourceGroups/rg-hub/providers/Microsoft.Network/privateEndpoints/pe-acrcontosoapi")
ACR_CORP["properties"]["privateEndpointConnections"] = [CONN_CORP]
ACR_API["properties"]["privateEndpointConnections"] = [CONN_API, CONN_API_HUB]
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
    role(ACR_CORP["id"], ACR_PUSH, "f6f6f6f6-0000-4000-8000-00000000c1c1", n=7),   # the build pipeline
    role(ACR_WEB["id"], ACR_PUSH, "f6f6f6f6-0000-4000-8000-0000000000d1", ptype="User", n=9),  # a developer
]

AKS_CLUSTER_ADMIN = "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8"
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CLUSTER_ROLE_ASSIGNMENTS = [
    role(C["aks-corp-prod"]["id"], AKS_RBAC_CLUSTER_ADMIN, "f6f6f6f6-0000-4000-8000-0000000000a1", ptype="Group", n=20),
    role(f"/subscriptions/{S_CORP_DEV}/resourceGroups/rg-aks-dev", CONTRIBUTOR, "f6f6f6f6-0000-4000-8000-0000000000d2", ptype="User", n=21),
    role(C["aks-online-web"]["id"], AKS_CLUSTER_ADMIN, "f6f6f6f6-0000-4000-8000-00000000c1c2", n=22),
    role(C["aks-online-api"]["id"], AKS_RBAC_CLUSTER_ADMIN, "f6f6f6f6-0000-4000-8000-0000000000a2", ptype="Group", n=23),
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


def containers(sensor, registry_va, gating=False):
    flag = lambda on: "True" if on else "False"
    return {"extensions": [
        {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": flag(registry_va)},
        {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": "True"},
        {"name": "AgentlessVmScanning", "isEnabled": "True"},
        {"name": "ContainerSensor", "isEnabled": flag(sensor),
         "additionalExtensionProperties": {"SecurityGatingEnabled": flag(gating)}},
    ]}


PRICINGS = (
    pricings(S_CORP_PROD, {"Containers": ("Standard", containers(True, True, gating=True)), "VirtualMachines": ("Free", {})})
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
    definition("021f8078-41a0-40e6-81b6-c6597da9f3ee", "Kubernetes cluster container images should not include latest image tag", K8S, "Audit", ["Audit", "Deny", "Disabled"]),
    definition("febd0533-8e55-448f-b837-bd0e06f16469", "Kubernetes cluster containers should only use allowed images", K8S, "Deny", ["Audit", "Deny", "Disabled"]),
    definition("975ce327-682c-4f2e-aa46-b9598289b86c", "Kubernetes cluster containers should only use allowed seccomp profiles", K8S, "Audit", ["Audit", "Deny", "Disabled"]),
    definition("511f5417-5d12-434d-ab2e-816901e72a5e", "Kubernetes cluster containers should only use allowed AppArmor profiles", K8S, "Audit", ["Audit", "Deny", "Disabled"]),
    definition("df49d893-a74c-421d-bc95-c663042e5b80", "Kubernetes cluster containers should run with a read only root file system", K8S, "Audit", ["Audit", "Deny", "Disabled"]),
    definition("f06ddb64-5fa3-4b77-b166-acb36f7f6042", "Kubernetes cluster pods and containers should only run with approved user and group IDs", K8S, "Audit", ["Audit", "Deny", "Disabled"]),
    definition("cf426bb8-b320-4321-8545-1b784a5df3a4", "[Preview]: [Image Integrity] Kubernetes clusters should only use images signed by notation", K8S, "Audit", ["Audit", "Disabled"]),
]
# Parameters the built-in definitions declare besides `effect` (azure-policy built-in files, trimmed).
DEFINITION_PARAMETERS = {
    "febd0533-8e55-448f-b837-bd0e06f16469": {"allowedContainerImagesRegex": {"type": "String"}},
    "975ce327-682c-4f2e-aa46-b9598289b86c": {"allowedProfiles": {"type": "Array", "defaultValue": []}},
    "511f5417-5d12-434d-ab2e-816901e72a5e": {"allowedProfiles": {"type": "Array", "defaultValue": ["runtime/default"]}},
    "f06ddb64-5fa3-4b77-b166-acb36f7f6042": {"runAsUserRule": {"type": "String", "defaultValue": "MustRunAsNonRoot"},
                                             "runAsUserRanges": {"type": "Object", "defaultValue": {"ranges": []}}},
}
for d in DEFINITIONS:
    d["properties"]["parameters"].update(DEFINITION_PARAMETERS.get(d["name"], {}))


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


def builtin_set(guid, display, version, members):
    """A built-in initiative: members pass `[parameters('effect')]` and their own literals."""
    return {
        "id": f"/providers/Microsoft.Authorization/policySetDefinitions/{guid}", "name": guid,
        "type": "Microsoft.Authorization/policySetDefinitions",
        "properties": {"displayName": display, "policyType": "BuiltIn",
                       "metadata": {"version": version, "category": "Kubernetes"},
                       "parameters": {"effect": {"type": "String", "defaultValue": "Audit",
                                                 "allowedValues": ["audit", "Audit", "deny", "Deny", "disabled", "Disabled"]},
                                      "excludedNamespaces": {"type": "Array", "defaultValue": [
                                          "kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system"]}},
                       "policyDefinitions": [
                           {"policyDefinitionId": f"/providers/Microsoft.Authorization/policyDefinitions/{member}",
                            "policyDefinitionReferenceId": ref,
                            "parameters": patch({"effect": {"value": "[parameters('effect')]"},
                                                 "excludedNamespaces": {"value": "[parameters('excludedNamespaces')]"}}, literals)}
                           for ref, member, literals in members]},
    }


PSS_RESTRICTED = builtin_set("42b8ef37-b724-4e24-bbc8-7a7708edfe00", "Kubernetes cluster pod security restricted standards for Linux-based workloads", "2.5.0", [
    ("NoPrivilegedContainers", "95edb821-ddaf-4404-9732-666045e056b4", {}),
    ("NoPrivilegeEscalation", "1c6e92c9-99f0-4e55-9cf2-0c234dc48f99", {}),
    ("AllowedUsersGroups", "f06ddb64-5fa3-4b77-b166-acb36f7f6042",
     {"runAsUserRule": {"value": "MustRunAsNonRoot"}, "runAsUserRanges": {"value": {"ranges": []}}}),
    ("AllowedSeccompProfiles", "975ce327-682c-4f2e-aa46-b9598289b86c",
     {"allowedProfiles": {"value": ["runtime/default", "docker/default"]}}),
])
PSS_BASELINE = builtin_set("a8640138-9b0a-4a28-b8cb-1666c838647d", "Kubernetes cluster pod security baseline standards for Linux-based workloads", "1.4.0", [
    ("NoPrivilegedContainers", "95edb821-ddaf-4404-9732-666045e056b4", {}),
])
SAFEGUARDS = builtin_set("c047ea8e-9c78-49b2-958b-37e56d291a44", "Deployment safeguards should help guide developers towards AKS recommended best practices", "3.0.0", [
    ("NoLatestImageTag", "021f8078-41a0-40e6-81b6-c6597da9f3ee", {}),
])
SETS += [PSS_RESTRICTED, PSS_BASELINE, SAFEGUARDS]


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
    # Corp: the restricted pod security standard, enforced, plus what it lacks.
    assignment(mg_id("contoso-corp"), "Deny-Pod-Restricted", PSS_RESTRICTED["id"], {"effect": "Deny"}),
    assignment(mg_id("contoso-corp"), "Deny-Latest-Tag", builtin("021f8078-41a0-40e6-81b6-c6597da9f3ee"), {"effect": "Deny"}),
    assignment(mg_id("contoso-corp"), "Enforce-Image-Source", builtin("febd0533-8e55-448f-b837-bd0e06f16469"),
               {"effect": "Deny", "allowedContainerImagesRegex": r"^(acrcontosocorpprod\.azurecr\.io|mcr\.microsoft\.com)/.+$"}),
    assignment(sub_id(S_CORP_PROD), "Deny-AppArmor-Unconfined", builtin("511f5417-5d12-434d-ab2e-816901e72a5e"), {"effect": "Deny"}),
    assignment(sub_id(S_CORP_PROD), "Deny-Writable-RootFS", builtin("df49d893-a74c-421d-bc95-c663042e5b80"), {"effect": "Deny"}),
    assignment(sub_id(S_CORP_PROD), "Audit-Image-Signatures", builtin("cf426bb8-b320-4321-8545-1b784a5df3a4"), {"effect": "Audit"}),
    # Online: the baseline standard in audit mode, not for the web subscription.
    assignment(mg_id("contoso-online"), "Audit-Pod-Baseline", PSS_BASELINE["id"], {"effect": "Audit"},
               not_scopes=[sub_id(S_ONLINE_WEB)]),
    assignment(sub_id(S_ONLINE_API), "AKS-Deployment-Safeguards", SAFEGUARDS["id"], {"effect": "Audit"}),
    assignment(sub_id(S_ONLINE_API), "Enforce-Image-Source-Api", builtin("febd0533-8e55-448f-b837-bd0e06f16469"),
               {"effect": "Deny", "allowedContainerImagesRegex": r"^(acrcontosoapi\.azurecr\.io|docker\.io)/.+$"}),
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

# ---------------------------------------------------------------- network
def rid(sub, rg, provider_path):
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider_path}"


def vnet(sub, rg, name, prefix, subnets, dns_servers=(), peerings=()):
    vid = rid(sub, rg, f"Microsoft.Network/virtualNetworks/{name}")
    return {
        "id": vid, "name": name, "type": "Microsoft.Network/virtualNetworks", "location": "westeurope",
        "etag": 'W/"00000000-0000-0000-0000-000000000000"',
        "properties": {
            "provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": [prefix]},
            "dhcpOptions": {"dnsServers": list(dns_servers)},
            "subnets": [{"name": sn, "id": f"{vid}/subnets/{sn}", "type": "Microsoft.Network/virtualNetworks/subnets",
                         "properties": patch({"provisioningState": "Succeeded", "addressPrefix": ap}, extra)}
                        for sn, ap, extra in subnets],
            "virtualNetworkPeerings": [
                {"name": pn, "id": f"{vid}/virtualNetworkPeerings/{pn}",
                 "properties": {"provisioningState": "Succeeded", "peeringState": "Connected",
                                "remoteVirtualNetwork": {"id": remote}, "allowVirtualNetworkAccess": True,
                                "allowForwardedTraffic": True, "useRemoteGateways": False}}
                for pn, remote in peerings],
        },
    }


def route_table(sub, rg, name, routes):
    tid = rid(sub, rg, f"Microsoft.Network/routeTables/{name}")
    return {
        "id": tid, "name": name, "type": "Microsoft.Network/routeTables", "location": "westeurope",
        "properties": {"provisioningState": "Succeeded", "disableBgpRoutePropagation": True,
                       "routes": [{"name": rn, "id": f"{tid}/routes/{rn}",
                                   "properties": patch({"provisioningState": "Succeeded", "addressPrefix": prefix,
                                                        "nextHopType": hop}, {"nextHopIpAddress": ip} if ip else {})}
                                  for rn, prefix, hop, ip in routes]},
    }


def nsg(sub, rg, name, rules):
    nid = rid(sub, rg, f"Microsoft.Network/networkSecurityGroups/{name}")
    return {
        "id": nid, "name": name, "type": "Microsoft.Network/networkSecurityGroups", "location": "westeurope",
        "properties": {"provisioningState": "Succeeded",
                       "securityRules": [{"name": rn, "id": f"{nid}/securityRules/{rn}",
                                          "properties": {"provisioningState": "Succeeded", "protocol": "Tcp",
                                                         "sourcePortRange": "*", "destinationAddressPrefix": "*",
                                                         "access": access, "priority": prio, "direction": "Inbound",
                                                         "destinationPortRange": port, "sourceAddressPrefix": source}}
                                         for rn, prio, access, port, source in rules]},
    }


HUB_VNET = rid(S_MANAGEMENT, "rg-hub", "Microsoft.Network/virtualNetworks/vnet-hub")
FIREWALL_IP = "10.0.1.4"
RT_CORP_PROD = route_table(S_CORP_PROD, "rg-aks-prod", "rt-aks-corp-prod", [
    ("default-to-firewall", "0.0.0.0/0", "VirtualAppliance", FIREWALL_IP)])
RT_CORP_DEV = route_table(S_CORP_DEV, "rg-aks-dev", "rt-aks-corp-dev", [
    ("onprem", "10.0.0.0/8", "VirtualNetworkGateway", None)])
NSG_CORP_PROD = nsg(S_CORP_PROD, "rg-aks-prod", "nsg-aks-corp-prod", [
    ("allow-https-from-hub", 200, "Allow", "443", "10.0.0.0/16")])
NSG_CORP_DEV = nsg(S_CORP_DEV, "rg-aks-dev", "nsg-aks-corp-dev", [
    ("allow-ssh-anywhere", 300, "Allow", "22", "Internet")])
NSG_ONLINE_API = nsg(S_ONLINE_API, "rg-aks-api", "nsg-aks-online-api", [
    ("allow-https-in", 200, "Allow", "443", "Internet")])


def node_vnet(sub, rg, cluster_name, prefix, route=None, nsg_body=None, extra_subnets=(), **kw):
    extra = {}
    if route:
        extra["routeTable"] = {"id": route["id"]}
    if nsg_body:
        extra["networkSecurityGroup"] = {"id": nsg_body["id"]}
    return vnet(sub, rg, f"vnet-{cluster_name}", prefix,
                [("snet-nodes", prefix.replace("/16", "/20"), extra)] + list(extra_subnets), **kw)


VNETS = [
    vnet(S_MANAGEMENT, "rg-hub", "vnet-hub", "10.0.0.0/16",
         [("AzureFirewallSubnet", "10.0.1.0/26", {}), ("snet-shared-pe", "10.0.2.0/24", {"privateEndpointNetworkPolicies": "Disabled"})],
         peerings=[("to-aks-corp-prod", rid(S_CORP_PROD, "rg-aks-prod", "Microsoft.Network/virtualNetworks/vnet-aks-corp-prod")),
                   ("to-aks-corp-dev", rid(S_CORP_DEV, "rg-aks-dev", "Microsoft.Network/virtualNetworks/vnet-aks-corp-dev"))]),
    node_vnet(S_CORP_PROD, "rg-aks-prod", "aks-corp-prod", "10.10.0.0/16", RT_CORP_PROD, NSG_CORP_PROD,
              extra_subnets=[("snet-pe", "10.10.32.0/24", {"privateEndpointNetworkPolicies": "Disabled"})],
              peerings=[("to-hub", HUB_VNET)]),
    node_vnet(S_CORP_DEV, "rg-aks-dev", "aks-corp-dev", "10.11.0.0/16", RT_CORP_DEV, NSG_CORP_DEV,
              peerings=[("to-hub", HUB_VNET)]),
    node_vnet(S_ONLINE_WEB, "rg-aks-web", "aks-online-web", "10.20.0.0/16"),
    node_vnet(S_ONLINE_WEB, "rg-aks-batch", "aks-online-batch", "10.21.0.0/16"),
    node_vnet(S_ONLINE_API, "rg-aks-api", "aks-online-api", "10.30.0.0/16", None, NSG_ONLINE_API,
              dns_servers=["10.0.1.68"]),
]

ZONE_ID = rid(S_CORP_PROD, "rg-dns", "Microsoft.Network/privateDnsZones/privatelink.azurecr.io")
PRIVATE_DNS_ZONES = [{
    "id": ZONE_ID, "name": "privatelink.azurecr.io", "type": "Microsoft.Network/privateDnsZones",
    "location": "global", "etag": "00000000-0000-0000-0000-000000000000",
    "properties": {"maxNumberOfRecordSets": 25000, "numberOfRecordSets": 3, "maxNumberOfVirtualNetworkLinks": 1000,
                   "numberOfVirtualNetworkLinks": 1, "maxNumberOfVirtualNetworkLinksWithRegistration": 100,
                   "numberOfVirtualNetworkLinksWithRegistration": 0, "provisioningState": "Succeeded"},
}]
ZONE_LINKS = [{
    "id": f"{ZONE_ID}/virtualNetworkLinks/link-{name}", "name": f"link-{name}",
    "type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "location": "global",
    "etag": "00000000-0000-0000-0000-000000000000",
    "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": False,
                   "virtualNetworkLinkState": "Completed", "provisioningState": "Succeeded"},
} for name, vnet_id in [("aks-corp-prod", VNETS[1]["id"]), ("hub", HUB_VNET)]]
PE_CORP_ID = CONN_CORP["properties"]["privateEndpoint"]["id"]
PE_CORP = patch(example("network/PrivateEndpointGet.json"), {
    "id": PE_CORP_ID, "name": PE_CORP_ID.rsplit("/", 1)[1], "location": "westeurope",
    "properties": {
        "subnet": {"id": f"{VNETS[1]['id']}/subnets/snet-pe"},
        "privateLinkServiceConnections": [{
            "id": f"{PE_CORP_ID}/privateLinkServiceConnections/{CONN_CORP['name']}",
            "properties": {"privateLinkServiceId": ACR_CORP["id"], "groupIds": ["registry"],
                           "requestMessage": None,
                           "privateLinkServiceConnectionState": {"status": "Approved", "description": "Auto-Approved",
                                                                 "actionsRequired": "None"}}}],
        "networkInterfaces": [{"id": rid(S_CORP_PROD, "rg-network", "Microsoft.Network/networkInterfaces/pe-acrcontosocorpprod.nic")}],
        "customDnsConfigs": [{"fqdn": "acrcontosocorpprod.azurecr.io", "ipAddresses": ["10.10.32.4"]}],
        "ipConfigurations": [],
    },
})
PE_CORP_ZONE_GROUP = patch(example("network/PrivateEndpointDnsZoneGroupGet.json"), {
    "id": f"{PE_CORP_ID}/privateDnsZoneGroups/default", "name": "default",
    "type": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    "properties": {"privateDnsZoneConfigs": [{
        "name": "privatelink-azurecr-io",
        "properties": {"privateDnsZoneId": ZONE_ID, "recordSets": [
            {"recordType": "A", "recordSetName": "acrcontosocorpprod", "fqdn": "acrcontosocorpprod.privatelink.azurecr.io",
             "ttl": 10, "ipAddresses": ["10.10.32.4"]},
            {"recordType": "A", "recordSetName": "acrcontosocorpprod.westeurope.data",
             "fqdn": "acrcontosocorpprod.westeurope.data.privatelink.azurecr.io", "ttl": 10, "ipAddresses": ["10.10.32.5"]}]}}]},
})
def private_endpoint(pe_id, subnet_id, registry_body, connection_body, ip):
    pe = patch(example("network/PrivateEndpointGet.json"), {
        "id": pe_id, "name": pe_id.rsplit("/", 1)[1], "location": "westeurope",
        "properties": {
            "subnet": {"id": subnet_id},
            "privateLinkServiceConnections": [{
                "id": f"{pe_id}/privateLinkServiceConnections/{connection_body['name']}",
                "properties": {"privateLinkServiceId": registry_body["id"], "groupIds": ["registry"],
                               "requestMessage": None,
                               "privateLinkServiceConnectionState": {"status": "Approved", "description": "Auto-Approved",
                                                                     "actionsRequired": "None"}}}],
            "networkInterfaces": [{"id": f"{pe_id.rsplit('/providers/', 1)[0]}/providers/Microsoft.Network/networkInterfaces/{pe_id.rsplit('/', 1)[1]}.nic"}],
            "customDnsConfigs": [{"fqdn": f"{registry_body['name']}.azurecr.io", "ipAddresses": [ip]}],
            "ipConfigurations": [],
        },
    })
    name = registry_body["name"]
    group = patch(example("network/PrivateEndpointDnsZoneGroupGet.json"), {
        "id": f"{pe_id}/privateDnsZoneGroups/default", "name": "default",
        "type": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        "properties": {"privateDnsZoneConfigs": [{
            "name": "privatelink-azurecr-io",
            "properties": {"privateDnsZoneId": ZONE_ID, "recordSets": [
                {"recordType": "A", "recordSetName": name, "fqdn": f"{name}.privatelink.azurecr.io", "ttl": 10, "ipAddresses": [ip]}]}}]},
    })
    return [pe, group]


API_PE = private_endpoint(CONN_API_HUB["properties"]["privateEndpoint"]["id"], f"{HUB_VNET}/subnets/snet-shared-pe",
                          ACR_API, CONN_API_HUB, "10.0.2.4")
NETWORK = VNETS + API_PE + [RT_CORP_PROD, RT_CORP_DEV, NSG_CORP_PROD, NSG_CORP_DEV, NSG_ONLINE_API] \
    + PRIVATE_DNS_ZONES + ZONE_LINKS + [PE_CORP, PE_CORP_ZONE_GROUP]

# ---------------------------------------------------------------- monitoring, Defender assessments
LAW = f"/subscriptions/{S_MANAGEMENT}/resourceGroups/rg-monitor/providers/Microsoft.OperationalInsights/workspaces/law-contoso"


def diagnostic(resource_id, name, logs):
    return {
        "id": f"{resource_id}/providers/microsoft.insights/diagnosticSettings/{name}",
        "type": "Microsoft.Insights/diagnosticSettings", "name": name,
        "properties": {"workspaceId": LAW, "logAnalyticsDestinationType": "Dedicated",
                       "metrics": [{"category": "AllMetrics", "enabled": True,
                                    "retentionPolicy": {"enabled": False, "days": 0}}],
                       "logs": [patch({"enabled": True, "retentionPolicy": {"enabled": False, "days": 0}},
                                      {("categoryGroup" if group else "category"): value})
                                for value, group in logs]},
    }


DIAGNOSTICS = [
    diagnostic(C["aks-corp-prod"]["id"], "aks-audit", [("kube-audit-admin", False), ("guard", False)]),
    diagnostic(C["aks-online-api"]["id"], "aks-audit", [("kube-audit", False)]),
    diagnostic(ACR_CORP["id"], "acr-audit", [("allLogs", True)]),
    diagnostic(ACR_API["id"], "acr-logins", [("ContainerRegistryLoginEvents", False)]),
]

RUNNING_IMAGES_VA = "c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5"
REGISTRY_IMAGES_VA = "c0b7cfc6-3172-465a-b378-53c7ff2cc0d5"


# Severity per assessment key, as the tenant-level metadata list gives it (see METADATA).
SEVERITIES = {}


def assessment(resource_id, key, display, code, severity, description=None):
    """An item of `GET {resource}/providers/Microsoft.Security/assessments`: like the official
    ListAssessments_example.json it carries no `metadata`; its severity is its type's, listed in
    the tenant's assessment metadata (METADATA)."""
    assert SEVERITIES.setdefault(key, (display, severity)) == (display, severity), key
    return {
        "id": f"{resource_id}/providers/Microsoft.Security/assessments/{key}", "name": key,
        "type": "Microsoft.Security/assessments",
        "properties": {
            "resourceDetails": {"Source": "Azure", "Id": resource_id},
            "displayName": display,
            "status": patch({"code": code}, {"description": description} if description else {}),
        },
    }


ASSESSMENTS = [
    assessment(C["aks-corp-prod"]["id"], RUNNING_IMAGES_VA, "Azure running container images should have vulnerabilities resolved (powered by Microsoft Defender Vulnerability Management)", "Healthy", "High"),
    assessment(C["aks-corp-prod"]["id"], "1a2b3c4d-0006-4000-8000-000000000001", "Azure Kubernetes Service clusters should have Defender profile enabled", "Healthy", "High"),
    assessment(C["aks-corp-dev"]["id"], "1a2b3c4d-0006-4000-8000-000000000002", "Kubernetes clusters should be accessible only over HTTPS", "Unhealthy", "High"),
    assessment(C["aks-online-api"]["id"], "1a2b3c4d-0006-4000-8000-000000000003", "Authorized IP ranges should be defined on Kubernetes Services", "Unhealthy", "Medium"),
    assessment(C["aks-online-api"]["id"], RUNNING_IMAGES_VA, "Azure running container images should have vulnerabilities resolved (powered by Microsoft Defender Vulnerability Management)", "Unhealthy", "High", "4 images with critical or high vulnerabilities"),
    assessment(C["aks-online-batch"]["id"], "1a2b3c4d-0006-4000-8000-000000000004", "Kubernetes clusters should disable automounting API credentials", "Healthy", "High"),
    assessment(ACR_CORP["id"], REGISTRY_IMAGES_VA, "Azure registry container images should have vulnerabilities resolved (powered by Microsoft Defender Vulnerability Management)", "Healthy", "High"),
    assessment(ACR_API["id"], REGISTRY_IMAGES_VA, "Azure registry container images should have vulnerabilities resolved (powered by Microsoft Defender Vulnerability Management)", "Unhealthy", "High", "12 images with vulnerabilities"),
]


def assessment_metadata(key, display, severity):
    """An item of `GET /providers/Microsoft.Security/assessmentMetadata` (2021-06-01), in the
    exact shape of the official ListAssessmentsMetadata_example.json (its BuiltIn item)."""
    return {
        "id": f"/providers/Microsoft.Security/assessmentMetadata/{key}", "name": key,
        "type": "Microsoft.Security/assessmentMetadata",
        "properties": {
            "displayName": display,
            "description": display,
            "remediationDescription": "Follow the remediation steps of the recommendation in Microsoft Defender for Cloud.",
            "categories": ["Compute"],
            "severity": severity,
            "userImpact": "Low",
            "implementationEffort": "Low",
            "threats": [],
            "publishDates": {"ga": "06/01/2021", "public": "06/01/2021"},
            "assessmentType": "BuiltIn",
        },
    }


METADATA = [assessment_metadata(key, display, severity) for key, (display, severity) in sorted(SEVERITIES.items())]


# Supported versions in West Europe (KubernetesVersionListResult, AKS 2026-02-01).
def minor(version, plans, patches, default=False, preview=False):
    body = {"version": version, "capabilities": {"supportPlan": plans},
            "patchVersions": {p: {"upgrades": [q for q in patches if q > p]} for p in patches}}
    if default:
        body["isDefault"] = True
    if preview:
        body["isPreview"] = True
    return body


VERSIONS = [{
    "id": "/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions",
    "type": "Microsoft.ContainerService/locations/kubernetesVersions",
    "values": [
        minor("1.30", ["AKSLongTermSupport"], ["1.30.13", "1.30.14"]),
        minor("1.31", ["KubernetesOfficial"], ["1.31.10", "1.31.11"]),
        minor("1.32", ["KubernetesOfficial"], ["1.32.6", "1.32.7"]),
        minor("1.33", ["KubernetesOfficial"], ["1.33.2", "1.33.3"], default=True),
        minor("1.34", ["KubernetesOfficial"], ["1.34.0"], preview=True),
    ],
}]

# ---------------------------------------------------------------- policy compliance states
def policy_state(cluster_body, n, assignment_body, definition_guid, compliant, action, set_body=None, reference=None):
    """A row of `POST .../policyStates/latest/queryResults` (flat PolicyState, 2019-10-01). The
    real service sends no `id`/`type`; the emulator needs them to store the row."""
    cid = cluster_body["id"]
    sub = cid.split("/")[2]
    a = assignment_body
    return {
        "id": f"{cid}/providers/Microsoft.PolicyInsights/policyStates/{n:08d}-0000-4000-8000-000000000026",
        "type": "Microsoft.PolicyInsights/policyStates",
        "@odata.id": None,
        "@odata.context": f"https://management.azure.com/subscriptions/{sub}/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest/$entity",
        "timestamp": "2026-11-25T06:00:00Z", "resourceId": cid,
        "policyAssignmentId": a["id"], "policyDefinitionId": builtin(definition_guid),
        "effectiveParameters": "", "isCompliant": compliant, "subscriptionId": sub,
        "resourceType": "Microsoft.ContainerService/managedClusters", "resourceLocation": "westeurope",
        "resourceGroup": cid.split("/")[4], "resourceTags": "tbd",
        "policyAssignmentName": a["name"], "policyAssignmentOwner": "tbd",
        "policyAssignmentParameters": json.dumps(a["properties"]["parameters"]),
        "policyAssignmentScope": a["properties"]["scope"], "policyDefinitionName": definition_guid,
        "policyDefinitionAction": action, "policyDefinitionCategory": "Kubernetes",
        "policySetDefinitionId": set_body["id"] if set_body else None,
        "policySetDefinitionName": set_body["name"] if set_body else None,
        "policySetDefinitionOwner": None, "policySetDefinitionCategory": "Kubernetes" if set_body else None,
        "policySetDefinitionParameters": None,
        "managementGroupIds": "", "policyDefinitionReferenceId": reference,
        "complianceState": "Compliant" if compliant else "NonCompliant",
        "policyDefinitionGroupNames": [""], "policyDefinitionVersion": "9.2.0",
    }


A = {a["name"]: a for a in ASSIGNMENTS}
POLICY_STATES = [
    policy_state(C["aks-corp-prod"], 1, A["Deny-Privileged-AKS"], "95edb821-ddaf-4404-9732-666045e056b4", True, "deny"),
    policy_state(C["aks-corp-prod"], 2, A["Deny-Pod-Restricted"], "975ce327-682c-4f2e-aa46-b9598289b86c", True, "deny",
                 PSS_RESTRICTED, "AllowedSeccompProfiles"),
    policy_state(C["aks-online-api"], 3, A["Deny-Privileged-AKS"], "95edb821-ddaf-4404-9732-666045e056b4", True, "deny"),
    policy_state(C["aks-online-api"], 4, A["Audit-Pod-Baseline"], "95edb821-ddaf-4404-9732-666045e056b4", False, "audit",
                 PSS_BASELINE, "NoPrivilegedContainers"),
    # A privileged pod admitted before Deny-Privileged-AKS existed keeps running.
    policy_state(C["aks-online-batch"], 5, A["Deny-Privileged-AKS"], "95edb821-ddaf-4404-9732-666045e056b4", False, "deny"),
]

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
    resources = (CLUSTERS + REGISTRIES + [CONN_CORP, CONN_API, CONN_API_HUB] + TOKENS + MACHINES + PRICINGS
                 + RESOURCE_PRICINGS + DEFINITIONS + SETS + ASSIGNMENTS + EXEMPTIONS + ROLE_ASSIGNMENTS
                 + CLUSTER_ROLE_ASSIGNMENTS + NETWORK + DIAGNOSTICS + ASSESSMENTS + METADATA + VERSIONS + POLICY_STATES)
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
