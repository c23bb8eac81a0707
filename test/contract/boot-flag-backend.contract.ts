// Contract suite every BootFlagBackend must pass; run per backend by boot-flag-backend.test.ts.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import type { BootFlagBackend, BootFlagBackendConfig } from '../../engine/boot/boot-flag-backend';
import type { EnvWrite } from '../../engine/boot/env-store';
import { SimulatedBootloader } from '../../engine/boot/simulated-bootloader';
import { isAbuError, type AbuErrorCode } from '../../engine/core/errors';

/** What the suite needs from a backend under test: a fresh healthy store (A booted and good, B good). */
export interface BackendUnderTest {
  backend: BootFlagBackend;
  /** Every write group the backend issued (one entry per env write). */
  writes: EnvWrite[][];
  /** The file holding the store, for corruption and byte-equality checks. */
  file: string;
  /** Byte range of the store inside `file` (every copy), for corruption. */
  storeRanges: Array<[number, number]>;
  /** Tries a fresh activation gets. */
  attempts: number;
  config: BootFlagBackendConfig;
}

async function rejectsWith(p: Promise<unknown>, code: AbuErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => isAbuError(e, code) || assert.fail(`expected ${code}, got ${String(e)}`));
}

async function stateOf(b: BootFlagBackend, slot: string) {
  const st = (await b.status()).find((s) => s.slot === slot);
  assert.ok(st, `status lists ${slot}`);
  return st;
}

export function bootFlagBackendContract(name: string, make: () => Promise<BackendUnderTest>): void {
  describe(`BootFlagBackend contract: ${name}`, () => {
    let t: BackendUnderTest;
    beforeEach(async () => {
      t = await make();
    });

    it('reports every configured slot in order, exactly one primary, A good and primary', async () => {
      const st = await t.backend.status();
      assert.deepEqual(st.map((s) => s.slot), ['A', 'B']);
      assert.equal(st.filter((s) => s.primary).length, 1);
      assert.equal(st[0].state, 'good');
      assert.ok(st[0].primary);
      assert.equal(t.writes.length, 0, 'status never writes');
    });

    it('markBad(B) makes B bad and keeps A good and primary, with exactly one write', async () => {
      await t.backend.markBad('B');
      assert.equal((await stateOf(t.backend, 'B')).state, 'bad');
      assert.equal((await stateOf(t.backend, 'B')).triesLeft, 0);
      assert.deepEqual(await stateOf(t.backend, 'A'), { ...(await stateOf(t.backend, 'A')), state: 'good', primary: true });
      assert.equal(t.writes.length, 1);
    });

    it('activate(B) makes B primary and trying with its tries, with exactly one write', async () => {
      await t.backend.markBad('B');
      await t.backend.activate('B');
      const b = await stateOf(t.backend, 'B');
      assert.equal(b.state, 'trying');
      assert.equal(b.primary, true);
      assert.equal(b.triesLeft, t.attempts);
      assert.equal((await stateOf(t.backend, 'A')).state, 'good');
      assert.equal(t.writes.length, 2);
    });

    it('markGood(B) after activation makes B good and keeps it primary', async () => {
      await t.backend.activate('B');
      await t.backend.markGood('B');
      const b = await stateOf(t.backend, 'B');
      assert.deepEqual([b.state, b.primary], ['good', true]);
      assert.equal(t.writes.length, 2);
    });

    it('refuses to mark the only good slot bad and leaves the store byte-identical', async () => {
      await t.backend.markBad('B');
      const before = await fs.readFile(t.file);
      await rejectsWith(t.backend.markBad('A'), 'ABU_ERR_ACTIVATE_REFUSED');
      assert.deepEqual(await fs.readFile(t.file), before);
      assert.equal(t.writes.length, 1);
    });

    it('refuses to mark the good slot bad while the other is only on trial', async () => {
      await t.backend.activate('B');
      await rejectsWith(t.backend.markBad('A'), 'ABU_ERR_ACTIVATE_REFUSED');
      assert.equal((await stateOf(t.backend, 'A')).state, 'good');
    });

    it('rejects unknown slots without writing', async () => {
      await rejectsWith(t.backend.activate('C'), 'ABU_ERR_SLOT_UNKNOWN');
      await rejectsWith(t.backend.markBad('C'), 'ABU_ERR_SLOT_UNKNOWN');
      assert.equal(t.writes.length, 0);
    });

    it('reports a corrupt store as ABU_ERR_BOOTENV_CORRUPT and never rewrites it', async () => {
      const bytes = await fs.readFile(t.file);
      for (const [start] of t.storeRanges) bytes[start + 10] ^= 0x40; // one flipped bit per copy breaks its CRC
      await fs.writeFile(t.file, bytes);
      await rejectsWith(t.backend.status(), 'ABU_ERR_BOOTENV_CORRUPT');
      await rejectsWith(t.backend.markGood('A'), 'ABU_ERR_BOOTENV_CORRUPT');
      assert.deepEqual(await fs.readFile(t.file), bytes);
    });

    it('falls back to A after B used all its tries without being marked good', async () => {
      const boot = new SimulatedBootloader(t.backend);
      await t.backend.markBad('B');
      await t.backend.activate('B');
      const booted: Array<string | null> = [];
      for (let i = 0; i < t.attempts + 1; i++) booted.push((await boot.boot()).slot);
      assert.deepEqual(booted, [...Array(t.attempts).fill('B'), 'A']);
      await t.backend.markGood('A'); // boot-check confirms the slot that came up
      assert.equal((await stateOf(t.backend, 'A')).primary, true);
      assert.equal((await boot.boot()).slot, 'A');
    });

    it('keeps booting B once it is marked good', async () => {
      const boot = new SimulatedBootloader(t.backend);
      await t.backend.activate('B');
      assert.equal((await boot.boot()).slot, 'B');
      await t.backend.markGood('B');
      for (let i = 0; i < 3; i++) {
        assert.equal((await boot.boot()).slot, 'B');
        await t.backend.markGood('B'); // boot-check confirms every healthy boot
      }
      assert.equal((await stateOf(t.backend, 'B')).state, 'good');
    });
  });
}
