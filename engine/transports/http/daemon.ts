// Starts the update service: engine from config, token, queue spool, HTTP(S) listener, and a runtime file the CLI finds it by.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type AbuConfig } from '../../config';
import { createEngine, type AbuEngine } from '../../engine';
import { maxStoredLength } from '../../bundle/chunk-layout';
import { MIB } from '../../bundle/framing';
import { resolveToken } from './auth';
import { BundleQueue } from './bundle-queue';
import { QueueStore } from './queue-store';
import { buildHttpServer, type DaemonContext, type HttpServerOptions } from './server';

export interface DaemonOptions {
  configPath: string;
  /** Override config http.host / http.port (port 0 picks a free one). */
  host?: string;
  port?: number;
  download?: HttpServerOptions['download'];
}

export interface Daemon {
  url: string;
  token: string;
  tokenFile: string;
  engine: AbuEngine;
  app: FastifyInstance;
  ctx: DaemonContext;
  close(): Promise<void>;
}

/** Room for header, manifest, signatures and per-image 4 KiB alignment on top of the images themselves. */
const BUNDLE_OVERHEAD = 2 * MIB;

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const config = await loadConfig(o.configPath);
  const engine = await createEngine(o.configPath);
  // Before the first request: status and history already say so when the last daemon was killed mid-operation.
  await engine.reconcile();
  const tokenFile = path.join(config.stateDir, 'http-token');
  const token = await resolveToken(config.http.token, tokenFile);
  // The site layer (etcd, replication, rollouts) loads only when the config has a site section.
  const site = config.site ? new (await import('../../cluster/site-service')).SiteService({ ...config, site: config.site }) : undefined;
  await site?.recover(); // before any transfer can start: what it deletes has no writer
  const { app, ctx } = await buildHttpServer(engine, {
    token,
    uploadLimit: () => alternateCapacity(engine),
    createQueue: (base) => new BundleQueue(new QueueStore(path.join(config.stateDir, 'queue'), config.keyring), base, 'command' in config.reboot),
    https: await readTls(config),
    download: o.download,
    site,
    limits: config.http.limits,
  });
  const url = await app.listen({ host: o.host ?? config.http.host, port: o.port ?? config.http.port });
  await writeRuntimeFile(config, url);
  await ctx.queue?.resume();
  await site?.start();
  return {
    url, token, tokenFile, engine, app, ctx,
    close: async () => {
      await fs.rm(runtimeFile(config), { force: true });
      await site?.stop();
      await app.close();
      await engine.close();
    },
  };
}

/** Bytes the alternate slot can take across its classes, plus the bundle's own framing. */
export async function alternateCapacity(engine: AbuEngine): Promise<number> {
  const { alternate } = await engine.status();
  const slots = engine.parts.slots;
  let total = BUNDLE_OVERHEAD;
  // A zstd image may be stored in slightly more bytes than it has (incompressible chunks): admit the compress bound.
  for (const cls of slots.classes(alternate)) total += maxStoredLength((await slots.resolve(alternate, cls)).size);
  return total;
}

async function readTls(config: AbuConfig): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (!config.http.tls) return undefined;
  return { cert: await fs.readFile(config.http.tls.cert), key: await fs.readFile(config.http.tls.key) };
}

/** Where a running daemon announces its URL (never its token) for `abu` commands on the same machine. */
export function runtimeFile(config: AbuConfig): string {
  return path.join(config.stateDir, 'daemon.json');
}

async function writeRuntimeFile(config: AbuConfig, url: string): Promise<void> {
  await fs.mkdir(config.stateDir, { recursive: true });
  await fs.writeFile(runtimeFile(config), JSON.stringify({ url, pid: process.pid, started: new Date().toISOString() }) + '\n', { mode: 0o644 });
}
