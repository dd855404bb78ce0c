/**
 * Azure (ARM JSON template): a virtual network, an Application Gateway v2 terminating TLS (HTTPS listener
 * on 443 with the shop's certificate from Key Vault, 80 redirected to it, a probe on /ready, the web scale
 * set as backend), a Standard Load Balancer for the instances' outbound traffic, web and worker VM scale sets (Ubuntu + the one image in Docker, automatic repairs),
 * autoscale settings built by the same code the simulator runs (default profile with CPU rules, a
 * fixedDate profile per sale window, predictive autoscale), Azure Database for PostgreSQL flexible
 * server (zone-redundant HA) with a read replica, Azure Cache for Redis for queues (noeviction) and
 * cache (allkeys-lru), an action group and metric alerts. API versions are the ones whose schemas
 * validate the template (validate/schemas/arm-resources.json).
 */
import { DB_CONNECTIONS_ALARM_PERCENT, getDbConnectionsAlarmThreshold } from '../alerts/alert-rules.ts';
import { buildAzureAutoscaleSetting } from '../schedule/cloud-schedules.ts';
import type { PrescaleWindow } from '../simulate/prescale.ts';
import { getTerminationGraceSeconds, type DeploymentSpec } from './deployment-spec.ts';
import type { PrescaleSchedule } from './prescale-plan.ts';
import type { RenderedFile } from './rendered-file.ts';
import { GENERATED_HEADER, toJson } from './rendered-file.ts';
import { getAllRoleSecretNames, getRoleArgv, getRoleEnv, getRoleSecretNames, type RoleSecretName } from './role-env.ts';

type Obj = Record<string, unknown>;

export const AZURE_TEMPLATE_PATH = 'deploy/azure/salescale.json';

/** API version per resource type (the versions of the committed schemas). */
export const AZURE_API_VERSIONS: Record<string, string> = {
  'Microsoft.Network/networkSecurityGroups': '2025-05-01',
  'Microsoft.Network/virtualNetworks': '2025-05-01',
  'Microsoft.Network/publicIPAddresses': '2025-05-01',
  'Microsoft.Network/loadBalancers': '2025-05-01',
  'Microsoft.Network/applicationGateways': '2025-05-01',
  'Microsoft.Network/privateDnsZones': '2024-06-01',
  'Microsoft.Network/privateDnsZones/virtualNetworkLinks': '2024-06-01',
  'Microsoft.Compute/virtualMachineScaleSets': '2024-11-01',
  'Microsoft.Insights/autoscalesettings': '2022-10-01',
  'Microsoft.DBforPostgreSQL/flexibleServers': '2025-08-01',
  'Microsoft.DBforPostgreSQL/flexibleServers/configurations': '2025-08-01',
  'Microsoft.DBforPostgreSQL/flexibleServers/databases': '2025-08-01',
  'Microsoft.Cache/redis': '2024-11-01',
  'Microsoft.Insights/actionGroups': '2021-09-01',
  'Microsoft.Insights/metricAlerts': '2018-03-01',
};

const res = (type: string, name: string, body: Obj, dependsOn: string[] = []): Obj => ({
  type,
  apiVersion: AZURE_API_VERSIONS[type],
  name,
  ...body,
  ...(dependsOn.length > 0 ? { dependsOn } : {}),
});
const id = (type: string, ...names: string[]) => `resourceId('${type}', ${names.map((n) => `'${n}'`).join(', ')})`;
const expr = (e: string) => `[${e}]`;

/**
 * The Application Gateway's dedicated subnet (v2 wants nothing else in it; a /24 leaves room for its autoscaling). Its
 * instances are the only clients of the web port: the NSG admits this range alone, and the web role trusts the
 * X-Forwarded-For it appends (TRUST_PROXY), so each shopper is counted by their own address, not the gateway's.
 */
export const AZURE_GATEWAY_SUBNET = '10.20.17.0/24';

