// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is the target platform's own interpolation (CloudFormation Fn::Sub, compose variables, App Platform bindings), not a JavaScript template.
/**
 * AWS CloudFormation: the seed's EC2 Auto Scaling group behind an ALB (launch template, ELB health
 * checks, target tracking on CPU, optional request count per target, predictive scaling ForecastOnly
 * by default, scheduled pre-scaling from the plan), a worker group, RDS PostgreSQL Multi-AZ with a
 * read replica, ElastiCache Redis for queues (noeviction) and cache (allkeys-lru), and CloudWatch
 * alarms from the alert table. Intrinsics are written in their long form (`Ref:`, `Fn::GetAtt:`),
 * which plain YAML and JSON tools read without CloudFormation's custom tags.
 */
import { ALERT_RULES, CLOUDWATCH_NAMESPACE, type AlertRule, type CloudWatchComparison, getCloudWatchThreshold } from '../alerts/alert-rules.ts';
import { getRunbookUrl } from '../alerts/runbook-links.ts';
import { AWS_ROLLING_BATCH } from './connection-budget.ts';
import { getTerminationGraceSeconds, type DeploymentSpec } from './deployment-spec.ts';
import type { PrescaleSchedule } from './prescale-plan.ts';
import type { RenderedFile } from './rendered-file.ts';
import { GENERATED_HEADER, toYaml } from './rendered-file.ts';
import { getAllRoleSecretNames, getRoleArgv, getRoleEnv, getRoleSecretNames, getTrustProxyEnv } from './role-env.ts';

type Obj = Record<string, unknown>;

export const AWS_TEMPLATE_PATH = 'deploy/aws/salescale.yaml';

const ref = (name: string) => ({ Ref: name });
const getAtt = (resource: string, attribute: string) => ({ 'Fn::GetAtt': [resource, attribute] });
const sub = (text: string, vars?: Obj) => ({ 'Fn::Sub': vars ? [text, vars] : text });

