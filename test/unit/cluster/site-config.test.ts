// The site section of the config: members, one primary per data center, tokens (in clear only for oneself).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Site } from '../../../engine/cluster/site';
import { parseSiteConfig, sha256 } from '../../../engine/site-config';

const abs = (p: string) => p;
const member = (name: string, o: Record<string, unknown> = {}) => ({ name, url: `http://${name}:8080`, tokenSha256: sha256(`token-of-${name}-16chars`), dataCenter: 'dc1', role: 'node', organizations: ['acme'], ...o });

describe('site config', () => {
  it('reads a shared site file of token digests and takes the own token from the config', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-site-config-'));
    await fs.writeFile(path.join(dir, 'site.json'), JSON.stringify({ coordinator: 'a', members: [member('a', { role: 'primary' }), member('b')] }));
    const c = parseSiteConfig({ file: path.join(dir, 'site.json'), self: 'b', token: 'token-of-b-16chars' }, abs, '/k');
    assert.equal(c.members[1].token, 'token-of-b-16chars');
    assert.equal(c.members[0].token, undefined);
    assert.equal(c.keyring, '/k');
    const site = new Site(c);
    assert.equal(site.callerOf('token-of-a-16chars')?.name, 'a');
    assert.equal(site.callerOf('token-of-x-16chars'), null);
    await fs.rm(dir, { recursive: true });
  });

  it('keeps the rollout state locally unless the site names an etcd cluster', () => {
    const raw = { self: 'a', coordinator: 'a', token: 'token-of-a-16chars', members: [member('a', { role: 'primary' })] };
    assert.deepEqual(parseSiteConfig(raw, abs, '/k').coordination, { kind: 'local' });
    const etcd = parseSiteConfig({ ...raw, coordination: { kind: 'etcd', endpoints: ['http://e1:2379', 'http://e2:2379'], prefix: '/plant-7' } }, abs, '/k').coordination;
    assert.deepEqual(etcd, { kind: 'etcd', endpoints: ['http://e1:2379', 'http://e2:2379'], prefix: '/plant-7/', timeoutMs: 15_000 });
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a data center without a primary', { members: [member('a')] }, /data center "dc1" must have exactly one primary/],
    ['two primaries', { members: [member('a', { role: 'primary' }), member('b', { role: 'primary' })] }, /exactly one primary member \(has 2\)/],
    ['an unknown coordinator', { coordinator: 'zz' }, /site.coordinator "zz" is not one of the members/],
    ['an own token that does not match', { token: 'token-of-somebody-else' }, /site.token does not match/],
    ['no own token', { token: undefined }, /needs its token in clear/],
    ['a bad role', { members: [member('a', { role: 'boss' })] }, /role must be primary, secondary or node/],
    ['a url with a path', { members: [member('a', { role: 'primary', url: 'http://a/x' })] }, /url must be http\(s\):\/\/host\[:port\]/],
    ['a member twice', { members: [member('a', { role: 'primary' }), member('a')] }, /listed twice/],
    ['an unknown coordination kind', { coordination: { kind: 'zookeeper' } }, /site.coordination.kind must be "local" or "etcd"/],
    ['etcd without endpoints', { coordination: { kind: 'etcd', endpoints: [] } }, /must list the etcd client URLs/],
    ['an https etcd endpoint', { coordination: { kind: 'etcd', endpoints: ['https://e1:2379'] } }, /"https:\/\/e1:2379" must be http:\/\/host:port/],
  ];
  for (const [what, change, message] of cases) {
    it(`refuses ${what} with ABU_ERR_CONFIG`, () => {
      const raw = { self: 'a', coordinator: 'a', token: 'token-of-a-16chars', members: [member('a', { role: 'primary' })], ...change };
      assert.throws(() => parseSiteConfig(raw, abs, '/k'), (e: any) => e.code === 'ABU_ERR_CONFIG' && message.test(e.message));
    });
  }
});
