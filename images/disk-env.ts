// Reads and writes the bootloader variables inside a disk image from the host, with the real tools (fw_printenv, grub-editenv).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { BootloaderKind, ImageSet } from './image-set';

export interface DiskBootEnv {
  read(): Record<string, string>;
  /** Sets (string) or removes (null) variables in one write of the store (what a factory or a test fixture does). */
  set(vars: Record<string, string | null>): void;
}

/** Makes the env hold exactly `vars`: everything else is removed, in the same single write. */
export function replaceBootEnv(env: DiskBootEnv, vars: Record<string, string>): void {
  const removed = Object.fromEntries(Object.keys(env.read()).filter((k) => !(k in vars)).map((k) => [k, null]));
  env.set({ ...removed, ...vars });
}

/** The env of a disk built by images/build.sh, through the tool that bootloader's users use. */
export function diskBootEnv(images: ImageSet, kind: BootloaderKind, disk: string): DiskBootEnv {
  return kind === 'uboot' ? ubootEnv(images, disk) : grubEnv(images, disk);
}

function parseAssignments(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#')) vars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return vars;
}

/** libubootenv accepts a plain file as the device; two lines make it use the redundant layout. */
function ubootEnv(images: ImageSet, disk: string): DiskBootEnv {
  const { envOffsets, envSize } = images.manifest.uboot;
  const config = `${disk}.fw_env.config`;
  const hex = (n: number): string => `0x${n.toString(16)}`;
  fs.writeFileSync(config, envOffsets.map((o) => `${disk} ${hex(o)} ${hex(envSize)}\n`).join(''));
  return {
    read: () => parseAssignments(execFileSync('fw_printenv', ['-c', config], { encoding: 'utf8' })),
    set: (vars) => {
      // libubootenv's script lines are "name=value"; an empty value removes the variable (as U-Boot's setenv).
      const script = `${disk}.fw_setenv-script`;
      fs.writeFileSync(script, Object.entries(vars).map(([k, v]) => `${k}=${v ?? ''}\n`).join(''));
      execFileSync('fw_setenv', ['-c', config, '-s', script]);
    },
  };
}

/** The grubenv file lives on the FAT boot partition; mtools copies it out and back without a loop mount. */
function grubEnv(images: ImageSet, disk: string): DiskBootEnv {
  const image = `${disk}@@${images.manifest.grub.bootPartOffset}`;
  const remote = `::${images.manifest.grub.grubenvPath}`;
  const local = `${disk}.grubenv`;
  const fetch = (): void => { execFileSync('mcopy', ['-n', '-o', '-i', image, remote, local]); };
  return {
    read: () => {
      fetch();
      return parseAssignments(execFileSync('grub-editenv', [local, 'list'], { encoding: 'utf8' }));
    },
    set: (vars) => {
      fetch();
      const entries = Object.entries(vars);
      const removed = entries.filter(([, v]) => v === null).map(([k]) => k);
      const kept = entries.filter((e): e is [string, string] => e[1] !== null).map(([k, v]) => `${k}=${v}`);
      if (removed.length > 0) execFileSync('grub-editenv', [local, 'unset', ...removed]);
      if (kept.length > 0) execFileSync('grub-editenv', [local, 'set', ...kept]);
      execFileSync('mcopy', ['-o', '-i', image, local, remote]);
    },
  };
}
