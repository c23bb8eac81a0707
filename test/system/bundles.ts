// Signed test bundles made with the host's abu from the built slot images; cached next to the images (same inputs, same bytes).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImageSet } from '../../images/image-set';

const ABU = path.resolve(__dirname, '..', '..', '..', 'bin', 'abu');

export interface BundleSpec {
  /** Slot image variant, e.g. "good-1.1.0" or "panic-1.1.0". */
  rootfs: string;
  predecessor?: string;
  irreversible?: boolean;
  /** Another bundle of the same image (its description, so its signed manifest, differs): e.g. one per power cut. */
  variant?: string;
}

/** Returns the path of the bundle for `spec`, creating it with `abu bundle create` the first time. */
export function bundleFor(images: ImageSet, spec: BundleSpec): string {
  const entry = images.manifest.rootfs[spec.rootfs];
  if (entry === undefined) throw new Error(`no rootfs variant ${spec.rootfs}`);
  const name = `${spec.rootfs}${spec.predecessor ? `-from-${spec.predecessor}` : ''}${spec.irreversible ? '-irreversible' : ''}${spec.variant ? `-${spec.variant}` : ''}.abu`;
  const out = path.join(images.dir, 'bundles', name);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const args = [ABU, 'bundle', 'create', '--product', images.manifest.product, '--version', entry.version,
    '--description', `system test ${spec.rootfs}${spec.variant ? ` (${spec.variant})` : ''}`, '--build-time', '1700000000',
    '--key', path.join(images.dir, images.manifest.signingKey),
    '--image', `rootfs:rootfs:${images.rootfs(spec.rootfs)}`, '--out', `${out}.tmp`];
  if (spec.predecessor !== undefined) args.push('--predecessor', spec.predecessor);
  if (spec.irreversible === true) args.push('--irreversible');
  execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  fs.renameSync(`${out}.tmp`, out);
  return out;
}

/**
 * A small ext4 disk holding the bundle as /bundle.abu, for pushing it to a guest without networking
 * (attached as /dev/vdb; the guest mounts it read-only on /mnt/bundle).
 */
export function bundleDisk(bundle: string): string {
  const disk = `${bundle}.ext4`;
  if (fs.existsSync(disk)) return disk;
  const dir = fs.mkdtempSync(`${bundle}.d-`);
  try {
    fs.linkSync(bundle, path.join(dir, 'bundle.abu'));
    const mib = Math.ceil((fs.statSync(bundle).size * 1.1) / (1 << 20)) + 8;
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-d', dir, `${disk}.tmp`, `${mib}M`]);
    fs.renameSync(`${disk}.tmp`, disk);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return disk;
}
