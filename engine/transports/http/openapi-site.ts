// The site and cluster part of /api/openapi.json (routes-site.ts, routes-site-peer.ts, routes-cluster.ts): served by
// every daemon, answered only by one whose config has a site; the operator's calls only by the site's coordinator.
const json = (schema: object) => ({ 'application/json': { schema } });
const errors = { default: { description: 'An error; `code` is a stable ABU_ERR_* code', content: json({ $ref: '#/components/schemas/Error' }) } };
const ok = (description: string, schema: object = { type: 'object' }) => ({ 200: { description, content: json(schema) }, ...errors });
const status = (code: number, description: string) => ({ [code]: { description, content: json({ type: 'object' }) }, ...errors });
const operator = [{ bearer: [] }];
/** Member-to-member calls carry the calling member's site token; the receiver checks who may ask what. */
const member = [{ siteToken: [] }];
const id = { name: 'id', in: 'path', required: true, description: 'SHA-256, a unique prefix of 8+ hex digits, or the version', schema: { type: 'string' } };
const sha = { name: 'sha', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } };
const body = (properties: object, required: string[] = []) => ({ content: json({ type: 'object', required, properties }) });
const bundleBytes = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };

const replication = {
  type: 'object',
  description: 'Replications n/m: members holding a replica they verified themselves, of all members',
  properties: {
    sha256: { type: 'string' }, version: { type: 'string' }, size: { type: 'integer' }, verified: { type: 'integer' }, total: { type: 'integer' }, replications: { type: 'string', example: '4/6' },
    members: { type: 'array', items: { type: 'object', properties: { member: { type: 'string' }, dataCenter: { type: 'string' }, via: { type: 'string' }, state: { type: 'string', enum: ['pending', 'transferring', 'verified', 'failed'] }, have: { type: 'integer' }, size: { type: 'integer' }, attempts: { type: 'integer' }, bytesSent: { type: 'integer' }, error: { type: 'string', nullable: true } } } },
  },
};

export const siteSchemas = {
  Replication: replication,
  Rollout: {
    type: 'object',
    description: 'A cluster rollout as journaled in the coordination store (local file or etcd)',
    properties: {
      id: { type: 'string' }, kind: { type: 'string', enum: ['activate', 'switch-back'] }, version: { type: 'string', nullable: true }, ha: { type: 'boolean' },
      state: { type: 'string', enum: ['running', 'stopping', 'succeeded', 'failed'] }, error: { type: 'string', nullable: true }, order: { type: 'array', items: { type: 'string' } },
      members: { type: 'object', additionalProperties: { type: 'object', properties: { phase: { type: 'string', enum: ['waiting', 'downloading', 'installing', 'rebooting', 'healthy', 'failed', 'skipped'] }, target: { type: 'string', nullable: true }, detail: { type: 'string' }, percent: { type: 'integer', nullable: true } } } },
    },
  },
};

const rolloutAnswer = { 202: { description: 'Started', content: json({ type: 'object', properties: { rollout: { $ref: '#/components/schemas/Rollout' } } }) }, ...errors };

