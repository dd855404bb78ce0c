import { statfs } from 'node:fs/promises';
import client from 'prom-client';

/**
 * Size and free space of the filesystem holding the data directory, read at scrape time. Left out
 * when the directory does not exist (an instance without local data reports no disk figures).
 */
export function observeDataDirectory(registry: client.Registry, dataDir: string): void {
  const read = () => statfs(dataDir).catch(() => undefined);
  new client.Gauge({
    name: 'data_dir_filesystem_size_bytes',
    help: 'Size of the filesystem holding DATA_DIR',
    labelNames: ['path'],
    registers: [registry],
    async collect() {
      this.reset();
      const stats = await read();
      if (stats) this.set({ path: dataDir }, stats.blocks * stats.bsize);
    },
  });
  new client.Gauge({
    name: 'data_dir_filesystem_available_bytes',
    help: 'Space available to unprivileged users on the filesystem holding DATA_DIR',
    labelNames: ['path'],
    registers: [registry],
    async collect() {
      this.reset();
      const stats = await read();
      if (stats) this.set({ path: dataDir }, stats.bavail * stats.bsize);
    },
  });
}
