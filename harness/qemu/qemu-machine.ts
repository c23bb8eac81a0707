// Runs one emulated appliance under TCG: serial console on a unix socket, QMP for watchdog resets, power cuts, port forwarding.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QmpClient } from './qmp-client';
import { SerialConsole } from './serial-console';
import { connectWhenReady, freeLocalPort } from './unix-socket';

export interface QemuMachineOptions {
  /** The boot disk (raw). Attached as the first virtio disk (/dev/vda, U-Boot's virtio 0, GRUB's hd0). */
  disk: string;
  /** Firmware passed as -bios (e.g. the U-Boot ROM); SeaBIOS when absent (GRUB i386-pc disks). */
  bios?: string;
  /** More raw disks, attached after the boot disk (/dev/vdb, ...). */
  extraDisks?: string[];
  /** Guest TCP port to forward from 127.0.0.1:<hostPort> (user-mode networking); no NIC when absent. */
  forwardGuestPort?: number;
  /**
   * More NICs as raw QEMU arguments (-netdev/-device pairs), added after the user-mode NIC so the guest names
   * them eth1, ...: e.g. a `-netdev socket,mcast=...` network several machines share.
   */
  netdevArgs?: string[];
  /** Serial log of this run; its directory is created. */
  logFile: string;
  memoryMiB?: number;
  qemuBinary?: string;
  /** How long to wait for QEMU to open its sockets. */
  startTimeoutMs?: number;
}

export interface DiskStats {
  /** QEMU's drive id ("virtio0" for the boot disk, then "virtio1", ...). */
  device: string;
  readBytes: number;
  writtenBytes: number;
}

export class QemuMachine {
  /** The host port forwarded to `forwardGuestPort`, or null without networking. */
  hostPort: number | null = null;
  private exitCode: number | null = null;
  private exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly console: SerialConsole,
    private readonly qmp: QmpClient,
    private readonly socketDir: string,
    private readonly stderr: string[],
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.exitCode = code ?? (signal === null ? null : 128);
      resolve(this.exitCode);
    }));
  }

  /** Starts QEMU; the guest CPU runs only once the console is connected, so no early output is lost. */
  static async start(options: QemuMachineOptions): Promise<QemuMachine> {
    const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'abu-qemu-'));
    const hostPort = options.forwardGuestPort === undefined ? null : await freeLocalPort();
    const args = qemuArgs(options, socketDir, hostPort);
    const child = spawn(options.qemuBinary ?? 'qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
    let alive = true;
    child.once('exit', () => { alive = false; });
    child.once('error', () => { alive = false; });
    const timeout = options.startTimeoutMs ?? 15000;
    try {
      const serial = await connectWhenReady(path.join(socketDir, 'serial.sock'), timeout, () => alive);
      fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
      const console = new SerialConsole(serial, fs.createWriteStream(options.logFile));
      const qmp = new QmpClient(await connectWhenReady(path.join(socketDir, 'qmp.sock'), timeout, () => alive));
      await qmp.handshake();
      const machine = new QemuMachine(child, console, qmp, socketDir, stderr);
      machine.hostPort = hostPort;
      return machine;
    } catch (e) {
      child.kill('SIGKILL');
      throw new Error(`QEMU failed to start (${args.join(' ')}): ${String(e)} ${stderr.join('')}`);
    }
  }

  /** Shortcut for console.waitForLine. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return this.console.waitForLine(pattern, timeoutMs);
  }

  /** What a hardware watchdog does when it fires: reset the machine, disks keep what they had. */
  async reset(): Promise<void> {
    await this.qmp.execute('system_reset');
  }

  /** Bytes the guest has read from and written to each disk since QEMU started (QMP query-blockstats). */
  async diskStats(): Promise<DiskStats[]> {
    const stats = (await this.qmp.execute('query-blockstats')) as Array<{ device: string; qdev?: string; stats: { rd_bytes: number; wr_bytes: number } }>;
    return stats.map((s) => ({ device: s.device || s.qdev || '', readBytes: s.stats.rd_bytes, writtenBytes: s.stats.wr_bytes }));
  }

  /** Power cut: SIGKILL QEMU at once. Writes the guest had not flushed to its virtual disk are lost. */
  async powerCut(): Promise<void> {
    if (this.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
    this.cleanup();
  }

  /** Stops the machine (no clean shutdown is needed: the slots are mounted read-only). */
  async stop(): Promise<void> {
    await this.powerCut();
  }

  /** Resolves with QEMU's exit code once it ends (null when killed by a signal we did not send). */
  whenExited(): Promise<number | null> {
    return this.exited;
  }

  get running(): boolean {
    return this.exitCode === null;
  }

  private cleanup(): void {
    this.qmp.close();
    fs.rmSync(this.socketDir, { recursive: true, force: true });
  }
}

/** TCG only: KVM is broken on these machines (qemu-facts.md §1). -nodefaults keeps slow NIC/DVD probing out. */
function qemuArgs(options: QemuMachineOptions, socketDir: string, hostPort: number | null): string[] {
  const args = ['-accel', 'tcg', '-M', 'pc', '-m', String(options.memoryMiB ?? 512), '-nodefaults', '-display', 'none'];
  if (options.bios !== undefined) args.push('-bios', options.bios);
  // wait=on: QEMU does not run the guest until the harness is connected, so the first lines are kept.
  args.push('-chardev', `socket,id=con0,path=${path.join(socketDir, 'serial.sock')},server=on,wait=on`);
  args.push('-serial', 'chardev:con0');
  args.push('-qmp', `unix:${path.join(socketDir, 'qmp.sock')},server=on,wait=off`);
  for (const disk of [options.disk, ...(options.extraDisks ?? [])]) {
    args.push('-drive', `file=${disk},format=raw,if=virtio`);
  }
  if (hostPort !== null && options.forwardGuestPort !== undefined) {
    args.push('-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${hostPort}-:${options.forwardGuestPort}`);
    args.push('-device', 'virtio-net-pci,netdev=net0');
  }
  args.push(...(options.netdevArgs ?? []));
  return args;
}
