/**
 * Offline CloudFormation validation: the `cfn-lint` npm package (property names, required
 * properties, types, references) with a current resource specification loaded at run time from
 * `@aws-cdk/cfnspec` (the one cfn-lint ships predates DefaultInstanceWarmup,
 * PredictiveScalingConfiguration and ScheduledAction TimeZone), plus the enum values neither
 * carries. Test-time only: it loads dev dependencies.
 */
import { createRequire } from 'node:module';
import util from 'node:util';

const require = createRequire(import.meta.url);

interface CfnLintResult {
  templateValid: boolean;
  errors: { crit: { message: string; resource: string }[]; warn: { message: string; resource: string }[] };
}

let api: { validateJsonObject(template: unknown, options?: unknown): CfnLintResult } | undefined;

/** cfn-lint with the newer spec; `specVersion` tells which one is loaded. */
export function loadCfnLint(): { validate(template: unknown, parameters?: Record<string, unknown>): CfnLintResult; specVersion: string } {
  const spec = require('@aws-cdk/cfnspec/spec/specification.json') as { ResourceSpecificationVersion: string; ResourceTypes: object; PropertyTypes: object };
  if (!api) {
    // cfn-lint 1.x calls util.isUndefined, which Node 23 removed.
    const u = util as unknown as Record<string, unknown>;
    u.isUndefined ??= (value: unknown) => value === undefined;
    const awsData = require('cfn-lint/lib/awsData') as { awsResources: { ResourceTypes: object; PropertyTypes: object } };
    awsData.awsResources.ResourceTypes = spec.ResourceTypes;
    awsData.awsResources.PropertyTypes = { ...awsData.awsResources.PropertyTypes, ...spec.PropertyTypes };
    api = require('cfn-lint/lib/api');
  }
  const lint = api as NonNullable<typeof api>;
  return { validate: (template, parameters = {}) => lint.validateJsonObject(structuredClone(template), { parameters }), specVersion: spec.ResourceSpecificationVersion };
}

/** Allowed values by resource type and property path (array indexes as `[]`), from the CloudFormation reference. */
export const CFN_ENUMS: Record<string, Record<string, readonly (string | number)[]>> = {
  'AWS::AutoScaling::AutoScalingGroup': {
    HealthCheckType: ['EC2', 'ELB', 'VPC_LATTICE', 'EBS'],
    'MetricsCollection[].Granularity': ['1Minute'],
  },
  'AWS::AutoScaling::ScalingPolicy': {
    PolicyType: ['TargetTrackingScaling', 'StepScaling', 'SimpleScaling', 'PredictiveScaling'],
    AdjustmentType: ['ChangeInCapacity', 'ExactCapacity', 'PercentChangeInCapacity'],
    MetricAggregationType: ['Minimum', 'Maximum', 'Average'],
    'TargetTrackingConfiguration.PredefinedMetricSpecification.PredefinedMetricType': ['ASGAverageCPUUtilization', 'ASGAverageNetworkIn', 'ASGAverageNetworkOut', 'ALBRequestCountPerTarget'],
    'PredictiveScalingConfiguration.Mode': ['ForecastOnly', 'ForecastAndScale'],
    'PredictiveScalingConfiguration.MaxCapacityBreachBehavior': ['HonorMaxCapacity', 'IncreaseMaxCapacity'],
    'PredictiveScalingConfiguration.MetricSpecifications[].PredefinedMetricPairSpecification.PredefinedMetricType': ['ASGCPUUtilization', 'ASGNetworkIn', 'ASGNetworkOut', 'ALBRequestCount'],
  },
  'AWS::CloudWatch::Alarm': {
    ComparisonOperator: [
      'GreaterThanThreshold',
      'GreaterThanOrEqualToThreshold',
      'LessThanThreshold',
      'LessThanOrEqualToThreshold',
      'LessThanLowerOrGreaterThanUpperThreshold',
      'LessThanLowerThreshold',
      'GreaterThanUpperThreshold',
    ],
    Statistic: ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'],
    TreatMissingData: ['breaching', 'notBreaching', 'ignore', 'missing'],
  },
  'AWS::ElasticLoadBalancingV2::LoadBalancer': { Type: ['application', 'network', 'gateway'], Scheme: ['internet-facing', 'internal'] },
  'AWS::ElasticLoadBalancingV2::TargetGroup': { Protocol: ['HTTP', 'HTTPS', 'TCP', 'TLS', 'UDP', 'TCP_UDP', 'GENEVE'], TargetType: ['instance', 'ip', 'lambda', 'alb'] },
  'AWS::ElasticLoadBalancingV2::Listener': { Protocol: ['HTTP', 'HTTPS', 'TCP', 'TLS', 'UDP', 'TCP_UDP', 'GENEVE'], 'DefaultActions[].Type': ['forward', 'redirect', 'fixed-response', 'authenticate-oidc', 'authenticate-cognito'] },
  'AWS::EC2::LaunchTemplate': { 'LaunchTemplateData.MetadataOptions.HttpTokens': ['optional', 'required'] },
  'AWS::EC2::SecurityGroup': { 'SecurityGroupIngress[].IpProtocol': ['tcp', 'udp', 'icmp', 'icmpv6', '-1'] },
  'AWS::RDS::DBInstance': { StorageType: ['gp2', 'gp3', 'io1', 'io2', 'standard'], Engine: ['postgres', 'mysql', 'mariadb', 'aurora-postgresql', 'aurora-mysql'] },
  'AWS::ElastiCache::ReplicationGroup': { Engine: ['redis', 'valkey', 'memcached'] },
  'AWS::SNS::Subscription': { Protocol: ['http', 'https', 'email', 'email-json', 'sms', 'sqs', 'application', 'lambda', 'firehose'] },
};

