// A three-appliance cluster under QEMU: a primary and an HA pair of nodes on one multicast socket network, each with its own site disk.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256 } from '../../engine/site-config';
import type { ImageSet } from '../../images/image-set';
import { Appliance, GUEST_HTTP_PORT } from './appliance';

const REPO = path.resolve(__dirname, '..', '..', '..');
const MIB = 1024 * 1024;

export interface ClusterGuest {
  name: string;
  role: 'primary' | 'node';
  haGroup?: string;
  /** Its address on the site network (the guest's eth1). */
  address: string;
  app: Appliance;
  /** The per-guest disk (label abu-site): address, this member's abu config, room for bundle replicas. */
  siteDisk: string;
}

/** The primary coordinates; node-a and node-b are one HA pair. */
const LAYOUT: { name: string; role: 'primary' | 'node'; haGroup?: string }[] = [
  { name: 'primary', role: 'primary' },
  { name: 'node-a', role: 'node', haGroup: 'ha1' },
  { name: 'node-b', role: 'node', haGroup: 'ha1' },
];

/**
 * Makes the three appliances (disk copies and site disks) of one cluster. The site network is a QEMU
 * `-netdev socket,mcast=` on 127.0.0.1 with a random group and port, so two runs never share frames.
 */
export function makeCluster(images: ImageSet): { guests: ClusterGuest[]; netdevArgs: (g: ClusterGuest) => string[] } {
  const tokens = LAYOUT.map(() => randomBytes(24).toString('base64url'));
  const guests = LAYOUT.map((l, i) => {
    const app = new Appliance(images, 'uboot', `cluster-${l.name}`);
    return { ...l, address: `192.168.76.${11 + i}`, app, siteDisk: path.join(path.dirname(app.disk), 'site.img') };
  });
  const members = guests.map((g, i) => ({
    name: g.name, url: `http://${g.address}:${GUEST_HTTP_PORT}`, tokenSha256: sha256(tokens[i]), dataCenter: 'dc1',
    organizations: ['acme'], role: g.role, ...(g.haGroup ? { haGroup: g.haGroup } : {}),
  }));
  for (const [i, g] of guests.entries()) writeSiteDisk(g, siteConfig(g.name, tokens[i], members));
  const group = `239.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;
  const port = randomInt(20_000, 60_000);
  const netdevArgs = (g: ClusterGuest): string[] => {
    const n = guests.indexOf(g) + 1;
    return ['-netdev', `socket,id=site0,mcast=${group}:${port},localaddr=127.0.0.1`, '-device', `virtio-net-pci,netdev=site0,mac=52:54:00:76:00:${String(n).padStart(2, '0')}`];
  };
  return { guests, netdevArgs };
}

/** The guest's usual config (images/guest/abu-uboot.json) plus this member's site section. */
function siteConfig(self: string, token: string, members: unknown[]): unknown {
  const base = JSON.parse(fs.readFileSync(path.join(REPO, 'images', 'guest', 'abu-uboot.json'), 'utf8'));
  return {
    ...base,
    site: {
      self, token, coordinator: 'primary', members,
      // One 1.1.0 bundle (~192 MiB) plus a partial: the site disk is sized for it.
      bundleBudgetBytes: 480 * MIB,
      replication: { retryBaseMs: 500, retryMaxMs: 5000, maxAttempts: 200 },
      // TCG guests: an install and reboot takes a minute or more when the host is busy.
      rollout: { maxParallel: 2, rebootTimeoutSeconds: 600, pollMs: 1000 },
    },
  };
}

/** A sparse ext4 image with /address and /config.json (the guest's slot-init mounts it and uses both). */
function writeSiteDisk(g: ClusterGuest, config: unknown): void {
  const dir = fs.mkdtempSync(`${g.siteDisk}.d-`);
  try {
    fs.writeFileSync(path.join(dir, 'address'), `${g.address}/24\n`);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'abu-site', '-O', '^has_journal', '-d', dir, g.siteDisk, '512M']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Null when multicast on the host's loopback works (the site network needs it), else why not: a host without it
 * leaves the test pending instead of failing at replication.
 */
export async function siteNetworkUnavailable(): Promise<string | null> {
  const group = '239.255.76.1';
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  try {
    const received = new Promise<void>((resolve) => socket.once('message', () => resolve()));
    await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.bind(0, resolve); });
    socket.addMembership(group, '127.0.0.1');
    socket.setMulticastInterface('127.0.0.1');
    socket.setMulticastLoopback(true);
    socket.send('probe', socket.address().port, group);
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('no datagram came back within 2 s'), 2000).unref());
    const failed = await Promise.race([received.then(() => null), timeout]);
    return failed === null ? null : `multicast on 127.0.0.1 does not work here (${failed}): the QEMU socket network needs it`;
  } catch (e) {
    return `multicast on 127.0.0.1 does not work here (${(e as Error).message}): the QEMU socket network needs it`;
  } finally {
    socket.close();
  }
}

export interface Interval {
  from: number;
  to: number;
}

/**
 * When the guest was down, from its serial console's host timestamps: from the kernel's "Restarting system" (or
 * U-Boot's banner, whichever comes first) after it was up, to the next READY line (boot-check done, abu serve
 * started). An interval still open at the end runs to now.
 */
export function downIntervals(lines: readonly string[], times: readonly number[]): Interval[] {
  const out: Interval[] = [];
  let up = false;
  let from = 0;
  for (const [i, line] of lines.entries()) {
    if (up && /reboot: Restarting system|^U-Boot 20\d\d/.test(line)) {
      up = false;
      from = times[i];
    } else if (!up && /^READY slot=/.test(line)) {
      up = true;
      if (from > 0) out.push({ from, to: times[i] });
    }
  }
  if (!up && from > 0) out.push({ from, to: Date.now() });
  return out;
}

export function overlaps(a: Interval[], b: Interval[]): boolean {
  return a.some((x) => b.some((y) => x.from < y.to && y.from < x.to));
}

/** Time of the first console line at or after `since` matching `pattern`, or null. */
export function lineTime(lines: readonly string[], times: readonly number[], pattern: RegExp, since = 0): number | null {
  for (const [i, line] of lines.entries()) if (times[i] >= since && pattern.test(line)) return times[i];
  return null;
}
