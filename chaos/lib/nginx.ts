import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/platform/local/local-stack.ts';
import { spawnGroup, sleep, until, type GroupProcess } from './processes.ts';

/** Where nginx is, or undefined (Debian: apt-get install nginx-light). */
export function nginxBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

export interface LoadBalancerOptions {
  /** Upstream ports (127.0.0.1). */
  backends: number[];
  /**
   * Idle timeout of nginx's keep-alive connections to the instances (`keepalive_timeout` in the
   * upstream block). Must stay below the instances' KEEP_ALIVE_TIMEOUT_MS, or nginx may send a request
   * on a connection the instance is closing: a 502 for a POST (nginx does not resend those).
   */
  upstreamIdleTimeoutMs: number;
}

export interface LoadBalancer {
  url: string;
  /** Rewrites the upstream list and reloads nginx (SIGHUP): new workers use it, old ones finish their requests. */
  setBackends(ports: number[]): Promise<void>;
  /** `status upstream_status` of every request nginx logged, for counting the LB's own 502/504s. */
  accessLog(): Promise<string[]>;
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

function config(dir: string, port: number, options: LoadBalancerOptions): string {
  const servers = options.backends.map((backend) => `    server 127.0.0.1:${backend} max_fails=1 fail_timeout=2s;`).join('\n');
  return `# Written by the chaos suite (chaos/lib/nginx.ts).
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 4096; }
http {
  log_format chaos '$status $upstream_status $request_method $uri';
  access_log ${dir}/access.log chaos;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_timeout 75s;
  upstream salescale {
${servers}
    keepalive 64;
    keepalive_timeout ${Math.max(1, Math.round(options.upstreamIdleTimeoutMs))}ms;
  }
  server {
    listen 127.0.0.1:${port} reuseport;
    location / {
      proxy_pass http://salescale;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_connect_timeout 2s;
      proxy_read_timeout 10s;
      # Connection refused / reset before the request was sent: try the next instance (POSTs too, as
      # nothing reached the first one). A request already sent is never resent.
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 3;
    }
  }
}
`;
}

/** A real nginx (Debian's package) in front of the instances, on a free loopback port. */
export async function startLoadBalancer(options: LoadBalancerOptions): Promise<LoadBalancer> {
  const binary = nginxBinary();
  if (!binary) throw new Error('nginx is not installed (Debian: apt-get install nginx-light)');
  const dir = await mkdtemp(path.join(tmpdir(), 'salescale-chaos-nginx-'));
  await mkdir(path.join(dir, 'tmp'));
  const port = await freePort();
  const file = path.join(dir, 'nginx.conf');
  let current = options;
  await writeFile(file, config(dir, port, current));
  const server: GroupProcess = spawnGroup(binary, ['-p', dir, '-c', file]);
  const url = `http://127.0.0.1:${port}`;
  await until(
    'nginx to listen',
    async () => {
      if (server.child.exitCode !== null) throw new Error(`nginx exited: ${server.output()}`);
      await fetch(`${url}/health`);
      return true;
    },
    10_000,
  );
  return {
    url,
    async setBackends(ports) {
      current = { ...current, backends: ports };
      await writeFile(file, config(dir, port, current));
      server.signal('SIGHUP');
      // The new configuration is live once the master has started new workers (a few ms).
      await sleep(200);
    },
    async accessLog() {
      return (await readFile(path.join(dir, 'access.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    },
    errorLog: () => readFile(path.join(dir, 'error.log'), 'utf8').catch(() => ''),
    async stop() {
      await server.stop('SIGTERM', 5000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