/** ARM `format()` string literal: quotes doubled, braces escaped. */
const armLiteral = (s: string) => s.replace(/'/g, "''").replace(/\{/g, '{{').replace(/\}/g, '}}');

/** The secure parameter of a role secret: STRIPE_SECRET_KEY → stripeSecretKey. */
const secureParameter = (name: RoleSecretName) => name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * cloud-init as a shell script: Docker, the env file (addresses and keys resolved by the template),
 * migrations (web only; concurrent runs are safe: advisory lock) and one container of the role.
 * Secrets arrive as secure parameters in customData (readable on the VM only).
 */
function customData(spec: DeploymentSpec, role: 'web' | 'worker', names: Names): string {
  const env = { ...getRoleEnv(spec, role), ...(role === 'web' ? { TRUST_PROXY: AZURE_GATEWAY_SUBNET } : {}) };
  const port = spec[role].port;
  // format() arguments {10}, {11}, … after the fixed ones below.
  const roleSecrets = getRoleSecretNames(spec, role);
  const lines = [
    '#!/bin/bash',
    'set -euo pipefail',
    'apt-get update && apt-get install -y docker.io',
    'umask 077',
    // A quoted here-document: ARM writes the secure parameters into this text, and bash must not expand a `$` or a
    // backquote in them. The one value the shell gives, the host's name, is appended after it.
    "cat > /etc/salescale.env <<'ENV'",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    `DATABASE_URL=postgres://${spec.name}:{1}@{2}:5432/${spec.name}?sslmode=require`,
    ...(role === 'web' ? [`DATABASE_REPLICA_URL=postgres://${spec.name}:{1}@{3}:5432/${spec.name}?sslmode=require`] : []),
    'REDIS_URL=rediss://:{4}@{5}:6380',
    'CACHE_REDIS_URL=rediss://:{6}@{7}:6380',
    'ADMIN_API_TOKEN={8}',
    'SESSION_SECRET={9}',
    ...roleSecrets.map((name, i) => `${name}={${10 + i}}`),
    'ENV',
    'echo "INSTANCE_ID=$(hostname)" >> /etc/salescale.env',
    ...(role === 'web' ? [`docker run --rm --env-file /etc/salescale.env {0} ${getRoleArgv('migrate').join(' ')}`] : []),
    `docker run -d --name salescale-${role} --restart unless-stopped --stop-timeout ${getTerminationGraceSeconds(spec)} --env-file /etc/salescale.env -p ${port}:${port} {0} ${getRoleArgv(role).join(' ')}`,
  ];
  const literal = lines
    .map((l) => armLiteral(l))
    .join('\n')
    .replace(/\{\{(\d+)\}\}/g, '{$1}');
  const args = [
    "parameters('image')",
    // Percent-encoded: they go into URLs, and an Azure Cache for Redis key is base64 ('/', '+', '='; a '/' ends the
    // authority) and the PostgreSQL password must mix character classes. pg and ioredis decode them.
    "uriComponent(parameters('postgresAdminPassword'))",
    `reference(${id('Microsoft.DBforPostgreSQL/flexibleServers', names.db)}).fullyQualifiedDomainName`,
    `reference(${id('Microsoft.DBforPostgreSQL/flexibleServers', names.replica)}).fullyQualifiedDomainName`,
    `uriComponent(listKeys(${id('Microsoft.Cache/redis', names.queue)}, '${AZURE_API_VERSIONS['Microsoft.Cache/redis']}').primaryKey)`,
    `reference(${id('Microsoft.Cache/redis', names.queue)}).hostName`,
    `uriComponent(listKeys(${id('Microsoft.Cache/redis', names.cache)}, '${AZURE_API_VERSIONS['Microsoft.Cache/redis']}').primaryKey)`,
    `reference(${id('Microsoft.Cache/redis', names.cache)}).hostName`,
    "parameters('adminApiToken')",
    "parameters('sessionSecret')",
    ...roleSecrets.map((name) => `parameters('${secureParameter(name)}')`),
  ];
  return expr(`base64(format('${literal}\n', ${args.join(', ')}))`);
}

interface Names {
  vnet: string;
  nsg: string;
  lb: string;
  pip: string;
  gw: string;
  gwPip: string;
  web: string;
  worker: string;
  db: string;
  replica: string;
  dnsZone: string;
  queue: string;
  cache: string;
  actionGroup: string;
}

function scaleSet(spec: DeploymentSpec, role: 'web' | 'worker', n: Names): Obj {
  const name = role === 'web' ? n.web : n.worker;
  const subnet = `[${id('Microsoft.Network/virtualNetworks/subnets', n.vnet, 'app')}]`;
  const ipConfig: Obj = {
    name: 'ipconfig',
    properties: {
      subnet: { id: subnet },
      // Every instance is in the load balancer's 'outbound' pool (SNAT for image pulls and packages); web instances also
      // serve in the Application Gateway's 'web' pool.
      loadBalancerBackendAddressPools: [{ id: `[${id('Microsoft.Network/loadBalancers/backendAddressPools', n.lb, 'outbound')}]` }],
      ...(role === 'web' ? { applicationGatewayBackendAddressPools: [{ id: `[${id('Microsoft.Network/applicationGateways/backendAddressPools', n.gw, 'web')}]` }] } : {}),
    },
  };
  return res(
    'Microsoft.Compute/virtualMachineScaleSets',
    name,
    {
      location: "[parameters('location')]",
      sku: { name: "[parameters('vmSize')]", tier: 'Standard', capacity: spec[role].replicas.desired },
      properties: {
        orchestrationMode: 'Uniform',
        overprovision: false,
        upgradePolicy: {
          mode: 'Rolling',
          rollingUpgradePolicy: { maxBatchInstancePercent: 20, maxUnhealthyInstancePercent: 20, maxUnhealthyUpgradedInstancePercent: 20, pauseTimeBetweenBatches: 'PT30S' },
        },
        // Autohealing: an instance unhealthy on the probe / health extension is replaced after the grace period.
        automaticRepairsPolicy: { enabled: true, gracePeriod: 'PT10M' },
        virtualMachineProfile: {
          osProfile: {
            computerNamePrefix: name,
            adminUsername: "[parameters('adminUsername')]",
            customData: customData(spec, role, n),
            linuxConfiguration: {
              disablePasswordAuthentication: true,
              ssh: { publicKeys: [{ path: "[format('/home/{0}/.ssh/authorized_keys', parameters('adminUsername'))]", keyData: "[parameters('sshPublicKey')]" }] },
            },
          },
          storageProfile: {
            imageReference: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest' },
            osDisk: { createOption: 'FromImage', managedDisk: { storageAccountType: 'Premium_LRS' } },
          },
          // No healthProbe: a scale set takes one health source, and a /ready probe fails on every web VM at once
          // while PostgreSQL or Redis is unreachable: repairs would replace them all. The Application Gateway
          // routes on /ready; repairs and rolling upgrades follow the liveness check.
          networkProfile: {
            networkInterfaceConfigurations: [{ name: 'nic', properties: { primary: true, ipConfigurations: [ipConfig] } }],
          },
          extensionProfile: {
            extensions: [
              {
                name: 'health',
                properties: {
                  publisher: 'Microsoft.ManagedServices',
                  type: 'ApplicationHealthLinux',
                  typeHandlerVersion: '2.0',
                  autoUpgradeMinorVersion: true,
                  settings: { protocol: 'http', port: spec[role].port, requestPath: spec.probes.liveness.path },
                },
              },
            ],
          },
        },
      },
    },
    [
      `[${id('Microsoft.Network/virtualNetworks', n.vnet)}]`,
      `[${id('Microsoft.Network/loadBalancers', n.lb)}]`,
      ...(role === 'web' ? [`[${id('Microsoft.Network/applicationGateways', n.gw)}]`] : []),
      `[${id('Microsoft.DBforPostgreSQL/flexibleServers', n.replica)}]`,
      `[${id('Microsoft.Cache/redis', n.queue)}]`,
      `[${id('Microsoft.Cache/redis', n.cache)}]`,
    ],
  );
}

/**
 * Application Gateway v2: TLS ends here with the certificate of the shop's host (a Key Vault secret the gateway reads
 * through a user-assigned identity; a version-less secret id follows renewals), HTTP on 80 answers with a permanent
 * redirect to HTTPS, and HTTPS is proxied to the web scale set on the web port, routed on /ready. Session, cart, guest
 * and waiting-room cookies are `__Host-`/Secure: over plain HTTP browsers drop them.
 */
function applicationGateway(spec: DeploymentSpec, n: Names): Obj {
  const sub = (kind: string, name: string) => ({ id: `[${id(`Microsoft.Network/applicationGateways/${kind}`, n.gw, name)}]` });
  const readiness = spec.probes.readiness;
  return res(
    'Microsoft.Network/applicationGateways',
    n.gw,
    {
      location: "[parameters('location')]",
      identity: { type: 'UserAssigned', userAssignedIdentities: { "[parameters('gatewayIdentityId')]": {} } },
      properties: {
        // Standard_v2 (WAF_v2 adds the web application firewall, at a higher price and with a WAF policy to write).
        sku: { name: 'Standard_v2', tier: 'Standard_v2' },
        // Instances added on load take minutes: raise minCapacity before a sale (see docs/deploy-azure.md).
        autoscaleConfiguration: { minCapacity: 2, maxCapacity: 125 },
        sslPolicy: { policyType: 'Predefined', policyName: 'AppGwSslPolicy20220101' },
        // Response buffering (on by default) holds a reply until it ends or fills the buffer: the waiting room's
        // Server-Sent Events stream would not reach browsers as written. Microsoft's SSE guidance turns it off; request
        // buffering stays on (its default). requestTimeout (30 s) exceeds the gap between frames (WAITING_ROOM_STREAM_REFRESH_MS, 1 s).
        globalConfiguration: { enableRequestBuffering: true, enableResponseBuffering: false },
        gatewayIPConfigurations: [{ name: 'gateway', properties: { subnet: { id: `[${id('Microsoft.Network/virtualNetworks/subnets', n.vnet, 'gateway')}]` } } }],
        frontendIPConfigurations: [{ name: 'public', properties: { publicIPAddress: { id: `[${id('Microsoft.Network/publicIPAddresses', n.gwPip)}]` } } }],
        frontendPorts: [
          { name: 'http', properties: { port: 80 } },
          { name: 'https', properties: { port: 443 } },
        ],
        sslCertificates: [{ name: 'shop', properties: { keyVaultSecretId: "[parameters('certificateSecretId')]" } }],
        backendAddressPools: [{ name: 'web' }],
        backendHttpSettingsCollection: [
          {
            name: 'web',
            properties: {
              port: spec.web.port,
              protocol: 'Http',
              cookieBasedAffinity: 'Disabled',
              requestTimeout: 30,
              probe: sub('probes', 'ready'),
              // A VM leaving the pool (scale-in, rolling upgrade) finishes its requests while the app drains.
              connectionDraining: { enabled: true, drainTimeoutInSec: getTerminationGraceSeconds(spec) },
            },
          },
        ],
        probes: [
          {
            name: 'ready',
            properties: {
              protocol: 'Http',
              host: '127.0.0.1',
              path: readiness.path,
              interval: readiness.periodSeconds,
              timeout: readiness.timeoutSeconds,
              unhealthyThreshold: readiness.failureThreshold,
              pickHostNameFromBackendHttpSettings: false,
              match: { statusCodes: ['200-399'] },
            },
          },
        ],
        httpListeners: [
          { name: 'http', properties: { frontendIPConfiguration: sub('frontendIPConfigurations', 'public'), frontendPort: sub('frontendPorts', 'http'), protocol: 'Http' } },
          { name: 'https', properties: { frontendIPConfiguration: sub('frontendIPConfigurations', 'public'), frontendPort: sub('frontendPorts', 'https'), protocol: 'Https', sslCertificate: sub('sslCertificates', 'shop') } },
        ],
        redirectConfigurations: [{ name: 'http-to-https', properties: { redirectType: 'Permanent', targetListener: sub('httpListeners', 'https'), includePath: true, includeQueryString: true } }],
        requestRoutingRules: [
          { name: 'https', properties: { ruleType: 'Basic', priority: 100, httpListener: sub('httpListeners', 'https'), backendAddressPool: sub('backendAddressPools', 'web'), backendHttpSettings: sub('backendHttpSettingsCollection', 'web') } },
          { name: 'http-to-https', properties: { ruleType: 'Basic', priority: 200, httpListener: sub('httpListeners', 'http'), redirectConfiguration: sub('redirectConfigurations', 'http-to-https') } },
        ],
      },
    },
    [`[${id('Microsoft.Network/virtualNetworks', n.vnet)}]`, `[${id('Microsoft.Network/publicIPAddresses', n.gwPip)}]`],
  );
}

function autoscale(spec: DeploymentSpec, role: 'web' | 'worker', windows: readonly PrescaleWindow[], n: Names): Obj {
  const target = `[${id('Microsoft.Compute/virtualMachineScaleSets', role === 'web' ? n.web : n.worker)}]`;
  const a = spec.azure;
  const setting = buildAzureAutoscaleSetting({
    min: spec[role].replicas.min,
    max: spec[role].replicas.max,
    rules: { scaleOutCpuPercent: spec.web.autoscaling.cpuPercent, scaleInCpuPercent: a.scaleInCpuPercent, scaleOutPercent: a.scaleOutPercent, scaleOutCooldown: a.scaleOutCooldown, scaleInCooldown: a.scaleInCooldown },
    windows,
    timeZone: spec.prescale.timeZone,
    predictive: role === 'web' ? a.predictiveMode : undefined,
    lookAhead: a.predictiveLookAhead,
    metricResourceUri: target,
  });
  return res(
    'Microsoft.Insights/autoscalesettings',
    `${spec.name}-${role}-autoscale`,
    {
      location: "[parameters('location')]",
      properties: {
        name: `${spec.name}-${role}-autoscale`,
        enabled: setting.enabled,
        targetResourceUri: target,
        profiles: setting.profiles,
        ...(setting.predictiveAutoscalePolicy ? { predictiveAutoscalePolicy: setting.predictiveAutoscalePolicy } : {}),
        notifications: [{ operation: 'Scale', email: { sendToSubscriptionAdministrator: false, sendToSubscriptionCoAdministrators: false, customEmails: "[if(empty(parameters('alertEmail')), createArray(), createArray(parameters('alertEmail')))]" } }],
      },
    },
    [target],
  );
}

function redis(spec: DeploymentSpec, name: string, policy: 'noeviction' | 'allkeys-lru'): Obj {
  return res('Microsoft.Cache/redis', name, {
    location: "[parameters('location')]",
    properties: {
      sku: { name: 'Standard', family: 'C', capacity: spec.azure.redisCapacity },
      enableNonSslPort: false,
      minimumTlsVersion: '1.2',
      // BullMQ: an evicted key is a lost job, so the queue Redis never evicts.
      redisConfiguration: { 'maxmemory-policy': policy },
    },
  });
}

function metricAlert(name: string, description: string, severity: number, scope: string, metric: { namespace: string; name: string; operator: string; threshold: number; aggregation: string }, n: Names): Obj {
  return res(
    'Microsoft.Insights/metricAlerts',
    name,
    {
      location: 'global',
      properties: {
        description,
        severity,
        enabled: true,
        scopes: [scope],
        evaluationFrequency: 'PT1M',
        windowSize: 'PT5M',
        criteria: {
          'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria',
          allOf: [{ criterionType: 'StaticThresholdCriterion', name: 'condition', metricNamespace: metric.namespace, metricName: metric.name, operator: metric.operator, threshold: metric.threshold, timeAggregation: metric.aggregation }],
        },
        actions: [{ actionGroupId: `[${id('Microsoft.Insights/actionGroups', n.actionGroup)}]` }],
      },
    },
    [`[${id('Microsoft.Insights/actionGroups', n.actionGroup)}]`, scope],
  );
}

export function buildArmTemplate(spec: DeploymentSpec, schedule: PrescaleSchedule): Obj {
  const p = spec.name;
  const n: Names = {
    vnet: `${p}-vnet`,
    nsg: `${p}-app-nsg`,
    lb: `${p}-lb`,
    pip: `${p}-lb-ip`,
    gw: `${p}-gw`,
    gwPip: `${p}-gw-ip`,
    web: `${p}-web`,
    worker: `${p}-worker`,
    db: `${p}-pg`,
    replica: `${p}-pg-replica`,
    dnsZone: `${p}.private.postgres.database.azure.com`,
    queue: `[format('${p}-queue-{0}', uniqueString(resourceGroup().id))]`,
    cache: `[format('${p}-cache-{0}', uniqueString(resourceGroup().id))]`,
    actionGroup: `${p}-alerts`,
  };
  // Redis names are global: the template derives them from the resource group (names inside expressions lose the brackets).
  const redisName = (kind: 'queue' | 'cache') => `format('${p}-${kind}-{0}', uniqueString(resourceGroup().id))`;
  const nExpr: Names = { ...n, queue: 'REDIS_QUEUE', cache: 'REDIS_CACHE' };
  const fixNames = (o: Obj): Obj =>
    JSON.parse(
      JSON.stringify(o)
        .replaceAll("'REDIS_QUEUE'", redisName('queue'))
        .replaceAll("'REDIS_CACHE'", redisName('cache')),
    ) as Obj;
  const dbId = `[${id('Microsoft.DBforPostgreSQL/flexibleServers', n.db)}]`;
  const resources: Obj[] = [
    res('Microsoft.Network/networkSecurityGroups', n.nsg, {
      location: "[parameters('location')]",
      properties: {
        securityRules: [
          { name: 'web-from-gateway', properties: { priority: 100, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: AZURE_GATEWAY_SUBNET, sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRange: String(spec.web.port) } },
          { name: 'probe', properties: { priority: 110, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: 'AzureLoadBalancer', sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRange: '*' } },
        ],
      },
    }),
    res(
      'Microsoft.Network/virtualNetworks',
      n.vnet,
      {
        location: "[parameters('location')]",
        properties: {
          addressSpace: { addressPrefixes: ['10.20.0.0/16'] },
          subnets: [
            { name: 'app', properties: { addressPrefix: '10.20.0.0/20', networkSecurityGroup: { id: `[${id('Microsoft.Network/networkSecurityGroups', n.nsg)}]` } } },
            // Dedicated to the Application Gateway, no NSG (v2 needs GatewayManager on 65200–65535 inbound).
            { name: 'gateway', properties: { addressPrefix: AZURE_GATEWAY_SUBNET } },
            { name: 'postgres', properties: { addressPrefix: '10.20.16.0/24', delegations: [{ name: 'postgres', properties: { serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers' } }] } },
          ],
        },
      },
      [`[${id('Microsoft.Network/networkSecurityGroups', n.nsg)}]`],
    ),
    res('Microsoft.Network/publicIPAddresses', n.pip, { location: "[parameters('location')]", sku: { name: 'Standard' }, properties: { publicIPAllocationMethod: 'Static' } }),
    res('Microsoft.Network/publicIPAddresses', n.gwPip, { location: "[parameters('location')]", sku: { name: 'Standard' }, properties: { publicIPAllocationMethod: 'Static' } }),
    applicationGateway(spec, n),
    // Outbound only (the instances have no public address): the Application Gateway serves the shop.
    res(
      'Microsoft.Network/loadBalancers',
      n.lb,
      {
        location: "[parameters('location')]",
        sku: { name: 'Standard' },
        properties: {
          frontendIPConfigurations: [{ name: 'public', properties: { publicIPAddress: { id: `[${id('Microsoft.Network/publicIPAddresses', n.pip)}]` } } }],
          backendAddressPools: [{ name: 'outbound' }],
          outboundRules: [
            {
              name: 'egress',
              properties: {
                protocol: 'All',
                frontendIPConfigurations: [{ id: `[${id('Microsoft.Network/loadBalancers/frontendIPConfigurations', n.lb, 'public')}]` }],
                backendAddressPool: { id: `[${id('Microsoft.Network/loadBalancers/backendAddressPools', n.lb, 'outbound')}]` },
              },
            },
          ],
        },
      },
      [`[${id('Microsoft.Network/publicIPAddresses', n.pip)}]`],
    ),
    res('Microsoft.Network/privateDnsZones', n.dnsZone, { location: 'global' }),
    res(
      'Microsoft.Network/privateDnsZones/virtualNetworkLinks',
      `${n.dnsZone}/vnet`,
      { location: 'global', properties: { registrationEnabled: false, virtualNetwork: { id: `[${id('Microsoft.Network/virtualNetworks', n.vnet)}]` } } },
      [`[${id('Microsoft.Network/privateDnsZones', n.dnsZone)}]`, `[${id('Microsoft.Network/virtualNetworks', n.vnet)}]`],
    ),
    res(
      'Microsoft.DBforPostgreSQL/flexibleServers',
      n.db,
      {
        location: "[parameters('location')]",
        sku: { name: spec.azure.postgresSku, tier: 'GeneralPurpose' },
        properties: {
          version: spec.azure.postgresVersion,
          administratorLogin: spec.name,
          administratorLoginPassword: "[parameters('postgresAdminPassword')]",
          storage: { storageSizeGB: 128 },
          highAvailability: { mode: 'ZoneRedundant' },
          backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' },
          network: { delegatedSubnetResourceId: `[${id('Microsoft.Network/virtualNetworks/subnets', n.vnet, 'postgres')}]`, privateDnsZoneArmResourceId: `[${id('Microsoft.Network/privateDnsZones', n.dnsZone)}]` },
        },
      },
      [`[${id('Microsoft.Network/privateDnsZones/virtualNetworkLinks', n.dnsZone, 'vnet')}]`],
    ),
    // The pool sizing of the spec is checked against this figure (see docs/deploy-azure.md).
    res('Microsoft.DBforPostgreSQL/flexibleServers/configurations', `${n.db}/max_connections`, { properties: { value: String(spec.database.maxConnections), source: 'user-override' } }, [dbId]),
    res('Microsoft.DBforPostgreSQL/flexibleServers/databases', `${n.db}/${spec.name}`, { properties: { charset: 'UTF8', collation: 'en_US.utf8' } }, [dbId]),
    res(
      'Microsoft.DBforPostgreSQL/flexibleServers',
      n.replica,
      {
        location: "[parameters('location')]",
        sku: { name: spec.azure.postgresSku, tier: 'GeneralPurpose' },
        properties: { createMode: 'Replica', sourceServerResourceId: dbId },
      },
      [dbId, `[${id('Microsoft.DBforPostgreSQL/flexibleServers/configurations', n.db, 'max_connections')}]`],
    ),
    redis(spec, n.queue, 'noeviction'),
    redis(spec, n.cache, 'allkeys-lru'),
    fixNames(scaleSet(spec, 'web', nExpr)),
    fixNames(scaleSet(spec, 'worker', nExpr)),
    autoscale(spec, 'web', schedule.web.windows, n),
    autoscale(spec, 'worker', schedule.worker.windows, n),
    res('Microsoft.Insights/actionGroups', n.actionGroup, {
      location: 'global',
      properties: {
        groupShortName: 'salescale',
        enabled: true,
        emailReceivers: "[if(empty(parameters('alertEmail')), createArray(), createArray(createObject('name', 'team', 'emailAddress', parameters('alertEmail'), 'useCommonAlertSchema', true)))]",
      },
    }),
    metricAlert(`${p}-web-cpu-high`, 'CRITICAL: web CPU above 85 % for 5 minutes (action: scale_up)', 0, `[${id('Microsoft.Compute/virtualMachineScaleSets', n.web)}]`, { namespace: 'Microsoft.Compute/virtualMachineScaleSets', name: 'Percentage CPU', operator: 'GreaterThan', threshold: 85, aggregation: 'Average' }, n),
    metricAlert(`${p}-web-health`, 'CRITICAL: a web instance fails the Application Gateway\'s /ready probe', 1, `[${id('Microsoft.Network/applicationGateways', n.gw)}]`, { namespace: 'Microsoft.Network/applicationGateways', name: 'UnhealthyHostCount', operator: 'GreaterThan', threshold: 0, aggregation: 'Average' }, n),
    metricAlert(`${p}-pg-connections`, `CRITICAL: PostgreSQL connections above ${DB_CONNECTIONS_ALARM_PERCENT} % of max_connections ${spec.database.maxConnections}`, 0, dbId, { namespace: 'Microsoft.DBforPostgreSQL/flexibleServers', name: 'active_connections', operator: 'GreaterThan', threshold: getDbConnectionsAlarmThreshold(spec.database.maxConnections), aggregation: 'Maximum' }, n),
    metricAlert(`${p}-pg-cpu`, 'WARNING: PostgreSQL CPU above 80 %', 2, dbId, { namespace: 'Microsoft.DBforPostgreSQL/flexibleServers', name: 'cpu_percent', operator: 'GreaterThan', threshold: 80, aggregation: 'Average' }, n),
    fixNames(metricAlert(`${p}-queue-redis-memory`, 'CRITICAL: queue Redis memory above 80 % (noeviction: writes fail when full, jobs are lost)', 0, `[${id('Microsoft.Cache/redis', 'REDIS_QUEUE')}]`, { namespace: 'Microsoft.Cache/redis', name: 'usedmemorypercentage', operator: 'GreaterThan', threshold: 80, aggregation: 'Maximum' }, n)),
  ];
  return {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    metadata: { description: `Salescale on Azure VM scale sets behind an Application Gateway v2 (HTTPS). ${GENERATED_HEADER} Sale profiles: ${schedule.label}.` },
    parameters: {
      location: { type: 'string', defaultValue: spec.azure.location },
      image: { type: 'string', defaultValue: `${spec.image.repository}:${spec.image.tag}`, metadata: { description: 'The Salescale image (one image for web, worker and migrate)' } },
      vmSize: { type: 'string', defaultValue: spec.azure.vmSize },
      adminUsername: { type: 'string', defaultValue: 'salescale' },
      sshPublicKey: { type: 'string', metadata: { description: 'SSH public key of the admin user' } },
      postgresAdminPassword: { type: 'securestring' },
      adminApiToken: { type: 'securestring' },
      sessionSecret: { type: 'securestring' },
      ...Object.fromEntries(getAllRoleSecretNames(spec).map((name) => [secureParameter(name), { type: 'securestring' }])),
      certificateSecretId: { type: 'string', metadata: { description: `Key Vault secret id of the certificate of ${spec.web.host} (version-less: https://<vault>.vault.azure.net/secrets/<name>), served on 443` } },
      gatewayIdentityId: { type: 'string', metadata: { description: 'Resource id of the user-assigned identity the Application Gateway reads the certificate with (Key Vault Secrets User on the vault)' } },
      alertEmail: { type: 'string', defaultValue: '', metadata: { description: 'Where alerts and scale notifications are sent (empty: none)' } },
    },
    resources,
    outputs: {
      gatewayIp: { type: 'string', value: `[reference(${id('Microsoft.Network/publicIPAddresses', n.gwPip)}).ipAddress]` },
      outboundIp: { type: 'string', value: `[reference(${id('Microsoft.Network/publicIPAddresses', n.pip)}).ipAddress]` },
      databaseHost: { type: 'string', value: `[reference(${id('Microsoft.DBforPostgreSQL/flexibleServers', n.db)}).fullyQualifiedDomainName]` },
      replicaHost: { type: 'string', value: `[reference(${id('Microsoft.DBforPostgreSQL/flexibleServers', n.replica)}).fullyQualifiedDomainName]` },
    },
  };
}

export function renderAzure(spec: DeploymentSpec, schedule: PrescaleSchedule): RenderedFile[] {
  return [{ path: AZURE_TEMPLATE_PATH, format: 'json', content: toJson(buildArmTemplate(spec, schedule)) }];
}
