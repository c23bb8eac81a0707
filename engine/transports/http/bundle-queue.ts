// The package queue (product-docs/000): bundles applied strictly in version order, each checked against its predecessor.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbuError, isAbuError } from '../../core/errors';
import type { ApplianceStatus } from '../../facade';
import { checkInstallPolicy, checkIrreversibleAccepted, sortChain } from '../../policy/version-policy';
import { faultPoint } from '../../core/fault-point';
import { cancellable } from './operation-runner';
import type { QueueItem, QueueStore } from './queue-store';
import type { DaemonContext } from './server';

export interface QueueView {
  /** In the order they will be applied, each with the rule it breaks, if any. */
  items: (QueueItem & { problem: string | null })[];
  applying: boolean;
  running: string | null;
}

type Ctx = Omit<DaemonContext, 'queue'>;

const MAX_QUEUED = 8;
const CONFIRM_TIMEOUT_MS = 15 * 60_000;
const CONFIRM_POLL_MS = 1000;

/**
 * Applying means, per package: install into the alternate slot, activate, restart, and continue once the
 * appliance runs that version. A marker file survives the restart of a real appliance so the daemon resumes.
 */
export class BundleQueue {
  private applying = false;

  /**
   * `restartEndsProcess`: a configured reboot command returns at once and the machine goes down moments
   * later, so the loop must stop and leave the marker for resume(); the simulated restart returns after the boot.
   */
  constructor(private readonly store: QueueStore, private readonly ctx: Ctx, private readonly restartEndsProcess: boolean) {}

  async list(): Promise<QueueView> {
    const status = await this.ctx.engine.status();
    const items = sortChain(await this.store.list());
    let installed = runningVersion(status);
    const view = items.map((item) => {
      const problem = chainProblem(item, installed, status);
      installed = item.version;
      return { ...item, problem };
    });
    return { items: view, applying: this.applying, running: this.applying ? (await this.marker()) : null };
  }

  async add(body: Readable, name: string, maxBytes: number, sizeHint?: number): Promise<QueueItem> {
    // Each package may be as large as a slot: a bound on their number bounds the spool's disk use.
    if ((await this.store.list()).length >= MAX_QUEUED) {
      throw new AbuError('ABU_ERR_USAGE', `the queue already holds ${MAX_QUEUED} packages: apply or remove some first`, { details: { limit: MAX_QUEUED } });
    }
    const item = await this.store.add(body, name, maxBytes, sizeHint, (candidate) => this.refuseDuplicate(candidate));
    this.ctx.hub.info(`queued ${item.name}: version ${item.version}`);
    this.ctx.hub.queueChanged();
    return item;
  }

  /**
   * Two packages of one version can never both apply (the second is not newer than the first), and a row the
   * page could only flag would block the whole queue: refuse it on arrival, naming the one already queued.
   */
  private async refuseDuplicate(candidate: QueueItem): Promise<void> {
    const same = (await this.store.list()).find((i) => i.version === candidate.version);
    if (!same) return;
    throw new AbuError('ABU_ERR_QUEUE_DUPLICATE', `the queue already holds version ${candidate.version} (${same.name}); remove that one first to replace it`, { details: { version: candidate.version, id: same.id } });
  }

  async remove(id: string): Promise<void> {
    if (this.applying && (await this.marker()) === id) throw new AbuError('ABU_ERR_BUSY', 'that package is being applied now', { details: { running: id } });
    await this.store.remove(id);
    this.ctx.hub.queueChanged();
  }

  /**
   * Checks the whole chain first, then applies in the background; progress goes to the live log. A queue
   * holding an irreversible release applies only with the operator's explicit acceptance, kept beside the
   * marker so an apply resumed after a restart still has it.
   */
  async apply(acceptIrreversible = false): Promise<QueueView> {
    if (this.applying) throw new AbuError('ABU_ERR_BUSY', 'the queue is already being applied', { details: { running: 'queue' } });
    await this.ctx.runner.assertIdle();
    const view = await this.list();
    if (view.items.length === 0) throw new AbuError('ABU_ERR_USAGE', 'the queue is empty: add packages first');
    const broken = view.items.find((i) => i.problem);
    if (broken) throw new AbuError('ABU_ERR_QUEUE_CHAIN', `cannot apply the queue: ${broken.name} (${broken.version}): ${broken.problem}`, { details: { id: broken.id, version: broken.version } });
    const irreversible = view.items.find((i) => i.irreversible);
    if (irreversible && !acceptIrreversible) checkIrreversibleAccepted(irreversible, (await this.ctx.engine.status()).floor, false);
    await this.setAccepted(acceptIrreversible);
    this.start();
    return { ...view, applying: true };
  }

  /** At daemon start: if a restart interrupted an apply, check where the appliance came up and carry on. */
  async resume(): Promise<void> {
    if ((await this.marker()) !== null) this.start();
  }

  private start(): void {
    this.applying = true;
    this.ctx.hub.queueChanged();
    this.loop()
      .catch((e: Error & { code?: string }) => this.ctx.hub.info(`queue stopped: ${e.message}`, 'error', isAbuError(e) ? e.code : 'ABU_ERR_INTERNAL'))
      .finally(() => {
        this.applying = false;
        this.ctx.hub.queueChanged();
      });
  }

