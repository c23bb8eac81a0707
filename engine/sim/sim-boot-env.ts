// First-boot boot flags for a fresh appliance: a redundant U-Boot env where slot A is good and B unbootable.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ubootEnvEncode } from '../../native/bootenv';
import { loadConfig } from '../config';
import { loadFwEnvConfig } from '../boot/fw-env-config';
import { readGpt } from '../slots/gpt';

/** 16 KiB per copy, as in RAUC's integration example (CONFIG_ENV_SIZE=0x4000). */
export const SIM_ENV_SIZE = 0x4000;

/** fw_env.config for a redundant env: two copies back to back from `offset` of `device`. */
export async function writeFwEnvConfig(file: string, device: string, offset: number, redundant: boolean): Promise<void> {
  const line = (at: number) => `${device}\t0x${at.toString(16)}\t0x${SIM_ENV_SIZE.toString(16)}`;
  const lines = ['# device offset size (libubootenv fw_env.config; written by abu)', line(offset)];
  if (redundant) lines.push(line(offset + SIM_ENV_SIZE));
  await fs.writeFile(file, lines.join('\n') + '\n');
}

/** The factory env: BOOT_ORDER=A with full tries, B out of the order. Both copies valid, copy 0 current. */
export async function initializeBootEnv(configPath: string, goodSlot = 'A'): Promise<void> {
  const config = await loadConfig(configPath);
  const fwEnvConfig = config.bootloader.options.fwEnvConfig as string;
  const { copies } = await loadFwEnvConfig(fwEnvConfig);
  const attempts = (config.bootloader.attempts ?? 3).toString(16);
  const entries = [`BOOT_ORDER=${goodSlot}`, ...config.slots.map((s) => `BOOT_${s.name}_LEFT=${s.name === goodSlot ? attempts : '0'}`)];
  const redundant = copies.length === 2;
  for (const [i, copy] of copies.entries()) {
    const bytes = ubootEnvEncode(entries, { redundant, size: copy.size, flags: redundant ? 1 - i : 0 });
    const fh = await fs.open(copy.device, 'r+');
    try {
      await fh.write(bytes, 0, bytes.length, copy.offset < 0 ? (await fh.stat()).size + copy.offset : copy.offset);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

/** The simulated appliance: env copies at the start of GPT partition 1 ("env") of its disk image. */
export async function initializeSimBootEnv(dir: string, diskImage: string): Promise<void> {
  const env = (await readGpt(diskImage)).find((p) => p.number === 1)!;
  await writeFwEnvConfig(path.join(dir, 'fw_env.config'), path.basename(diskImage), env.offset, true);
  await initializeBootEnv(path.join(dir, 'config.json'));
}
