import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCpuLimitCores, getMemoryLimitBytes } from './process-limits.ts';

const files = (map: Record<string, string>) => (path: string) => {
  const content = map[path];
  if (content === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
  return content;
};

describe('process limits', () => {
  it('reads the CPU quota from cgroup v2, then v1, else assumes one core', () => {
    assert.equal(getCpuLimitCores(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' })), 1.5);
    assert.equal(getCpuLimitCores(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' })), 1);
    assert.equal(getCpuLimitCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' })), 0.5);
    assert.equal(getCpuLimitCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' })), 1);
    assert.equal(getCpuLimitCores(files({})), 1);
  });
  it('reports a memory limit no larger than physical memory', () => {
    const limit = getMemoryLimitBytes();
    assert.ok(limit > 0 && limit >= process.memoryUsage().rss);
  });
});
