// The install transaction. The safety order lives here and only here:
//   verify header, signatures and policy (nothing touched) -> mark target bad -> write + verify every chunk
//   -> sync + read-back -> no trailing bytes -> record (with the intent to switch, one write) -> set try-once.
import type { Readable } from 'node:stream';
import { faultPoint } from '../core/fault-point';
import { PROGRESS_SCHEMA, type EventSink, type TransferCounts } from '../core/progress';
import { AbuError } from '../core/errors';
import type { SlotName } from '../core/slot';
import type { AbuConfig } from '../config';
import type { BootFlagBackend } from '../boot/boot-flag-backend';
import { openBundle, type BundleChunk, type Keyring, type OpenedBundle } from '../bundle/bundle-reader';
import { zstdInPlaceMargin } from '../bundle/chunk-layout';
import { DEFAULT_LIMITS, HEADER_SIZE } from '../bundle/framing';
import type { ImageSource } from '../sources/image-source';
import type { SlotHandle, SlotStore, SlotTarget } from '../slots/slot-store';
import { historyEntry, type PendingActivation, type StateStore } from '../state/state-store';
import type { InstallResult } from '../facade';
import { BufferPool } from './buffer-pool';
import { activationIntent, switchBootTo } from './activation';
import { installAdaptive } from './adaptive-install';
import { chunkLength } from './adaptive-plan';
import { CheckpointFile } from './checkpoint';
import { readBackChunks } from './read-back';
import { InstallResume } from './resume';
import { writeImage } from './image-writer';
import { buildInstallPlan, type InstallPlan } from './plan';
import { checkIrreversibleAccepted } from '../policy/version-policy';
import { ProgressMeter } from './progress-meter';

/** The longest head a bundle may have: header, manifest and signature block at their limits. */
const MAX_HEAD_BYTES = HEADER_SIZE + DEFAULT_LIMITS.maxManifestBytes + DEFAULT_LIMITS.maxSignatureBytes;

export interface InstallDeps {
  config: AbuConfig;
  slots: SlotStore;
  boot: BootFlagBackend;
  state: StateStore;
  keyring: Keyring;
  events: EventSink;
}

export interface InstallRequest {
  op: string;
  source: ImageSource;
  booted: SlotName;
  target: SlotName;
  installedVersion: string | null;
  activate: boolean;
  /** The operator confirmed activating an irreversible release (checked before any write). */
  acceptIrreversible: boolean;
  /** Copy or keep the chunks the appliance already holds and fetch only the rest (config install.adaptive). */
  adaptive: boolean;
  signal?: AbortSignal;
}

export async function install(deps: InstallDeps, req: InstallRequest): Promise<InstallResult> {
  const started = Date.now();
  const logAt = (level: 'info' | 'warn', message: string) => deps.events.log({ schema: PROGRESS_SCHEMA, op: req.op, level, message, time: new Date().toISOString() });
  const log = (message: string) => logAt('info', message);
  log(`reading bundle from ${req.source.description}`);
  // Adaptive installs read only the head from the stream when the source can fetch the chunks by range (HTTP).
  const stream = await req.source.open(undefined, req.adaptive ? { headBytes: MAX_HEAD_BYTES } : undefined);
  // Image sizes are checked against the exact target slot in the plan (ABU_ERR_IMAGE_TOO_LARGE), still before any write.
  const bundle = await openBundle(stream, deps.keyring, { idleTimeoutMs: deps.config.install.idleTimeoutSeconds * 1000 });
  try {
    const plan = await planFor(deps, req, bundle);
    if (req.activate) checkIrreversibleAccepted({ version: plan.version, irreversible: plan.irreversible }, (await deps.state.load()).floor, req.acceptIrreversible);
    log(`bundle ${plan.version} signed by ${bundle.signedBy.join(', ')}; installing into slot ${plan.targetSlot}`);
    // Claimed before any flag changes: a target mounted or held by another process (O_EXCL) is refused untouched.
    const handles = await openTargets(deps, plan);
    faultPoint('install.after-open');
    let transfer: TransferCounts | undefined;
    let resume: InstallResume | undefined;
    try {
      resume = await InstallResume.start(new CheckpointFile(deps.config.stateDir), plan, bundle.manifestSha256.toString('hex'), handles, deps.config.install.checkpointSeconds * 1000, logAt);
      await markTargetBad(deps, plan);
      try {
        transfer = await writeAll(deps, req, { bundle, stream }, plan, resume);
      } catch (e) {
        await resume.failed(e);
        await forgetUnverified(deps, plan);
        throw e;
      }
    } finally {
      await resume?.recorder.idle();
      await closeAll(handles);
    }
    const intent = req.activate ? activationIntent(plan.targetSlot, plan.booted, plan.version) : null;
    await recordInstalled(deps, plan, bundle, transfer, intent);
    faultPoint('install.after-record');
    await resume.finished();
    log(`slot ${plan.targetSlot} holds ${plan.version}, verified`);
    if (intent) await activateVerified(deps, plan, intent, log);
    return { slot: plan.targetSlot, version: plan.version, bytesWritten: plan.totalBytes, seconds: (Date.now() - started) / 1000, activated: req.activate, ...(transfer ? { transfer } : {}) };
  } finally {
    bundle.close();
    stream.destroy();
  }
}