function parameters(spec: DeploymentSpec): Obj {
  const count = (description: string, value: number) => ({ Type: 'Number', Default: value, MinValue: 0, Description: description });
  return {
    VpcId: { Type: 'AWS::EC2::VPC::Id', Description: 'VPC of the stack' },
    PublicSubnetIds: { Type: 'List<AWS::EC2::Subnet::Id>', Description: 'Subnets of the load balancer (two or more AZs)' },
    PrivateSubnetIds: { Type: 'List<AWS::EC2::Subnet::Id>', Description: 'Subnets of instances, database and Redis (two or more AZs, with a NAT route for image pulls)' },
    ImageUri: { Type: 'String', Default: `${spec.image.repository}:${spec.image.tag}`, Description: 'The Salescale image (one image for web, worker and migrate)' },
    AmiId: { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' },
    WebInstanceType: { Type: 'String', Default: spec.aws.instanceType },
    WorkerInstanceType: { Type: 'String', Default: spec.aws.workerInstanceType },
    WebMinSize: count('Web instances, lower bound (the seed: 2)', spec.web.replicas.min),
    WebMaxSize: count('Web instances, upper bound (the seed: 20)', spec.web.replicas.max),
    WebDesiredCapacity: count('Web instances at creation (the seed: 3)', spec.web.replicas.desired),
    WorkerMinSize: count('Worker instances, lower bound', spec.worker.replicas.min),
    WorkerMaxSize: count('Worker instances, upper bound', spec.worker.replicas.max),
    WorkerDesiredCapacity: count('Worker instances at creation', spec.worker.replicas.desired),
    EnableRequestCountScaling: { Type: 'String', Default: 'false', AllowedValues: ['true', 'false'], Description: 'Add a target tracking policy on ALBRequestCountPerTarget' },
    RequestCountPerTarget: { Type: 'Number', Default: spec.web.autoscaling.requestsPerTargetPerMinute, Description: 'Requests per target per minute for that policy' },
    PredictiveScalingMode: { Type: 'String', Default: spec.aws.predictiveMode, AllowedValues: ['ForecastOnly', 'ForecastAndScale'], Description: 'ForecastOnly until the forecasts have been compared with real load' },
    CertificateArn: { Type: 'String', Default: '', Description: 'ACM certificate for HTTPS (empty: HTTP only)' },
    AppSecretArn: { Type: 'String', Description: `Secrets Manager secret (JSON) with ADMIN_API_TOKEN, SESSION_SECRET, ${getAllRoleSecretNames(spec).join(', ')}` },
    DbInstanceClass: { Type: 'String', Default: spec.aws.dbInstanceClass },
    CacheNodeType: { Type: 'String', Default: spec.aws.cacheNodeType },
    AlarmEmail: { Type: 'String', Default: '', Description: 'Where alarms are sent (empty: no subscription)' },
  };
}

/**
 * RDS for PostgreSQL 15 and later refuses connections without TLS (rds.force_ssl defaults to 1), and pg uses TLS only
 * when the URL asks. verify-full checks the endpoint's certificate against the RDS CAs, which Node does not ship:
 * the boot script fetches AWS's bundle and mounts it where `sslrootcert` names it (pg reads the file).
 */
const RDS_CA_BUNDLE = '/etc/salescale-rds-ca.pem';
const RDS_CA_BUNDLE_URL = 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem';
const RDS_TLS = `sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE}`;

/** The boot script: fetch secrets, write the env file, run one container of the image. */
function userData(spec: DeploymentSpec, role: 'web' | 'worker'): Obj {
  // The ALB appends the client to X-Forwarded-For: believe it from the ALB's nodes (private VPC addresses).
  const env = { ...getRoleEnv(spec, role), ...(role === 'web' ? getTrustProxyEnv(spec) : {}), CLOUDWATCH_EMF_NAMESPACE: CLOUDWATCH_NAMESPACE };
  const port = spec[role].port;
  const caMount = `-v ${RDS_CA_BUNDLE}:${RDS_CA_BUNDLE}:ro`;
  const appSecrets = ['ADMIN_API_TOKEN', 'SESSION_SECRET', ...getRoleSecretNames(spec, role)];
  const lines = [
    '#!/bin/bash',
    'set -euo pipefail',
    'dnf install -y docker jq',
    'systemctl enable --now docker',
    `curl -fsSL --retry 5 ${RDS_CA_BUNDLE_URL} -o ${RDS_CA_BUNDLE}`,
    'secret() { aws secretsmanager get-secret-value --region "${AWS::Region}" --secret-id "$1" --query SecretString --output text; }',
    'DB_SECRET=$(secret "${DbSecretArn}")',
    'APP_SECRET=$(secret "${AppSecretArn}")',
    'DB_USER=$(jq -r .username <<<"$DB_SECRET")',
    'DB_PASS=$(jq -rj .password <<<"$DB_SECRET" | jq -sRr @uri)',
    // Read before the heredoc, with -e: a key missing from the secret stops the boot (set -e ignores a failed read
    // inside the heredoc, and jq -r prints `null` for a missing key: the app started with that as its secret).
    ...appSecrets.map((name) => `${name}=$(jq -er .${name} <<<"$APP_SECRET")`),
    'umask 077',
    'cat > /etc/salescale.env <<ENV',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    'INSTANCE_ID=$(cat /etc/hostname)',
    `DATABASE_URL=postgres://$DB_USER:$DB_PASS@\${DbHost}:\${DbPort}/${spec.name}?${RDS_TLS}`,
    ...(role === 'web' ? [`DATABASE_REPLICA_URL=postgres://$DB_USER:$DB_PASS@\${ReplicaHost}:\${DbPort}/${spec.name}?${RDS_TLS}`] : []),
    'REDIS_URL=rediss://${QueueRedisHost}:${QueueRedisPort}',
    'CACHE_REDIS_URL=rediss://${CacheRedisHost}:${CacheRedisPort}',
    ...appSecrets.map((name) => `${name}=$${name}`),
    'ENV',
    'LOGS="--log-driver awslogs --log-opt awslogs-region=${AWS::Region} --log-opt awslogs-group=${LogGroup}"',
    // Concurrent migrate runs are safe (advisory lock); a failed migration keeps the instance out of service.
    ...(role === 'web' ? [`docker run --rm --env-file /etc/salescale.env ${caMount} $LOGS \${ImageUri} ${getRoleArgv('migrate').join(' ')}`] : []),
    `docker run -d --name salescale-${role} --restart unless-stopped --stop-timeout ${getTerminationGraceSeconds(spec)} --env-file /etc/salescale.env ${caMount} $LOGS -p ${port}:${port} \${ImageUri} ${getRoleArgv(role).join(' ')}`,
  ];
  return {
    'Fn::Base64': sub(`${lines.join('\n')}\n`, {
      DbSecretArn: getAtt('Database', 'MasterUserSecret.SecretArn'),
      DbHost: getAtt('Database', 'Endpoint.Address'),
      DbPort: getAtt('Database', 'Endpoint.Port'),
      ReplicaHost: getAtt('DatabaseReplica', 'Endpoint.Address'),
      QueueRedisHost: getAtt('QueueRedis', 'PrimaryEndPoint.Address'),
      QueueRedisPort: getAtt('QueueRedis', 'PrimaryEndPoint.Port'),
      CacheRedisHost: getAtt('CacheRedis', 'PrimaryEndPoint.Address'),
      CacheRedisPort: getAtt('CacheRedis', 'PrimaryEndPoint.Port'),
    }),
  };
}

function launchTemplate(spec: DeploymentSpec, role: 'web' | 'worker'): Obj {
  return {
    Type: 'AWS::EC2::LaunchTemplate',
    Properties: {
      LaunchTemplateData: {
        ImageId: ref('AmiId'),
        InstanceType: ref(role === 'web' ? 'WebInstanceType' : 'WorkerInstanceType'),
        IamInstanceProfile: { Arn: getAtt('InstanceProfile', 'Arn') },
        SecurityGroupIds: [ref('InstanceSecurityGroup')],
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
        UserData: userData(spec, role),
      },
    },
  };
}

function autoScalingGroup(spec: DeploymentSpec, role: 'web' | 'worker'): Obj {
  const P = role === 'web' ? 'Web' : 'Worker';
  return {
    Type: 'AWS::AutoScaling::AutoScalingGroup',
    UpdatePolicy: {
      AutoScalingRollingUpdate: { MinInstancesInService: spec[role].replicas.min, MaxBatchSize: AWS_ROLLING_BATCH, PauseTime: 'PT5M' },
      // Scheduled actions change MinSize/Desired: a stack update must not reset them mid-sale.
      AutoScalingScheduledAction: { IgnoreUnmodifiedGroupSizeProperties: true },
    },
    Properties: {
      AutoScalingGroupName: sub(`\${AWS::StackName}-${role}`),
      MinSize: ref(`${P}MinSize`),
      MaxSize: ref(`${P}MaxSize`),
      DesiredCapacity: ref(`${P}DesiredCapacity`),
      DefaultInstanceWarmup: spec.aws.instanceWarmupSeconds,
      VPCZoneIdentifier: ref('PrivateSubnetIds'),
      LaunchTemplate: { LaunchTemplateId: ref(`${P}LaunchTemplate`), Version: getAtt(`${P}LaunchTemplate`, 'LatestVersionNumber') },
      ...(role === 'web' ? { TargetGroupARNs: [ref('WebTargetGroup')], HealthCheckType: 'ELB' } : { HealthCheckType: 'EC2' }),
      HealthCheckGracePeriod: spec.aws.healthCheckGracePeriodSeconds,
      MetricsCollection: [{ Granularity: '1Minute' }],
      Tags: [{ Key: 'Name', Value: sub(`\${AWS::StackName}-${role}`), PropagateAtLaunch: true }],
    },
  };
}

function cpuTargetTracking(spec: DeploymentSpec, group: string): Obj {
  return {
    Type: 'AWS::AutoScaling::ScalingPolicy',
    Properties: {
      AutoScalingGroupName: ref(group),
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' }, TargetValue: spec.web.autoscaling.cpuPercent },
    },
  };
}

/**
 * Dimensions an alarm of the table needs, by namespace (see CloudWatchAlarmSpec.note). Salescale's EMF
 * lines (src/platform/metrics/emf.ts) carry the dimension `Role`; the alarms watch the web role.
 */
function alarmDimensions(rule: AlertRule): Obj[] | undefined {
  const ns = rule.cloudwatch?.namespace;
  if (ns === CLOUDWATCH_NAMESPACE) return [{ Name: 'Role', Value: 'web' }];
  if (ns === 'AWS/EC2') return [{ Name: 'AutoScalingGroupName', Value: ref('WebAutoScalingGroup') }];
  if (ns === 'AWS/RDS') return [{ Name: 'DBInstanceIdentifier', Value: ref('Database') }];
  if (ns === 'AWS/ApplicationELB') {
    return [
      { Name: 'LoadBalancer', Value: getAtt('LoadBalancer', 'LoadBalancerFullName') },
      { Name: 'TargetGroup', Value: getAtt('WebTargetGroup', 'TargetGroupFullName') },
    ];
  }
  return undefined;
}

function alarms(rules: readonly AlertRule[], spec: DeploymentSpec): Obj {
  const out: Obj = {};
  const runbookUrl = spec.alerts.runbookUrl;
  for (const rule of rules) {
    const cw = rule.cloudwatch;
    if (!cw) continue;
    const threshold = getCloudWatchThreshold(cw, spec.database.maxConnections);
    const dimensions = alarmDimensions(rule);
    // The seed sends HighCheckoutRate to its scale-up policy: orders lead CPU by minutes. Its
    // HighDBConnections alarm only notifies here: more instances would open more connections.
    const scales = rule.name === 'HighCheckoutRate';
    out[`${rule.name}Alarm`] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: sub(`\${AWS::StackName}-${rule.name}`),
        // Said from the alarm's own figures: a rule's Prometheus summary can name another measure (HighDbConnections:
        // each pool's share there, the database's connection count here) and its action another response.
        AlarmDescription: `${rule.severity}: ${cw.namespace} ${cw.metricName} ${cw.extendedStatistic ?? cw.statistic} ${COMPARISON_SIGNS[cw.comparison]} ${threshold} for ${cw.evaluationPeriods} × ${cw.periodSeconds} s; ${scales ? 'notifies and scales the web group out (WebCheckoutStepScaling)' : 'notifies only'}. Runbook: ${getRunbookUrl(rule.name, runbookUrl)}`,
        Namespace: cw.namespace,
        MetricName: cw.metricName,
        ...(cw.extendedStatistic ? { ExtendedStatistic: cw.extendedStatistic } : { Statistic: cw.statistic }),
        ...(dimensions ? { Dimensions: dimensions } : {}),
        Period: cw.periodSeconds,
        EvaluationPeriods: cw.evaluationPeriods,
        Threshold: threshold,
        ComparisonOperator: cw.comparison,
        TreatMissingData: 'notBreaching',
        AlarmActions: scales ? [ref('AlarmTopic'), ref('WebCheckoutStepScaling')] : [ref('AlarmTopic')],
      },
    };
  }
  return out;
}

