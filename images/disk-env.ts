// Reads and writes the bootloader variables inside a disk image from the host, with the real tools (fw_printenv, grub-editenv).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { BootloaderKind, ImageSet } from './image-set';

export interface DiskBootEnv {
  read(): Record<string, string>;
  /** Sets the variables in one write of the store (what a factory or a test fixture does). */
  set(vars: Record<string, string>): void;
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
      const script = Object.entries(vars).map(([k, v]) => `${k} ${v}\n`).join('');
      execFileSync('fw_setenv', ['-c', config, '-s', '-'], { input: script });
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
      execFileSync('grub-editenv', [local, 'set', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)]);
      execFileSync('mcopy', ['-o', '-i', image, local, remote]);
    },
  };
}