async function planFor(deps: InstallDeps, req: InstallRequest, bundle: OpenedBundle): Promise<InstallPlan> {
  const targets: Record<string, SlotTarget> = {};
  for (const cls of deps.slots.classes(req.target)) targets[cls] = await deps.slots.resolve(req.target, cls);
  const s = await deps.state.load();
  return buildInstallPlan(bundle.manifest, {
    booted: req.booted,
    targetSlot: req.target,
    targets,
    policy: { product: deps.config.product, installed: req.installedVersion, floor: s.floor, ...deps.config.policy },
  });
}

/**
 * Before the first byte: a cut from here on must never boot a half-written slot. Flags first: a refused
 * mark-bad leaves the slot's record as it was (its bytes are untouched). Then the record says "incomplete"
 * (verified: false) until this same run verified every byte; only the target's record changes.
 */
async function markTargetBad(deps: InstallDeps, plan: InstallPlan): Promise<void> {
  await deps.boot.markBad(plan.targetSlot);
  await deps.state.update((s) => {
    s.slots[plan.targetSlot] = { ...releaseOf(plan), manifestSha256: '', verified: false };
    if (s.pending?.slot === plan.targetSlot) s.pending = null;
  });
  faultPoint('install.after-mark-bad');
}

/**
 * A failed write leaves the target not bootable and not verified. Under the appliance lock nothing else can
 * have changed it since markTargetBad; this re-asserts it anyway so a failure can never end "verified".
 */
async function forgetUnverified(deps: InstallDeps, plan: InstallPlan): Promise<void> {
  await deps.state
    .update((s) => {
      if (s.slots[plan.targetSlot]?.verified) s.slots[plan.targetSlot] = { ...releaseOf(plan), manifestSha256: '', verified: false };
      if (s.pending?.slot === plan.targetSlot) s.pending = null;
    })
    .catch(() => undefined); // the write failure is what the operator needs to see
  if ((await deps.boot.status().catch(() => [])).some((f) => f.slot === plan.targetSlot && f.state !== 'bad')) {
    await deps.boot.markBad(plan.targetSlot).catch(() => undefined);
  }
}

function releaseOf(plan: InstallPlan): { version: string; description: string; irreversible: boolean; installedAt: string } {
  return { version: plan.version, description: plan.description, irreversible: plan.irreversible, installedAt: new Date().toISOString() };
}

/** Opens every planned target for writing, in plan order; on a refusal closes the ones already open. */
async function openTargets(deps: InstallDeps, plan: InstallPlan): Promise<SlotHandle[]> {
  const handles: SlotHandle[] = [];
  try {
    for (const planned of plan.images) handles.push(await deps.slots.openForWrite(planned.target, plan.booted));
  } catch (e) {
    await closeAll(handles);
    throw e;
  }
  return handles;
}