const COMPARISON_SIGNS: Record<CloudWatchComparison, string> = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '≥',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '≤',
};

function securityGroup(description: string, ingress: Obj[]): Obj {
  return { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: description, VpcId: ref('VpcId'), SecurityGroupIngress: ingress } };
}

function redisGroup(kind: 'Queue' | 'Cache'): Obj {
  return {
    Type: 'AWS::ElastiCache::ReplicationGroup',
    Properties: {
      ReplicationGroupDescription: sub(`\${AWS::StackName} ${kind.toLowerCase()} Redis`),
      Engine: 'redis',
      EngineVersion: '7.1',
      CacheNodeType: ref('CacheNodeType'),
      NumCacheClusters: 2,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
      CacheParameterGroupName: ref(`${kind}RedisParameterGroup`),
      CacheSubnetGroupName: ref('CacheSubnetGroup'),
      SecurityGroupIds: [ref('CacheSecurityGroup')],
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      Port: 6379,
    },
  };
}

export function buildCloudFormationTemplate(spec: DeploymentSpec, schedule: PrescaleSchedule, rules: readonly AlertRule[] = ALERT_RULES): Obj {
  // The target group's check both routes and, through the group's ELB health checks, replaces instances: it is
  // the liveness check. On /ready, which fails while PostgreSQL or Redis is unreachable, a database outage would
  // have the group replace every instance, each new one failing its boot migration until the database came back
  // (GCP and Azure route on /ready and repair on /health; an ALB has one check). A release that cannot reach the
  // database still stops its rolling update: its boot migration fails and the container never starts. A draining
  // instance is deregistered before it stops. ALB thresholds start at 2.
  const liveness = spec.probes.liveness;
  const scheduled: Obj = {};
  // An action back to the group's floor (after a window, after the sale) sets the group's own parameter: a literal
  // undid an operator's raised WebMinSize/WorkerMinSize. CloudFormation has no max(): a window's MinSize below a
  // raised parameter lowers the floor for that window (docs/deploy-aws.md: raise the spec's min and re-render).
  for (const [group, actions, param] of [
    ['WebAutoScalingGroup', schedule.web.awsActions, 'WebMinSize'],
    ['WorkerAutoScalingGroup', schedule.worker.awsActions, 'WorkerMinSize'],
  ] as const) {
    for (const action of actions) {
      const minSize = action.toFloor ? ref(param) : action.properties.MinSize;
      scheduled[action.logicalId] = {
        Type: 'AWS::AutoScaling::ScheduledAction',
        Properties: { AutoScalingGroupName: ref(group), MinSize: minSize, StartTime: action.properties.StartTime },
      };
    }
  }
  const resources: Obj = {
    LoadBalancerSecurityGroup: securityGroup('HTTP(S) from anywhere to the load balancer', [
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' },
    ]),
    InstanceSecurityGroup: securityGroup('The web port from the load balancer', [
      { IpProtocol: 'tcp', FromPort: spec.web.port, ToPort: spec.web.port, SourceSecurityGroupId: ref('LoadBalancerSecurityGroup') },
    ]),
    DatabaseSecurityGroup: securityGroup('PostgreSQL from the instances', [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: ref('InstanceSecurityGroup') }]),
    CacheSecurityGroup: securityGroup('Redis from the instances', [{ IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, SourceSecurityGroupId: ref('InstanceSecurityGroup') }]),
    LogGroup: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: sub('/${AWS::StackName}/app'), RetentionInDays: 30 } },
    InstanceRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
        ManagedPolicyArns: [sub('arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore'), sub('arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy')],
        Policies: [
          {
            PolicyName: 'read-app-secrets',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [ref('AppSecretArn'), getAtt('Database', 'MasterUserSecret.SecretArn')] }],
            },
          },
        ],
      },
    },
    InstanceProfile: { Type: 'AWS::IAM::InstanceProfile', Properties: { Roles: [ref('InstanceRole')] } },
    WebLaunchTemplate: launchTemplate(spec, 'web'),
    WorkerLaunchTemplate: launchTemplate(spec, 'worker'),
    LoadBalancer: {
      Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
      Properties: {
        Type: 'application',
        Scheme: 'internet-facing',
        Subnets: ref('PublicSubnetIds'),
        SecurityGroups: [ref('LoadBalancerSecurityGroup')],
        // Below the app's keep-alive timeout, so the app never closes a connection the ALB reuses.
        LoadBalancerAttributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '60' }],
      },
    },
    WebTargetGroup: {
      Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
      Properties: {
        VpcId: ref('VpcId'),
        Protocol: 'HTTP',
        Port: spec.web.port,
        TargetType: 'instance',
        HealthCheckPath: liveness.path,
        HealthCheckIntervalSeconds: liveness.periodSeconds,
        HealthCheckTimeoutSeconds: liveness.timeoutSeconds,
        HealthyThresholdCount: Math.max(2, liveness.successThreshold),
        UnhealthyThresholdCount: Math.max(2, liveness.failureThreshold),
        Matcher: { HttpCode: '200' },
        TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(spec.drain.deregistrationDelaySeconds) }],
      },
    },
    HttpListener: {
      Type: 'AWS::ElasticLoadBalancingV2::Listener',
      Properties: { LoadBalancerArn: ref('LoadBalancer'), Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: ref('WebTargetGroup') }] },
    },
    HttpsListener: {
      Type: 'AWS::ElasticLoadBalancingV2::Listener',
      Condition: 'HasCertificate',
      Properties: {
        LoadBalancerArn: ref('LoadBalancer'),
        Port: 443,
        Protocol: 'HTTPS',
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        Certificates: [{ CertificateArn: ref('CertificateArn') }],
        DefaultActions: [{ Type: 'forward', TargetGroupArn: ref('WebTargetGroup') }],
      },
    },
    WebAutoScalingGroup: autoScalingGroup(spec, 'web'),
    WorkerAutoScalingGroup: autoScalingGroup(spec, 'worker'),
    WebCpuTargetTracking: cpuTargetTracking(spec, 'WebAutoScalingGroup'),
    WebRequestCountTargetTracking: {
      Type: 'AWS::AutoScaling::ScalingPolicy',
      Condition: 'UseRequestCountScaling',
      DependsOn: ['HttpListener'],
      Properties: {
        AutoScalingGroupName: ref('WebAutoScalingGroup'),
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: {
          PredefinedMetricSpecification: {
            PredefinedMetricType: 'ALBRequestCountPerTarget',
            ResourceLabel: { 'Fn::Join': ['/', [getAtt('LoadBalancer', 'LoadBalancerFullName'), getAtt('WebTargetGroup', 'TargetGroupFullName')]] },
          },
          TargetValue: ref('RequestCountPerTarget'),
        },
      },
    },
    WebPredictiveScaling: {
      Type: 'AWS::AutoScaling::ScalingPolicy',
      Properties: {
        AutoScalingGroupName: ref('WebAutoScalingGroup'),
        PolicyType: 'PredictiveScaling',
        PredictiveScalingConfiguration: {
          Mode: ref('PredictiveScalingMode'),
          SchedulingBufferTime: 300,
          MaxCapacityBreachBehavior: 'HonorMaxCapacity',
          MetricSpecifications: [{ TargetValue: spec.web.autoscaling.cpuPercent, PredefinedMetricPairSpecification: { PredefinedMetricType: 'ASGCPUUtilization' } }],
        },
      },
    },
    WebCheckoutStepScaling: {
      Type: 'AWS::AutoScaling::ScalingPolicy',
      Properties: {
        AutoScalingGroupName: ref('WebAutoScalingGroup'),
        PolicyType: 'StepScaling',
        AdjustmentType: 'ChangeInCapacity',
        MetricAggregationType: 'Average',
        EstimatedInstanceWarmup: spec.aws.instanceWarmupSeconds,
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 2 }],
      },
    },
    WorkerCpuTargetTracking: cpuTargetTracking(spec, 'WorkerAutoScalingGroup'),
    ...scheduled,
    DatabaseSubnetGroup: { Type: 'AWS::RDS::DBSubnetGroup', Properties: { DBSubnetGroupDescription: sub('${AWS::StackName} database'), SubnetIds: ref('PrivateSubnetIds') } },
    DatabaseParameterGroup: {
      Type: 'AWS::RDS::DBParameterGroup',
      Properties: {
        Description: sub('${AWS::StackName} PostgreSQL'),
        Family: `postgres${spec.aws.postgresVersion}`,
        // The pool sizing of the spec is checked against this figure (see docs/deploy-aws.md).
        Parameters: { max_connections: String(spec.database.maxConnections) },
      },
    },
    Database: {
      Type: 'AWS::RDS::DBInstance',
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
      Properties: {
        Engine: 'postgres',
        EngineVersion: spec.aws.postgresVersion,
        DBInstanceClass: ref('DbInstanceClass'),
        DBName: spec.name,
        MasterUsername: spec.name,
        ManageMasterUserPassword: true,
        AllocatedStorage: '100',
        StorageType: 'gp3',
        StorageEncrypted: true,
        MultiAZ: true,
        BackupRetentionPeriod: 7,
        DeletionProtection: true,
        PubliclyAccessible: false,
        DBSubnetGroupName: ref('DatabaseSubnetGroup'),
        DBParameterGroupName: ref('DatabaseParameterGroup'),
        VPCSecurityGroups: [ref('DatabaseSecurityGroup')],
      },
    },
    DatabaseReplica: {
      Type: 'AWS::RDS::DBInstance',
      Properties: {
        SourceDBInstanceIdentifier: ref('Database'),
        DBInstanceClass: ref('DbInstanceClass'),
        DBParameterGroupName: ref('DatabaseParameterGroup'),
        VPCSecurityGroups: [ref('DatabaseSecurityGroup')],
        PubliclyAccessible: false,
      },
    },
    CacheSubnetGroup: { Type: 'AWS::ElastiCache::SubnetGroup', Properties: { Description: sub('${AWS::StackName} Redis'), SubnetIds: ref('PrivateSubnetIds') } },
    // BullMQ: an evicted key is a lost job, so the queue Redis never evicts.
    QueueRedisParameterGroup: { Type: 'AWS::ElastiCache::ParameterGroup', Properties: { CacheParameterGroupFamily: 'redis7', Description: 'queues: noeviction', Properties: { 'maxmemory-policy': 'noeviction' } } },
    CacheRedisParameterGroup: { Type: 'AWS::ElastiCache::ParameterGroup', Properties: { CacheParameterGroupFamily: 'redis7', Description: 'cache: allkeys-lru', Properties: { 'maxmemory-policy': 'allkeys-lru' } } },
    QueueRedis: redisGroup('Queue'),
    CacheRedis: redisGroup('Cache'),
    AlarmTopic: { Type: 'AWS::SNS::Topic', Properties: { DisplayName: sub('${AWS::StackName} alarms') } },
    AlarmEmailSubscription: { Type: 'AWS::SNS::Subscription', Condition: 'HasAlarmEmail', Properties: { TopicArn: ref('AlarmTopic'), Protocol: 'email', Endpoint: ref('AlarmEmail') } },
    ...alarms(rules, spec),
  };
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `Salescale on EC2 Auto Scaling behind an ALB. ${GENERATED_HEADER} Pre-scaling windows: ${schedule.label}.`,
    Parameters: parameters(spec),
    Conditions: {
      HasCertificate: { 'Fn::Not': [{ 'Fn::Equals': [ref('CertificateArn'), ''] }] },
      HasAlarmEmail: { 'Fn::Not': [{ 'Fn::Equals': [ref('AlarmEmail'), ''] }] },
      UseRequestCountScaling: { 'Fn::Equals': [ref('EnableRequestCountScaling'), 'true'] },
    },
    Resources: resources,
    Outputs: {
      LoadBalancerDnsName: { Value: getAtt('LoadBalancer', 'DNSName') },
      DatabaseEndpoint: { Value: getAtt('Database', 'Endpoint.Address') },
      DatabaseReplicaEndpoint: { Value: getAtt('DatabaseReplica', 'Endpoint.Address') },
      QueueRedisEndpoint: { Value: getAtt('QueueRedis', 'PrimaryEndPoint.Address') },
      CacheRedisEndpoint: { Value: getAtt('CacheRedis', 'PrimaryEndPoint.Address') },
    },
  };
}

export function renderAws(spec: DeploymentSpec, schedule: PrescaleSchedule): RenderedFile[] {
  return [{ path: AWS_TEMPLATE_PATH, format: 'cloudformation', content: toYaml(buildCloudFormationTemplate(spec, schedule)) }];
}