export const sitePaths = {
  '/api/site': { get: { summary: 'The site as this member sees it: itself, the coordinator, data centers, organizations, whether HA groups exist, members', responses: ok('Site') } },
  '/api/site/status': { get: { summary: 'Coordinator: every member (reachable, version, operation, last error) and every bundle with its replication', responses: ok('Site status') } },
  '/api/site/bundles': {
    get: { summary: 'Coordinator: stored bundles with Replications n/m', responses: ok('Bundles') },
    post: {
      summary: 'Coordinator: upload a bundle; checked (abu bundle, site keyring, product, every chunk), stored, replicated once per data center. With X-Abu-Bundle-Sha256 (and Content-Length), members pull it once its head passed the check, while the rest still arrives; an upload that then fails is discarded by every member',
      security: operator, requestBody: bundleBytes,
      parameters: [{ name: 'X-Abu-Bundle-Sha256', in: 'header', required: false, description: 'The SHA-256 of the whole bundle file (64 lowercase hex digits)', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } }],
      responses: status(201, 'Checked and stored at the coordinator; replication started (or running)'),
    },
  },
  '/api/site/bundles/{id}': {
    get: { summary: 'Coordinator: one bundle and its replication per member (bytes, state, error)', parameters: [id], responses: ok('Bundle', { type: 'object', properties: { bundle: { type: 'object' }, replication: { $ref: '#/components/schemas/Replication' } } }) },
    delete: { summary: 'Coordinator: stop replicating and remove the bundle from every member; unreachable members are named', security: operator, parameters: [id], responses: ok('Removed') },
  },
  '/api/site/bundles/{id}/organizations': { get: { summary: 'Coordinator: organizations with appliances not yet on the bundle, and the Data Center choices (all first)', parameters: [id], responses: ok('Organizations') } },
  '/api/site/install': {
    post: {
      summary: 'Coordinator: install by organization and data center where the replica is verified; skipped (incomplete replica, a warning) and refusing members are named',
      security: operator,
      requestBody: body({ bundle: { type: 'string' }, organizations: { type: 'array', items: { type: 'string' } }, dataCenter: { type: 'string', default: 'all' }, activate: { type: 'boolean', default: true }, acceptIrreversible: { type: 'boolean' } }, ['bundle']),
      responses: ok('Install report'),
    },
  },
  '/api/cluster/activate': {
    post: { summary: 'Coordinator: activate the alternate image on every member, coordinator first; in HA mode no two members of an HA group are away together', security: operator, requestBody: body({ bundle: { type: 'string' }, ha: { type: 'boolean', description: 'default: true when the site has HA groups' }, acceptIrreversible: { type: 'boolean' } }), responses: rolloutAnswer },
  },
  '/api/cluster/switch-back': { post: { summary: 'Coordinator: every member boots its alternate image, same order; refused for the whole cluster below an irreversible floor', security: operator, requestBody: body({ ha: { type: 'boolean' } }), responses: rolloutAnswer } },
  '/api/cluster/rollout': { get: { summary: 'Coordinator: the last rollout and the HA reboot slots held (503 ABU_ERR_COORDINATION_UNAVAILABLE while etcd has no quorum)', responses: ok('Rollout', { type: 'object', properties: { rollout: { $ref: '#/components/schemas/Rollout' }, rebootSlots: { type: 'object' } } }) } },
  '/api/cluster/events': { get: { summary: 'Coordinator: Server-Sent Events, one `rollout` event per journal change', responses: { 200: { description: 'event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } } } },
  '/api/site/peer/replicas': { get: { summary: 'Member: its replicas, bytes used and budget', responses: ok('Replicas') } },
  '/api/site/peer/replicas/{sha}': {
    get: { summary: 'Member: what it holds of a bundle (absent, partial with bytes, verified)', parameters: [sha], responses: ok('Replica state') },
    put: { summary: 'Member: bytes of a replica pushed by the coordinator or its data center\'s primary (Content-Range: bytes START-END/SIZE, resumed); verified by the member once complete. The site itself replicates by pulls', security: member, parameters: [sha], requestBody: bundleBytes, responses: ok('Replica state') },
    delete: { summary: 'Member: remove a replica (coordinator only)', security: member, parameters: [sha], responses: ok('Removed') },
  },
  '/api/site/peer/replicas/{sha}/install': { post: { summary: 'Member: install from its own verified replica under its own version policy (coordinator only)', security: member, parameters: [sha], requestBody: body({ activate: { type: 'boolean' }, acceptIrreversible: { type: 'boolean' } }), responses: ok('Installed') } },
  '/api/site/peer/replicas/{sha}/content': { get: { summary: 'Source (the coordinator for primaries, a data center\'s primary for its members): the replica from "Range: bytes=START-", served while it still arrives here (206, chunked); ends with trailer abu-replica-state: verified, or discarded (abu-replica-reason) when this member\'s own copy failed its verification or was removed', security: member, parameters: [sha], responses: { 206: { description: 'replica bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } } } },
  '/api/site/peer/replicas/{sha}/pull': { post: { summary: 'Member: fetch the bundle from its source, resuming from what it holds, and verify it itself (coordinator only); answers once verified', security: member, parameters: [sha], requestBody: body({ size: { type: 'integer' } }, ['size']), responses: ok('Pull result: offset, received, state') } },
  '/api/site/peer/activate': { post: { summary: 'Member: activate a slot (coordinator only)', security: member, requestBody: body({ target: { type: 'string' }, acceptIrreversible: { type: 'boolean' } }), responses: ok('Activated') } },
  '/api/site/peer/reboot': { post: { summary: 'Member: restart (coordinator only); answers before going down', security: member, responses: status(202, 'Restarting') } },
};
