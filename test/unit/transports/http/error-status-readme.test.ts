// The README's HTTP error shape and status table against the code that sends them (error-status.ts), so they cannot drift.
import assert from 'node:assert/strict';
import { AbuError, ERROR_CODES } from '../../../../engine/core/errors';
import { errorBody, httpStatusOf } from '../../../../engine/transports/http/error-status';
import { readReadme, tableRows } from '../../../helpers/readme';

describe('README: HTTP errors', () => {
  const readme = readReadme();

  it('shows the error body with the keys the API sends', () => {
    const shown = /Errors are JSON `(\{[^`]*\})`/.exec(readme);
    assert.ok(shown, 'README says "Errors are JSON `{...}`"');
    // The README writes placeholders: "..." strings and {...} objects; as JSON they are a string and an object.
    const example = JSON.parse(shown[1].replace(/\{\.\.\.\}/g, '{}')) as Record<string, unknown>;
    const sent = errorBody(new AbuError('ABU_ERR_BUSY', 'busy', { details: { pid: 1 } }));
    assert.deepEqual(Object.keys(example), Object.keys(sent));
    for (const key of Object.keys(sent)) assert.equal(typeof example[key], typeof sent[key as keyof typeof sent], key);
  });

  it('lists every error code once, under the status error-status.ts gives it', () => {
    const rows = tableRows(readme, '| status | meaning | codes |');
    const listed = new Map<string, number>();
    for (const [status, , codes] of rows) {
      assert.match(status, /^\d{3}$/, `a status, not ${status}`);
      for (const code of codes.match(/ABU_ERR_[A-Z0-9_]+/g) ?? []) {
        assert.ok(!listed.has(code), `${code} is listed twice`);
        listed.set(code, Number(status));
      }
    }
    const all = Object.keys(ERROR_CODES);
    assert.deepEqual([...listed.keys()].filter((c) => !all.includes(c)), [], 'codes in the README that errors.ts does not have');
    assert.deepEqual(all.filter((c) => !listed.has(c)), [], 'codes errors.ts has that the README table does not list');
    const wrong = all.filter((c) => listed.get(c) !== httpStatusOf(c)).map((c) => `${c}: README ${listed.get(c)}, code ${httpStatusOf(c)}`);
    assert.deepEqual(wrong, []);
  });
});