function visit(value: unknown, path: string, fn: (path: string, value: unknown) => void): void {
  fn(path, value);
  if (Array.isArray(value)) {
    for (const v of value) visit(v, `${path}[]`, fn);
  }
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k, fn);
}

/** Enum values, parameter defaults against AllowedValues, and ScheduledAction sizes within the group's bounds. */
export function checkCfnSemantics(template: { Parameters?: Record<string, { Default?: unknown; AllowedValues?: unknown[] }>; Resources: Record<string, { Type: string; Properties?: unknown }> }): string[] {
  const out: string[] = [];
  for (const [name, p] of Object.entries(template.Parameters ?? {})) {
    if (p.AllowedValues && p.Default !== undefined && !p.AllowedValues.includes(p.Default)) out.push(`Parameters.${name}: Default "${String(p.Default)}" is not in AllowedValues`);
  }
  for (const [id, resource] of Object.entries(template.Resources)) {
    const enums = CFN_ENUMS[resource.Type] ?? {};
    visit(resource.Properties ?? {}, '', (path, value) => {
      const allowed = enums[path];
      // Intrinsics (Ref, Fn::*) are resolved at deploy time; parameters carry their own AllowedValues.
      if (allowed && (typeof value === 'string' || typeof value === 'number') && !allowed.includes(value)) {
        out.push(`Resources.${id}.Properties.${path}: "${value}" is not one of ${allowed.join(', ')}`);
      }
    });
  }
  const defaultOf = (v: unknown): number | undefined => {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') return Number(v);
    const ref = (v as { Ref?: string })?.Ref;
    const d = ref ? template.Parameters?.[ref]?.Default : undefined;
    return d === undefined ? undefined : Number(d);
  };
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::AutoScaling::ScheduledAction') continue;
    // MinSize is a number or, for the actions back to the floor, {Ref: WebMinSize}: both are checked at their default.
    const props = r.Properties as { AutoScalingGroupName?: { Ref?: string }; MinSize?: unknown };
    const group = props.AutoScalingGroupName?.Ref ? template.Resources[props.AutoScalingGroupName.Ref] : undefined;
    const max = group ? defaultOf((group.Properties as { MaxSize?: unknown }).MaxSize) : undefined;
    const min = defaultOf(props.MinSize);
    if (max !== undefined && min !== undefined && min > max) out.push(`Resources.${id}: MinSize ${min} exceeds the group's MaxSize ${max}`);
  }
  return out;
}

/** Values for cfn-lint where a parameter's default would make a conditional resource look invalid (HTTPS listener). */
export const EXAMPLE_CFN_PARAMETERS = { CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000' };

/**
 * All problems of a template: cfn-lint (critical and warnings) and the semantic checks. cfn-lint
 * evaluates `Ref`s to parameter values, so `parameters` supplies the ones whose default would make a
 * conditional resource look invalid (e.g. an empty CertificateArn).
 */
export function validateCloudFormation(template: Parameters<typeof checkCfnSemantics>[0], parameters: Record<string, unknown> = EXAMPLE_CFN_PARAMETERS): string[] {
  const result = loadCfnLint().validate(template, parameters);
  const lint = [...result.errors.crit, ...result.errors.warn].map((e) => `${e.resource}: ${e.message}`);
  return [...lint, ...checkCfnSemantics(template)];
}
