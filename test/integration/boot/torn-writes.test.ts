// Power cut inside every env write: replay each write sector by sector (and with unflushed sectors dropped) onto
// a copy of the image; abu and the bootloader's own tool must read the old state or the new one, nothing else.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BootFlagBackend } from '../../../engine/boot/boot-flag-backend';
import { ENV_SECTOR, type EnvWrite } from '../../../engine/boot/env-store';
import { createBootFlagBackend } from '../../../engine/boot/registry';
import type { SchemeBackend } from '../../../engine/boot/scheme-backend';
import { SimulatedBootloader } from '../../../engine/boot/simulated-bootloader';
import {
  configFor, HEALTHY, makeAndroidMisc, makeGrubEnv, makeUbootImage, recordedBackend, tempDir, writeFwEnvConfig, type BootKind,
} from '../../contract/boot-fixtures';
import { haveTools, parseListing, rng, tool } from './tools';

interface TornCase {
  kind: BootKind;
  /** The file the writes land in. */
  image: string;
  /** Config file for the backend (fw_env.config for uboot, else the image). */
  configFile: string;
  /** Tool reading an image copy: fw_printenv / grub-editenv list; none for Android. */
  toolRead?: (copy: string) => Promise<Record<string, string>>;
  /** In-place stores: abu must keep every update to one sector, the unit a disk writes atomically. */
  inPlace: boolean;
}

type Op = [string, (b: BootFlagBackend, boot: SimulatedBootloader) => Promise<unknown>];
const OPS: Op[] = [
  ['markBad B', (b) => b.markBad('B')],
  ['activate B', (b) => b.activate('B')],
  ['boot', (_, s) => s.boot()],
  ['boot', (_, s) => s.boot()],
  ['markGood B', (b) => b.markGood('B')],
  ['markBad A', (b) => b.markBad('A')],
  ['activate A', (b) => b.activate('A')],
  ['boot', (_, s) => s.boot()],
  ['markGood A', (b) => b.markGood('A')],
];

/** Split writes into whole sectors in issue order: the units a disk may or may not have persisted at a cut. */
function sectors(writes: EnvWrite[]): EnvWrite[] {
  return writes.flatMap((w) =>
    Array.from({ length: Math.ceil(w.bytes.length / ENV_SECTOR) }, (_, i) => ({
      device: w.device, position: w.position + i * ENV_SECTOR, bytes: w.bytes.subarray(i * ENV_SECTOR, (i + 1) * ENV_SECTOR),
    })),
  );
}

async function abuState(kind: BootKind, configFile: string): Promise<Record<string, string>> {
  const backend = createBootFlagBackend(configFor(kind, configFile)) as SchemeBackend<unknown, unknown>;
  return backend.scheme.describe((await backend.stateStore.load()).state);
}

async function makeCase(kind: BootKind, redundant: boolean): Promise<TornCase> {
  const dir = await tempDir('abu-torn-');
  if (kind === 'uboot') {
    const configFile = await makeUbootImage(dir, HEALTHY.uboot, { redundant, flags: 254 }); // crosses the 255 -> 0 wrap
    const toolRead = async (copy: string) =>
      parseListing(await tool('fw_printenv', ['-c', await writeFwEnvConfig(path.dirname(copy), copy, redundant ? 2 : 1, 'cut.config')]));
    return { kind, image: path.join(dir, 'disk.img'), configFile, toolRead, inPlace: !redundant };
  }
  if (kind === 'grub') {
    const image = await makeGrubEnv(dir, HEALTHY.grub);
    return { kind, image, configFile: image, toolRead: async (copy) => parseListing(await tool('grub-editenv', [copy, 'list'])), inPlace: true };
  }
  const image = await makeAndroidMisc(dir, HEALTHY.android);
  return { kind, image, configFile: image, inPlace: true };
}

/** Order-free form for comparing states (fw_printenv lists variables sorted). */
const canonical = (s: Record<string, string>) => JSON.stringify(Object.entries(s).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Read a cut image with abu (and the tool) and require exactly the old or the new state. */
async function checkCut(c: TornCase, bytes: Buffer, old: Record<string, string>, now: Record<string, string>, what: string) {
  const dir = await tempDir('abu-cut-');
  const copy = path.join(dir, path.basename(c.image));
  await fs.writeFile(copy, bytes);
  const cfg = c.kind === 'uboot' ? await writeFwEnvConfig(dir, copy, (await fs.readFile(c.configFile, 'utf8')).trim().split('\n').length - 1) : copy;
  const seen = canonical(await abuState(c.kind, cfg));
  assert.ok([old, now].some((s) => canonical(s) === seen), `abu after ${what}: ${seen}`);
  if (c.toolRead) {
    const vars = canonical(await c.toolRead(copy));
    assert.ok([old, now].some((s) => canonical(s) === vars), `tool after ${what}: ${vars}`);
  }
}

async function walk(c: TornCase): Promise<number> {
  const log: EnvWrite[][] = [];
  const backend = recordedBackend(configFor(c.kind, c.configFile), log);
  const boot = new SimulatedBootloader(backend);
  const rand = rng(1234);
  let cuts = 0;
  for (const [name, op] of OPS) {
    const before = await fs.readFile(c.image);
    const old = await abuState(c.kind, c.configFile);
    const groups = log.length;
    await op(backend, boot);
    if (log.length === groups) continue; // a boot that saved nothing (Android, proven slot)
    assert.equal(log.length, groups + 1, `${name}: exactly one env write`);
    const now = await abuState(c.kind, c.configFile);
    const units = sectors(log[log.length - 1]);
    if (c.inPlace) assert.equal(units.length, 1, `${name}: an in-place update rewrites exactly one sector`);
    const apply = (keep: (i: number) => boolean) => {
      const img = Buffer.from(before);
      units.forEach((u, i) => keep(i) && u.bytes.copy(img, u.position));
      return img;
    };
    for (let k = 0; k <= units.length; k++, cuts++) await checkCut(c, apply((i) => i < k), old, now, `${name}, cut after ${k}/${units.length} sectors`);
    for (let r = 0; r < 6 && units.length > 1; r++, cuts++) await checkCut(c, apply(() => rand(2) === 1), old, now, `${name}, random sectors dropped`);
  }
  return cuts;
}

describe('torn env writes: every sector cut reads as the old or the new state', function () {
  before(async function () {
    if (!(await haveTools('fw_printenv', 'grub-editenv'))) this.skip(); // CI installs libubootenv-tool and grub-common
  });

  it('U-Boot redundant env (flags crossing 255 -> 0), read by abu and fw_printenv', async () => {
    assert.ok((await walk(await makeCase('uboot', true))) > 200);
  });

  it('U-Boot single env: abu writes only the changed sector, so each update is one atomic sector write', async () => {
    assert.ok((await walk(await makeCase('uboot', false))) >= OPS.length * 2 - 2);
  });

  it('GRUB env block: the update fits in one sector, read by abu and grub-editenv', async () => {
    assert.ok((await walk(await makeCase('grub', false))) > 10);
  });

  it('Android bootloader_control: one 32-byte write inside one sector', async () => {
    assert.ok((await walk(await makeCase('android', false))) > 5);
  });
});
