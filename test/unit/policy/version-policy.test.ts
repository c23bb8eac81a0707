// Version policy: product match, strict predecessor chain, missing versions, downgrade and the irreversible floor.
import assert from 'node:assert/strict';
import { isAbuError } from '../../../engine/core/errors';
import { checkInstallPolicy, checkFloor, sortChain, type PolicyInput } from '../../../engine/policy/version-policy';

const base: PolicyInput = { product: 'box', installed: '1.0.0', floor: null, strictChain: true, allowDowngrade: false };

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    assert.ok(isAbuError(e), `expected AbuError, got ${String(e)}`);
    assert.ok(e.message.length > 10, 'message says what is wrong');
    return e.code;
  }
}

describe('version policy', () => {
  const cases: { name: string; bundle: { product: string; version: string; source: { exact?: string; range?: string } }; p?: Partial<PolicyInput>; code: string | null }[] = [
    { name: 'immediate successor', bundle: { product: 'box', version: '1.1.0', source: { exact: '1.0.0' } }, code: null },
    { name: 'wrong product', bundle: { product: 'other', version: '1.1.0', source: { exact: '1.0.0' } }, code: 'ABU_ERR_INCOMPATIBLE' },
    { name: 'two versions behind', bundle: { product: 'box', version: '1.2.0', source: { exact: '1.1.0' } }, code: 'ABU_ERR_MISSING_VERSIONS' },
    { name: 'predecessor older than installed', bundle: { product: 'box', version: '1.1.0', source: { exact: '0.9.0' } }, p: { installed: '1.0.5' }, code: 'ABU_ERR_PREDECESSOR' },
    { name: 'no predecessor under strict chain', bundle: { product: 'box', version: '1.1.0', source: {} }, code: 'ABU_ERR_PREDECESSOR' },
    { name: 'no predecessor, chain not strict', bundle: { product: 'box', version: '1.1.0', source: {} }, p: { strictChain: false }, code: null },
    { name: 'range satisfied', bundle: { product: 'box', version: '2.0.0', source: { range: '^1.0.0' } }, code: null },
    { name: 'range not satisfied', bundle: { product: 'box', version: '3.0.0', source: { range: '^2.0.0' } }, code: 'ABU_ERR_PREDECESSOR' },
    { name: 'same version', bundle: { product: 'box', version: '1.0.0', source: {} }, p: { strictChain: false }, code: 'ABU_ERR_DOWNGRADE' },
    { name: 'older version', bundle: { product: 'box', version: '0.9.0', source: {} }, p: { strictChain: false }, code: 'ABU_ERR_DOWNGRADE' },
    { name: 'older allowed by policy', bundle: { product: 'box', version: '0.9.0', source: {} }, p: { strictChain: false, allowDowngrade: true }, code: null },
    { name: 'below floor even when downgrades allowed', bundle: { product: 'box', version: '0.9.0', source: {} }, p: { strictChain: false, allowDowngrade: true, floor: '1.0.0' }, code: 'ABU_ERR_BELOW_FLOOR' },
    { name: 'at the floor', bundle: { product: 'box', version: '1.1.0', source: { exact: '1.0.0' } }, p: { floor: '1.1.0' }, code: null },
    { name: 'installed unknown', bundle: { product: 'box', version: '1.1.0', source: { exact: '1.0.0' } }, p: { installed: null }, code: 'ABU_ERR_PREDECESSOR' },
  ];
  for (const c of cases) {
    it(`${c.name} -> ${c.code ?? 'accepted'}`, () => {
      assert.equal(codeOf(() => checkInstallPolicy(c.bundle, { ...base, ...c.p })), c.code);
    });
  }

  it('says when the refused bundle is the running release, or older than it', () => {
    const same = () => checkInstallPolicy({ product: 'box', version: '1.1.0', source: { exact: '1.0.0' } }, { ...base, installed: '1.1.0' });
    assert.throws(same, (e: any) => e.code === 'ABU_ERR_PREDECESSOR' && /1\.1\.0 is already installed and running/.test(e.message));
    const older = () => checkInstallPolicy({ product: 'box', version: '1.1.0', source: { exact: '1.0.0' } }, { ...base, installed: '1.2.0' });
    assert.throws(older, (e: any) => e.code === 'ABU_ERR_PREDECESSOR' && /runs 1\.2\.0, which is newer than 1\.1\.0/.test(e.message));
  });

  it('names the missing versions when the appliance is behind', () => {
    try {
      checkInstallPolicy({ product: 'box', version: '1.3.0', source: { exact: '1.2.0' } }, base);
      assert.fail('accepted');
    } catch (e) {
      assert.ok(isAbuError(e, 'ABU_ERR_MISSING_VERSIONS'));
      assert.deepEqual(e.details.missing, ['1.2.0']);
      assert.match(e.message, /install 1\.2\.0/);
    }
  });

  it('walks a chain strictly in order: every step accepted only from its predecessor', () => {
    const chain = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '2.0.0'];
    for (let from = 0; from < chain.length; from++) {
      for (let to = 1; to < chain.length; to++) {
        const code = codeOf(() => checkInstallPolicy({ product: 'box', version: chain[to], source: { exact: chain[to - 1] } }, { ...base, installed: chain[from] }));
        if (to === from + 1) assert.equal(code, null, `${chain[from]} -> ${chain[to]}`);
        else if (to > from + 1) assert.equal(code, 'ABU_ERR_MISSING_VERSIONS', `${chain[from]} -> ${chain[to]}`);
        else assert.ok(code === 'ABU_ERR_PREDECESSOR' || code === 'ABU_ERR_DOWNGRADE', `${chain[from]} -> ${chain[to]}: ${code}`);
      }
    }
  });

  it('floor check alone', () => {
    assert.equal(codeOf(() => checkFloor('1.0.0', '1.2.0')), 'ABU_ERR_BELOW_FLOOR');
    assert.equal(codeOf(() => checkFloor('1.2.0', '1.2.0')), null);
    assert.equal(codeOf(() => checkFloor('0.1.0', null)), null);
  });

  it('sorts a queue into chain order', () => {
    const sorted = sortChain([{ version: '1.10.0' }, { version: '1.2.0' }, { version: '1.9.1' }].map((v) => ({ ...v, product: 'box', source: {} })));
    assert.deepEqual(sorted.map((b) => b.version), ['1.2.0', '1.9.1', '1.10.0']);
  });
});
