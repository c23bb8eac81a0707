// The crash campaign's CI sample: every backend's crash states counted, a spread sample checked, and the self-tests
// that prove the checker sees a bad ordering (the whole campaign is scripts/crash-campaign).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CRASH_BACKENDS, createCrashAppliance, type CrashAppliance } from '../../crash/crash-appliance';
import { CrashBench } from '../../crash/crash-bench';
import { checkCrashState } from '../../crash/crash-check';
import { recordScenario, type RecordedOperation } from '../../crash/crash-scenario';
import { stateKey } from '../../crash/crash-states';
import { runCampaign } from '../../crash/campaign';
import { haveTools } from '../boot/tools';
import { ABU, runProcess } from '../../helpers/processes';

/** States checked per backend in CI; the script checks all of them. */
const SAMPLE = 40;

describe('crash campaign (sample)', function () {
  this.timeout(120_000);

  before(async function () {
    if (!(await haveTools('fw_printenv'))) this.skip(); // CI installs libubootenv-tool (scripts/setup --test)
  });

  for (const kind of CRASH_BACKENDS) {
    it(`${kind}: at least 1,000 distinct crash states, a spread sample of ${SAMPLE} holds every invariant`, async () => {
      const r = await runCampaign(kind, { limit: SAMPLE });
      assert.ok(r.states >= 1000, `${r.states} crash states`);
      assert.ok(r.checked >= SAMPLE, `${r.checked} checked`);
      assert.deepEqual(r.violations, []);
    });
  }

  it('self-test: an engine that skips the slot fdatasync is caught (flags and record can outrun the image)', async () => {
    const r = await runCampaign('grub', { limit: 60, dropSlotFlush: true, stopAfter: 1 });
    assert.equal(r.violations.length, 1, 'the checker must report the missing flush');
  });

  describe('hand-built crash states (one recorded scenario)', () => {
    let root: string;
    let app: CrashAppliance;
    let bench: CrashBench;
    let recorded: RecordedOperation[];

    before(async function () {
      root = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-crash-test-'));
      app = await createCrashAppliance(path.join(root, 'live'), 'uboot-redundant');
      bench = await CrashBench.create(app, path.join(root, 'bench'));
      recorded = await recordScenario(app);
    });

    after(() => fs.rm(root, { recursive: true, force: true }));

    /** Everything the operation issued reached the medium except one slot chunk. */
    const allButOneChunk = (rec: RecordedOperation) => {
      const chunk = rec.ops.findIndex((op) => op.kind === 'write' && op.source === 'slot');
      const persisted = rec.ops.map((op, i) => (op.kind === 'flush' || i === chunk ? -1 : i)).filter((i) => i >= 0);
      return { point: rec.ops.length, persisted, key: stateKey(rec.ops, persisted, []) };
    };

    it('the record says verified while a chunk is missing: status and history are flagged', async () => {
      const install = recorded.find((r) => r.name === 'install')!;
      const messages = await checkCrashState(bench, install, allButOneChunk(install));
      assert.ok(messages.some((m) => /^status: slot B verified 1\.1\.0, but it holds no complete image/.test(m)), messages.join('\n'));
      assert.ok(messages.some((m) => /^history: install of slot B/.test(m)), messages.join('\n'));
    });

    it('the flags point at a slot with a missing chunk: the bootloader\'s pick is flagged', async () => {
      const op = recorded.find((r) => r.name === 'install+activate')!;
      const messages = await checkCrashState(bench, op, allButOneChunk(op));
      assert.ok(messages.some((m) => /^the bootloader picks slot A, which holds no complete image/.test(m)), messages.join('\n'));
    });

    it('abu status (the CLI) in a cut before the verified record: slot B incomplete, no version, not bootable', async () => {
      const install = recorded.find((r) => r.name === 'install')!;
      const verifiedRecord = install.ops.map((op, i) => (op.kind === 'rename' ? i : -1)).filter((i) => i >= 0).pop()!;
      const persisted = install.ops.map((op, i) => (op.kind === 'flush' || i >= verifiedRecord ? -1 : i)).filter((i) => i >= 0);
      assert.deepEqual(await checkCrashState(bench, install, { point: verifiedRecord, persisted, key: '' }), []);
      const run = await runProcess(ABU, ['status', '--json', '--direct', '--config', bench.configPath]);
      assert.equal(run.status, 0, run.stderr);
      const b = (JSON.parse(run.stdout) as { slots: Array<{ name: string; image: string; version: string | null; state: string }> }).slots.find((x) => x.name === 'B')!;
      assert.deepEqual({ image: b.image, version: b.version, state: b.state }, { image: 'incomplete', version: null, state: 'bad' });
    });

    it('the prefix state after each operation holds every invariant', async () => {
      for (const rec of recorded) {
        const persisted = rec.ops.map((op, i) => (op.kind === 'flush' ? -1 : i)).filter((i) => i >= 0);
        assert.deepEqual(await checkCrashState(bench, rec, { point: rec.ops.length, persisted, key: '' }), [], rec.name);
      }
    });
  });
});