  private async loop(): Promise<void> {
    for (;;) {
      await this.settlePrevious();
      const { items } = await this.list();
      const next = items[0];
      if (!next) {
        await this.setAccepted(false);
        this.ctx.hub.info('queue applied: every package is installed');
        return;
      }
      if (next.problem) throw new AbuError('ABU_ERR_QUEUE_CHAIN', `${next.name} (${next.version}): ${next.problem}`);
      await this.setMarker(next.id);
      faultPoint('queue.after-marker');
      this.ctx.hub.info(`queue: applying ${next.name} (${next.version})`);
      const acceptIrreversible = await this.accepted();
      await this.ctx.runner.run(`install ${next.name} (queue)`, (signal) => this.ctx.engine.install(cancellable(this.store.source(next), signal), { signal, activate: true, acceptIrreversible }));
      faultPoint('queue.before-reboot');
      // Only from here on can the appliance come up on another version because of this package.
      await this.setRestartAsked(true);
      // Restart into the new version; on a real appliance this ends the process and resume() continues.
      await this.ctx.runner.run('reboot', () => this.ctx.engine.reboot());
      faultPoint('queue.between-bundles');
      if (this.restartEndsProcess) {
        this.ctx.hub.info(`queue: restarting into ${next.version}; the queue continues after the restart`);
        return;
      }
    }
  }

  /**
   * After a restart: the package in the marker must now be running, else the appliance rolled back. A marker
   * without a restart asked is a daemon that died mid-apply (killed, power cut): interrupted, not rolled back.
   */
  private async settlePrevious(): Promise<void> {
    const id = await this.marker();
    if (id === null) return;
    const item = (await this.store.list()).find((i) => i.id === id);
    if (!item) return this.setMarker(null);
    if (!(await this.restartAsked())) {
      await this.setMarker(null);
      throw new AbuError('ABU_ERR_INTERRUPTED', `the queue was interrupted (the daemon stopped) while applying ${item.name} (${item.version}), before restarting into it; no rollback happened, it stays queued: apply the queue again`, { details: { id: item.id, version: item.version } });
    }
    try {
      await this.waitForConfirmedBoot(item.version);
    } finally {
      await this.setMarker(null);
    }
    await this.store.remove(item.id);
    this.ctx.hub.info(`queue: ${item.version} is running`);
  }

  /**
   * The next package goes into the other slot, which holds the fallback: never overwrite it before the
   * boot-time check has confirmed the new version (state good). A different version running means a rollback.
   */
  private async waitForConfirmedBoot(version: string): Promise<void> {
    const end = Date.now() + CONFIRM_TIMEOUT_MS;
    for (;;) {
      const status = await this.ctx.engine.status().catch(() => null);
      const booted = status?.slots.find((s) => s.booted);
      if (status && booted?.version !== version) {
        throw new AbuError('ABU_ERR_ROLLBACK', `after installing ${version} the appliance runs ${booted?.version ?? 'an unknown version'}; the queue stops here`);
      }
      if (booted?.state === 'good') return;
      if (Date.now() > end) throw new AbuError('ABU_ERR_HEALTH_CHECK', `${version} was not confirmed good within ${CONFIRM_TIMEOUT_MS / 60000} minutes; the queue stops here`);
      await sleep(CONFIRM_POLL_MS);
    }
  }

  private async marker(): Promise<string | null> {
    const text = await fs.readFile(this.markerPath(), 'utf8').catch(() => '');
    return text.trim() || null;
  }

  /** The marker is the queue view's `running` row: pages reload the queue when it moves. A new one starts without a restart asked. */
  private async setMarker(id: string | null): Promise<void> {
    if (id === null) await fs.rm(this.markerPath(), { force: true });
    await this.setRestartAsked(false);
    if (id !== null) await fs.writeFile(this.markerPath(), `${id}\n`, { mode: 0o600 });
    this.ctx.hub.queueChanged();
  }

  /** Beside the marker: the marked package was installed and its restart asked (a restart may end this process). */
  private async restartAsked(): Promise<boolean> {
    return fs.access(this.markerPath() + '.restart').then(() => true, () => false);
  }

  private async setRestartAsked(yes: boolean): Promise<void> {
    if (yes) await fs.writeFile(this.markerPath() + '.restart', 'restart asked\n', { mode: 0o600 });
    else await fs.rm(this.markerPath() + '.restart', { force: true });
  }

  private async accepted(): Promise<boolean> {
    return fs.access(this.acceptedPath()).then(() => true, () => false);
  }

  private async setAccepted(yes: boolean): Promise<void> {
    if (yes) await fs.writeFile(this.acceptedPath(), 'irreversible releases accepted by the operator\n', { mode: 0o600 });
    else await fs.rm(this.acceptedPath(), { force: true });
  }

  private acceptedPath(): string {
    return path.join(this.store.dir, 'accept-irreversible');
  }

  private markerPath(): string {
    return path.join(this.store.dir, 'applying');
  }
}

function runningVersion(status: ApplianceStatus): string | null {
  return status.slots.find((s) => s.booted)?.version ?? null;
}

/** The rule a package breaks when installed over `installed` (its predecessor in the queue), or null. */
function chainProblem(item: QueueItem, installed: string | null, status: ApplianceStatus): string | null {
  // Unknown running version (factory image without a record): the engine itself checks the first package.
  if (installed === null) return null;
  try {
    checkInstallPolicy(item, { product: status.product, installed, floor: status.floor, strictChain: false, allowDowngrade: false });
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
