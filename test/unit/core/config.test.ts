// Config parsing: defaults, relative paths, and errors that name the bad key; booted-slot detection.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { defaultInFlightChunks, parseConfig } from '../../../engine/config';
import { isAbuError } from '../../../engine/core/errors';
import { slotFromCmdline } from '../../../engine/slots/booted-slot';

const minimal = {
  product: 'box',
  keyring: 'keys',
  stateDir: 'state',
  slots: [{ name: 'A', device: '/dev/sda2' }, { name: 'B', device: 'b.img' }],
  bootloader: { kind: 'uboot', options: { fwEnvConfig: 'fw_env.config' } },
};

describe('config', () => {
  it('fills defaults and resolves relative paths against the config folder', () => {
    const c = parseConfig(minimal, '/etc/abu');
    assert.equal(c.keyring, '/etc/abu/keys');
    assert.deepEqual(c.slots[1].targets, { rootfs: { device: '/etc/abu/b.img', partition: undefined } });
    assert.equal(c.bootloader.options.fwEnvConfig, '/etc/abu/fw_env.config');
    assert.deepEqual(c.bootedSlot, { cmdline: '/proc/cmdline' });
    assert.equal(c.install.readBack, true);
    assert.equal(c.install.adaptive, true, 'adaptive installs are on by default');
    assert.equal(parseConfig({ ...minimal, install: { adaptive: false } }, '/etc/abu').install.adaptive, false);
    assert.equal(c.policy.strictChain, true);
    assert.equal(c.http.host, '127.0.0.1', 'the daemon binds to loopback unless told otherwise');
  });

  it('verifies and writes one chunk per core plus one by default, leaving a threadpool thread for the reads', () => {
    // 2 cores: 2 in flight left a core idle during each chunk's O_DIRECT write (the writer hashes, then waits on the disk).
    assert.equal(defaultInFlightChunks(2, 4), 2);
    assert.equal(defaultInFlightChunks(1, 4), 2, 'never fewer than 2: one hashes while one writes');
    assert.equal(defaultInFlightChunks(8, 4), 3, 'libuv runs 4 threads by default: one stays free for the bundle reads');
    assert.equal(defaultInFlightChunks(8, 16), 8);
    const c = parseConfig(minimal, '/etc/abu');
    assert.equal(c.install.inFlightChunks, defaultInFlightChunks(availableParallelism(), Number(process.env.UV_THREADPOOL_SIZE) || 4));
    assert.equal(parseConfig({ ...minimal, install: { inFlightChunks: 1 } }, '/etc/abu').install.inFlightChunks, 1, 'the config still decides');
  });

  const broken: [string, Record<string, unknown>, RegExp][] = [
    ['no product', { ...minimal, product: '' }, /"product"/],
    ['one slot', { ...minimal, slots: [{ name: 'A', device: 'a' }] }, /at least two slots/],
    ['duplicate slots', { ...minimal, slots: [{ name: 'A', device: 'a' }, { name: 'A', device: 'b' }] }, /unique/],
    ['bad slot name', { ...minimal, slots: [{ name: '../x', device: 'a' }, { name: 'B', device: 'b' }] }, /slot name/],
    ['no bootloader', { ...minimal, bootloader: undefined }, /bootloader/],
    ['fixed slot unknown', { ...minimal, bootedSlot: { fixed: 'C' } }, /not a configured slot/],
    ['install.adaptive not a boolean', { ...minimal, install: { adaptive: 'no' } }, /install\.adaptive/],
    ['a mistyped policy field (it would take its default)', { ...minimal, policy: { strictChian: false } }, /policy has no field "strictChian" \(did you mean "strictChain"\?\)/],
    ['a mistyped install field', { ...minimal, install: { readback: false } }, /install has no field "readback" \(did you mean "readBack"\?\)/],
    ['an unknown top-level field', { ...minimal, prodcut: 'box' }, /the top level has no field "prodcut"/],
    ['install.checkpointSeconds out of range', { ...minimal, install: { checkpointSeconds: -1 } }, /install\.checkpointSeconds/],
    ['partition out of range', { ...minimal, slots: [{ name: 'A', device: 'd', partition: 0 }, { name: 'B', device: 'd', partition: 3 }] }, /partition/],
  ];
  for (const [name, raw, message] of broken) {
    it(`refuses ${name} with ABU_ERR_CONFIG`, () => {
      assert.throws(() => parseConfig(raw, '/etc/abu'), (e) => isAbuError(e, 'ABU_ERR_CONFIG') && message.test(e.message));
    });
  }

  it('finds the booted slot from abu.slot= or rauc.slot=', () => {
    assert.equal(slotFromCmdline('console=ttyS0 root=/dev/vda3 abu.slot=B quiet\n'), 'B');
    assert.equal(slotFromCmdline('rauc.slot=A'), 'A');
    assert.equal(slotFromCmdline('root=/dev/vda2'), null);
  });
});
