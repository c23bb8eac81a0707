// One emulated appliance per test: a private copy of the factory disk, its boot env on the host, and QEMU runs logged to test-artifacts/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { QemuMachine, qemuAvailable } from '../../harness/qemu';
import { diskBootEnv, type DiskBootEnv } from '../../images/disk-env';
import { buildImages, copyFactoryDisk, writeSlot, type BootloaderKind, type ImageSet } from '../../images/image-set';

export const BOOTLOADERS: BootloaderKind[] = ['uboot', 'grub'];
/** One boot is 5-10 s under TCG (qemu-facts.md); the 2-core box is shared, so allow several times that. */
export const BOOT_TIMEOUT_MS = 60_000;
/** abu's guest-side port (images/guest/abu-*.json http.port). */
export const GUEST_HTTP_PORT = 8080;

const REPO = path.resolve(__dirname, '..', '..', '..');
const ARTIFACTS = path.join(REPO, 'test-artifacts', 'system');
const WORK = path.join(REPO, '.cache', 'system-runs');

export interface Booted {
  slot: string;
  version: string;
}

export class Appliance {
  readonly disk: string;
  readonly env: DiskBootEnv;
  machine: QemuMachine | null = null;
  private runs = 0;

  constructor(readonly images: ImageSet, readonly kind: BootloaderKind, readonly name: string) {
    // Logs of an earlier run of the same test would mix with this run's.
    fs.rmSync(path.join(ARTIFACTS, kind, name), { recursive: true, force: true });
    this.disk = copyFactoryDisk(images, kind, path.join(WORK, `${kind}-${name}`, 'disk.img'));
    this.env = diskBootEnv(images, kind, this.disk);
  }

  /** Starts QEMU on the disk (stopping a previous run first), with more NICs if given; the serial log goes to test-artifacts/system/<kind>/<name>/. */
  async boot(label: string, extraDisks: string[] = [], netdevArgs: string[] = []): Promise<QemuMachine> {
    await this.stop();
    this.runs += 1;
    const logFile = path.join(ARTIFACTS, this.kind, this.name, `${String(this.runs).padStart(2, '0')}-${label}.log`);
    const bios = this.kind === 'uboot' ? path.join(this.images.dir, this.images.manifest.uboot.rom) : undefined;
    this.machine = await QemuMachine.start({ disk: this.disk, bios, extraDisks, netdevArgs, logFile, forwardGuestPort: GUEST_HTTP_PORT });
    return this.machine;
  }

  /** Waits for the init's BOOTED line: which slot the bootloader picked and the version in it. */
  async waitBooted(timeoutMs = BOOT_TIMEOUT_MS): Promise<Booted> {
    const m = await this.running().waitForLine(/^BOOTED slot=(\S+) version=(\S+)/, timeoutMs);
    return { slot: m[1], version: m[2] };
  }

  /** Waits until boot-check has run and the console shell is up. */
  async waitReady(timeoutMs = BOOT_TIMEOUT_MS): Promise<void> {
    await this.running().waitForLine(/^READY slot=/, timeoutMs);
  }

  /** Puts a slot image straight into a slot partition on the host (a fixture, not an install). */
  writeSlot(slot: string, rootfsName: string): void {
    writeSlot(this.images, this.kind, this.disk, slot, rootfsName);
  }

  running(): QemuMachine {
    if (this.machine === null) throw new Error('the appliance is not running: call boot() first');
    return this.machine;
  }

  async stop(): Promise<void> {
    if (this.machine !== null) await this.machine.stop();
    this.machine = null;
  }

  /** Stops QEMU; the disk copy is removed only after a pass, so a failure can be inspected. */
  async dispose(passed: boolean): Promise<void> {
    await this.stop();
    if (passed) fs.rmSync(path.dirname(this.disk), { recursive: true, force: true });
  }
}

/**
 * Declares `body` once per bootloader. The suite is pending only when QEMU is missing; images are built
 * (or taken from the content cache) once per process, before the first boot.
 */
export function eachBootloader(title: string, body: (ctx: { kind: BootloaderKind; images: () => ImageSet }) => void): void {
  for (const kind of BOOTLOADERS) {
    describe(`${title} [${kind}]`, function () {
      this.timeout(10 * 60_000);
      let images: ImageSet | null = null;
      before(function () {
        const missing = qemuAvailable();
        if (missing !== null) {
          console.warn(`  pending: ${missing}`);
          this.skip();
        }
        images = buildImages();
      });
      body({ kind, images: () => { if (images === null) throw new Error('images not built'); return images; } });
    });
  }
}

/** Runs `fn` on a fresh appliance and disposes it, keeping the disk when the test failed. */
export async function withAppliance<T>(images: ImageSet, kind: BootloaderKind, name: string, fn: (app: Appliance) => Promise<T>): Promise<T> {
  const app = new Appliance(images, kind, name);
  let passed = false;
  try {
    const result = await fn(app);
    passed = true;
    return result;
  } finally {
    await app.dispose(passed);
  }
}