async function closeAll(handles: SlotHandle[]): Promise<void> {
  const results = await Promise.allSettled(handles.map((h) => h.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Streams every image into its target (or adaptively: only what the appliance lacks); ends with the bundle checked to its end. */
async function writeAll(deps: InstallDeps, req: InstallRequest, src: { bundle: OpenedBundle; stream: Readable }, plan: InstallPlan, resume: InstallResume): Promise<TransferCounts | undefined> {
  const chunkMax = Math.max(...plan.images.map((i) => i.entry.chunkSize));
  // Room past each chunk for its stored bytes when an image is zstd: decompressed in place (decompress-ahead.ts).
  const zstd = plan.images.some((i) => i.entry.compression === 'zstd');
  const pool = BufferPool.acquire(chunkMax + (zstd ? zstdInPlaceMargin(chunkMax) : 0), deps.config.install.inFlightChunks + 1);
  try {
    const log = (message: string) => deps.events.log({ schema: PROGRESS_SCHEMA, op: req.op, level: 'info', message, time: new Date().toISOString() });
    const held = await resume.held(plan, pool, req.signal, log);
    return await writeImages(deps, req, src, plan, { handles: resume.handles, held, onHeld: (k, h) => resume.recorder.markHeld(k, h) }, pool);
  } finally {
    pool.release();
  }
}

/**
 * Every image into its target: adaptively (only what the appliance lacks), or streamed whole except the chunks a
 * checkpoint's re-read found in place (`held`: skipped in the bundle, not read back). Ends with the bundle checked
 * to its end. Transfer counts are returned for adaptive and resumed installs.
 */
async function writeImages(deps: InstallDeps, req: InstallRequest, src: { bundle: OpenedBundle; stream: Readable }, plan: InstallPlan, t: { handles: SlotHandle[]; held: boolean[][]; onHeld: (k: number, held: boolean[]) => void }, pool: BufferPool): Promise<TransferCounts | undefined> {
  const { bundle } = src;
  const meter = new ProgressMeter(deps.events, req.op, plan.totalBytes);
  if (req.adaptive) return installAdaptive(deps, { op: req.op, ...src, bundleSize: req.source.sizeHint, plan, targets: t.handles, readBack: deps.config.install.readBack, resumed: t.held, onHeld: t.onHeld, pool, meter, signal: req.signal });
  const resumed = t.held.some((h) => h.some(Boolean));
  const counts: TransferCounts = { fetched: 0, copied: 0, skipped: 0 };
  const imageIndex = new Map(plan.images.map((p, k) => [p.entry.name, k]));
  meter.phase('writing');
  let index = 0;
  for await (const image of bundle.images({ allocate: (n) => pool.take(n), decompressAhead: pool.ahead(), ...(resumed ? { skip: (e, i) => t.held[imageIndex.get(e.name) ?? -1]?.[i] === true } : {}) })) {
    const planned = plan.images[index];
    const handle = t.handles[index];
    const held = t.held[index++];
    if (!handle.direct) deps.events.log({ schema: PROGRESS_SCHEMA, op: req.op, level: 'warn', message: `O_DIRECT refused on ${planned.target.device} (${handle.directFallbackReason}); writing through the page cache`, time: new Date().toISOString() });
    const kept = held.reduce((n, h, i) => n + (h ? chunkLength(image.entry, i) : 0), 0);
    counts.skipped += kept;
    meter.add(kept, 'writing', image.entry.name);
    await writeImage(image.entry, countedChunks(image.chunks, counts), handle, { pool, meter, readBack: deps.config.install.readBack, signal: req.signal, ...(kept > 0 ? { readBackChunks: readBackChunks(image.entry, handle, held) } : {}) });
  }
  if (index !== plan.images.length) throw new AbuError('ABU_ERR_BUNDLE_TRUNCATED', `bundle delivered ${index} of ${plan.images.length} images`);
  await bundle.finish();
  return resumed ? counts : undefined;
}

async function* countedChunks(chunks: AsyncIterable<BundleChunk>, counts: TransferCounts): AsyncGenerator<BundleChunk> {
  for await (const c of chunks) {
    counts.fetched += c.data.length;
    yield c;
  }
}

/**
 * The release verified, and with it (when activating) the intent to switch: one atomic write instead of two. A cut
 * before it leaves the target incomplete; a cut after it is the state a cut just before the flag write always left
 * (verified release, a switch the bootloader has not seen), so joining them removes a replace (two fsyncs), not a safe state.
 */
async function recordInstalled(deps: InstallDeps, plan: InstallPlan, bundle: OpenedBundle, transfer: TransferCounts | undefined, intent: PendingActivation | null): Promise<void> {
  const how = transfer ? `; ${transfer.fetched} fetched, ${transfer.copied} copied from slot ${plan.booted}, ${transfer.skipped} already in place` : '';
  await deps.state.update((s) => {
    s.slots[plan.targetSlot] = { ...releaseOf(plan), manifestSha256: bundle.manifestSha256.toString('hex'), verified: true };
    s.history.push(historyEntry('install', plan.targetSlot, `installed ${plan.version} (${plan.totalBytes} bytes, verified${how})`, { version: plan.version, ...(transfer ? { transfer } : {}) }));
    if (intent) s.pending = intent;
  });
}

/** Only after the whole image verified (and the intent recorded): the bootloader tries the new slot a limited number of times. */
async function activateVerified(deps: InstallDeps, plan: InstallPlan, intent: PendingActivation, log: (m: string) => void): Promise<void> {
  await switchBootTo(deps, intent, `slot ${plan.targetSlot} (${plan.version}) will be tried on the next boot`);
  log(`slot ${plan.targetSlot} activated: the next boot tries ${plan.version}; ${plan.booted} stays as the fallback`);
}
