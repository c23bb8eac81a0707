// The pure A/B schemes: what each backend operation does to the variables, and the registry's refusals.
import * as assert from 'node:assert/strict';
import { ANDROID_BOOT_CTRL_MAGIC, type AndroidBootControl } from '../../../native/bootenv';
import { AndroidScheme } from '../../../engine/boot/android-scheme';
import { EnvVars } from '../../../engine/boot/env-vars';
import { GrubScheme } from '../../../engine/boot/grub-scheme';
import { createBootFlagBackend } from '../../../engine/boot/registry';
import { UbootScheme } from '../../../engine/boot/uboot-scheme';
import { isAbuError } from '../../../engine/core/errors';

const backendError = (e: unknown) => isAbuError(e, 'ABU_ERR_BOOT_BACKEND');

describe('U-Boot scheme (BOOT_ORDER / BOOT_<x>_LEFT)', () => {
  const s = new UbootScheme(['A', 'B']);
  const healthy = EnvVars.fromRecord({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3', other: 'kept' });

  it('activate puts the slot first with fresh hex tries and marks it on trial', () => {
    const v = s.activate(s.markBad(healthy, 'B'), 'B');
    assert.deepEqual(v.toRecord(), { BOOT_ORDER: 'B A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3', other: 'kept', ABU_TRYING: 'B' });
    assert.deepEqual(s.status(v).map((x) => [x.slot, x.state, x.triesLeft, x.primary]), [['A', 'good', 3, false], ['B', 'trying', 3, true]]);
    assert.equal(new UbootScheme(['A', 'B'], 12).activate(healthy, 'B').get('BOOT_B_LEFT'), 'c');
  });

  it('markBad removes the slot from BOOT_ORDER; markGood brings it back at the end and ends the trial', () => {
    const bad = s.markBad(healthy, 'A');
    assert.deepEqual([bad.get('BOOT_ORDER'), bad.get('BOOT_A_LEFT')], ['B', '0']);
    const good = s.markGood(s.activate(bad, 'A'), 'A');
    assert.deepEqual([good.get('BOOT_ORDER'), good.get('ABU_TRYING')], ['A B', undefined]);
    assert.equal(s.markGood(bad, 'A').get('BOOT_ORDER'), 'B A');
  });

  it('refuses attempt counts one hex digit cannot hold', () => {
    for (const n of [0, 16, 2.5]) assert.throws(() => new UbootScheme(['A', 'B'], n), backendError);
  });
});

describe('GRUB scheme (ORDER / <x>_OK / <x>_TRY)', () => {
  const s = new GrubScheme(['A', 'B']);
  const healthy = EnvVars.fromRecord({ ORDER: 'A B', A_OK: '1', A_TRY: '0', B_OK: '1', B_TRY: '0' });

  it('activate, markGood and markBad set the RAUC values in one change each', () => {
    const act = s.activate(healthy, 'B');
    assert.deepEqual(act.toRecord(), { ORDER: 'B A', A_OK: '1', A_TRY: '0', B_OK: '1', B_TRY: '0', ABU_TRYING: 'B' });
    assert.deepEqual(s.markGood(act, 'B').toRecord(), { ORDER: 'B A', A_OK: '1', A_TRY: '0', B_OK: '1', B_TRY: '0' });
    assert.deepEqual(s.markBad(act, 'B').toRecord(), { ORDER: 'B A', A_OK: '1', A_TRY: '0', B_OK: '0', B_TRY: '0' });
  });

  it('reports a used try as no tries left but still good until confirmed', () => {
    const booted = s.boot(healthy).state;
    assert.deepEqual(s.status(booted)[0], { slot: 'A', state: 'good', triesLeft: 0, primary: false });
  });
});

describe('Android scheme (libboot_control)', () => {
  const s = new AndroidScheme(['A', 'B']);
  const meta = (priority: number, tries: number, ok: boolean) => ({ priority, triesRemaining: tries, successfulBoot: ok, verityCorrupted: false });
  const bc: AndroidBootControl = {
    slotSuffix: '_a', magic: ANDROID_BOOT_CTRL_MAGIC, version: 1, nbSlot: 2, recoveryTriesRemaining: 0, mergeStatus: 0,
    slots: [meta(15, 1, true), meta(14, 1, true), meta(0, 0, false), meta(0, 0, false)],
  };

  it('SetActiveBootSlot: target 15 with 6 tries, the other steps down from 15 to 14', () => {
    const act = s.activate(bc, 'B');
    assert.deepEqual(act.slots.slice(0, 2), [meta(14, 1, true), meta(15, 6, false)]);
    assert.deepEqual(s.status(act).map((x) => [x.state, x.primary]), [['good', false], ['trying', true]]);
  });

  it('MarkBootSuccessful sets tries 1; SetSlotAsUnbootable clears tries and success', () => {
    assert.deepEqual(s.markGood(s.activate(bc, 'B'), 'B').slots[1], meta(15, 1, true));
    assert.deepEqual(s.markBad(bc, 'B').slots[1], meta(14, 0, false));
    assert.equal(s.suffix('B'), '_b');
  });
});

describe('boot-flag backend registry', () => {
  it('refuses unknown kinds, missing options and single-slot configs with ABU_ERR_BOOT_BACKEND', () => {
    assert.throws(() => createBootFlagBackend({ kind: 'lilo', slots: ['A', 'B'], options: {} }), backendError);
    assert.throws(() => createBootFlagBackend({ kind: 'toString', slots: ['A', 'B'], options: {} }), backendError);
    assert.throws(() => createBootFlagBackend({ kind: 'uboot', slots: ['A', 'B'], options: {} }), backendError);
    assert.throws(() => createBootFlagBackend({ kind: 'grub', slots: ['A', 'B'], attempts: 3, options: { envFile: '/x' } }), backendError);
    assert.throws(() => createBootFlagBackend({ kind: 'android', slots: ['A'], options: { miscDevice: '/x' } }), backendError);
  });

  it('builds each known backend with its kind and slots', () => {
    const opts = { fwEnvConfig: '/c', envFile: '/g', miscDevice: '/m' };
    for (const kind of ['uboot', 'grub', 'android']) {
      const b = createBootFlagBackend({ kind, slots: ['A', 'B'], options: opts });
      assert.deepEqual([b.kind, b.slots], [kind, ['A', 'B']]);
    }
  });
});
