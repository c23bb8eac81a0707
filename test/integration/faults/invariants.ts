// The campaign's invariants on a simulated appliance after a kill: what the slots hold, what the bootloader would pick,
// and what status and history claim. Each check returns violations as sentences instead of throwing at the first.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { SchemeBackend } from '../../../engine/boot/scheme-backend';
import { createEngine } from '../../../engine/engine';
import type { ApplianceStatus, HistoryEntry } from '../../../engine/facade';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { slotBytes, slotHash } from '../../helpers/sim-fixture';

type Slot = 'A' | 'B';

/** The signed images of the demo releases (and the factory image): SHA-256 of the image bytes -> label. */
export class KnownImages {
  private constructor(private readonly byHash: Map<string, string>, readonly size: number) {}

  /** The images every appliance of `sims` was made with (one size for all). */
  static async load(sims: SimAppliance[]): Promise<KnownImages> {
    const byHash = new Map<string, string>();
    let size = 0;
    for (const sim of sims) {
      const dir = path.join(sim.dir, 'images');
      for (const name of await fs.readdir(dir)) {
        const bytes = await fs.readFile(path.join(dir, name));
        size = bytes.length;
        byHash.set(sha256(bytes), name.replace(/^rootfs-/, '').replace(/\.img$/, ''));
      }
    }
    return new KnownImages(byHash, size);
  }

  /** The release whose whole image the slot holds ("1.1.0", "1.1.0-broken"), or null for anything else. */
  async inSlot(sim: SimAppliance, slot: Slot): Promise<string | null> {
    return this.byHash.get(sha256(await slotBytes(sim, slot, this.size))) ?? null;
  }
}

/** What must never change while the appliance runs from it: the booted slot and its bytes. */
export interface Booted {
  slot: Slot;
  hash: string;
}

export async function bootedNow(sim: SimAppliance): Promise<Booted> {
  const slot = /abu\.slot=([AB])/.exec(await fs.readFile(path.join(sim.dir, 'cmdline'), 'utf8'))![1] as Slot;
  return { slot, hash: await slotHash(sim, slot) };
}

/**
 * The invariants after a kill (and again after the restart):
 * - the slot that was booted when the process died holds the same bytes;
 * - the simulated bootloader's selection (the scheme's rules, without saving) picks a slot holding a whole signed image,
 *   and every other slot its flags leave bootable (a fallback) holds one too;
 * - status never shows a slot verified or good, or an activation pending, that does not hold the whole image it names.
 */
export async function checkInvariants(sim: SimAppliance, images: KnownImages, booted: Booted): Promise<string[]> {
  const v: string[] = [];
  if ((await slotHash(sim, booted.slot)) !== booted.hash) v.push(`the booted slot ${booted.slot} changed`);
  const engine = await createEngine(sim.configPath);
  const backend = engine.parts.boot;
  if (!(backend instanceof SchemeBackend)) throw new Error('the campaign needs a scheme backend to simulate the bootloader');
  const picked = backend.scheme.boot((await backend.stateStore.load()).state).slot as Slot | null;
  if (!picked) v.push('the bootloader finds no slot to boot');
  else if (!(await images.inSlot(sim, picked))) v.push(`the bootloader picks slot ${picked}, which holds no whole signed image`);
  // Its fallbacks too: any slot the flags leave bootable may be started once the picked one fails.
  for (const f of await backend.status()) {
    if (f.state !== 'bad' && !(await images.inSlot(sim, f.slot as Slot))) v.push(`slot ${f.slot} is bootable (${f.state}) but holds no whole signed image`);
  }
  const status = await engine.status();
  for (const s of status.slots) {
    const held = await images.inSlot(sim, s.name as Slot);
    if (s.image === 'verified' && held !== s.version && !(held === `${s.version}-broken`)) v.push(`status says slot ${s.name} holds ${s.version}, verified; it holds ${held ?? 'no whole image'}`);
    if (s.state === 'good' && !held) v.push(`status says slot ${s.name} is good; it holds no whole image`);
  }
  if (status.pending && !(await images.inSlot(sim, status.pending.slot as Slot))?.startsWith(status.pending.version)) {
    v.push(`status says ${status.pending.version} in slot ${status.pending.slot} is pending; the slot does not hold it`);
  }
  await engine.close();
  return v;
}

/** What history must say about the case: an interrupted operation as interrupted, never as a failure or a rollback. */
export interface HistoryExpectation {
  /** An operation held the appliance lock when the process died: one 'interrupted' entry ('maybe': a race decides). */
  interrupted: boolean | 'maybe';
  /** A rollback really happened in this case (boot-check found the activated slot did not come up). */
  rollbacks?: number;
}

export async function checkHistory(sim: SimAppliance, expect: HistoryExpectation): Promise<string[]> {
  const engine = await createEngine(sim.configPath);
  const history: HistoryEntry[] = await engine.history(500);
  await engine.close();
  const v: string[] = [];
  const count = (k: HistoryEntry['kind']) => history.filter((h) => h.kind === k).length;
  const allowed = expect.interrupted === 'maybe' ? [0, 1] : [expect.interrupted ? 1 : 0];
  if (!allowed.includes(count('interrupted'))) v.push(`history has ${count('interrupted')} interrupted entries, expected ${allowed.join(' or ')}`);
  if (count('rollback') !== (expect.rollbacks ?? 0)) v.push(`history has ${count('rollback')} rollbacks, expected ${expect.rollbacks ?? 0}`);
  if (count('install-failed') > 0) v.push('history reports a failed install; the process was killed, it did not fail');
  return v;
}

/** Booted on `version`, confirmed good by boot-check, nothing pending. */
export function runsConfirmed(status: ApplianceStatus, version: string): boolean {
  const booted = status.slots.find((s) => s.booted)!;
  return booted.version === version && booted.state === 'good' && !status.pending;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
