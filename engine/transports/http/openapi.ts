// The OpenAPI 3.0 description served at /api/openapi.json (hand-written: routes validate their own input).
import { PROGRESS_SCHEMA } from '../../core/progress';
import { ERROR_CODES } from '../../core/errors';
import { sitePaths, siteSchemas } from './openapi-site';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = { default: { description: 'An error; `code` is a stable ABU_ERR_* code', content: json(ref('Error')) } };
const ok = (description: string, schema: object = { type: 'object' }) => ({ 200: { description, content: json(schema) }, ...errors });
const accepted = (description: string) => ({ 202: { description, content: json({ type: 'object' }) }, ...errors });
const secured = [{ bearer: [] }];
const slotBody = { content: json({ type: 'object', properties: { slot: { type: 'string', pattern: '^[A-Za-z0-9_]{1,16}$' } } }) };
const bundleBody = {
  required: true,
  description: 'The bundle bytes, streamed (no multipart). X-Abu-Filename may carry the file name for logs.',
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
};

const paths = {
  '/api/status': { get: { summary: 'Slots, versions, booted and primary slot, floor, running operation, last error, warnings', responses: ok('Status', ref('Status')) } },
  '/api/history': { get: { summary: 'Newest first', parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } }], responses: ok('History') } },
  '/api/openapi.json': { get: { summary: 'This description', responses: ok('OpenAPI 3.0 document') } },
  '/api/events': { get: { summary: `Server-Sent Events: progress, log and queue events (schema ${PROGRESS_SCHEMA}); Last-Event-ID replays missed events; 503 ABU_ERR_EVENT_STREAMS_FULL over http.limits`, responses: { 200: { description: 'event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors } } },
  '/api/install': {
    post: {
      summary: 'Install an uploaded bundle: the body streams through verification into the alternate slot',
      security: secured,
      parameters: [
        { name: 'activate', in: 'query', description: 'default: the config\'s install.activate', schema: { type: 'boolean' } },
        { name: 'reboot', in: 'query', description: 'install, activate and restart ("Install and restart")', schema: { type: 'boolean' } },
        { name: 'acceptIrreversible', in: 'query', description: 'the operator\'s yes to activating an irreversible release (else 409 ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED before any write)', schema: { type: 'boolean' } },
        { name: 'adaptive', in: 'query', description: 'skip the chunks the alternate slot holds and copy those the booted slot holds (default: the config\'s install.adaptive)', schema: { type: 'boolean' } },
      ],
      requestBody: bundleBody,
      responses: ok('Installed', ref('InstallResult')),
    },
  },
  '/api/install-url': {
    post: {
      summary: 'Download a bundle (http/https, resumed with Range after a dropped connection) and install it while streaming',
      security: secured,
      requestBody: { required: true, content: json({ type: 'object', required: ['url'], properties: { url: { type: 'string' }, activate: { type: 'boolean' }, reboot: { type: 'boolean' }, acceptIrreversible: { type: 'boolean' }, adaptive: { type: 'boolean' } } }) },
      responses: ok('Installed', ref('InstallResult')),
    },
  },
  '/api/cancel': { post: { summary: 'Cancel the running install; nothing is activated', security: secured, responses: ok('Cancelled') } },
  '/api/activate': {
    post: {
      summary: 'Choose what boots next: the alternate image (default) or a named slot; the booted slot keeps the current image (undoes a pending activation). reboot:true restarts into it',
      security: secured,
      requestBody: { content: json({ type: 'object', properties: { slot: { type: 'string' }, reboot: { type: 'boolean' }, acceptIrreversible: { type: 'boolean' } } }) },
      responses: { ...ok('What boots next', ref('ActivateResult')), ...accepted('Activated; restarting') },
    },
  },
  '/api/mark-good': { post: { summary: 'Confirm a slot (default: the booted one)', security: secured, requestBody: slotBody, responses: ok('Marked good') } },
  '/api/mark-bad': { post: { summary: 'Mark a slot bad (default: the booted one)', security: secured, requestBody: slotBody, responses: ok('Marked bad') } },
  '/api/reboot': { post: { summary: 'Restart the appliance (configured command or the simulated reboot)', security: secured, responses: accepted('Restarting') } },
  '/api/queue': {
    get: { summary: 'Queued packages in apply order, each with the rule it breaks, if any', responses: ok('Queue') },
    post: { summary: 'Add a package to the queue (signature checked on arrival)', security: secured, requestBody: bundleBody, responses: { 201: { description: 'Queued', content: json({ type: 'object' }) }, ...errors } },
  },
  '/api/queue/{id}': { delete: { summary: 'Remove a queued package', security: secured, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{16}$' } }], responses: ok('Removed') } },
  '/api/queue/apply': {
    post: {
      summary: 'Apply every queued package in version order (install, activate, restart, next); a queue holding an irreversible release needs acceptIrreversible',
      security: secured,
      requestBody: { content: json({ type: 'object', properties: { acceptIrreversible: { type: 'boolean' } } }) },
      responses: accepted('Applying'),
    },
  },
  '/api/token-check': { post: { summary: 'Check a token without changing anything (200 with a valid token, else 401)', security: secured, responses: ok('Token accepted') } },
};

const schemas = {
  Error: {
    type: 'object',
    required: ['code', 'message'],
    properties: { code: { type: 'string', enum: Object.keys(ERROR_CODES) }, message: { type: 'string' }, details: { type: 'object' } },
  },
  Slot: {
    type: 'object',
    properties: {
      name: { type: 'string' }, device: { type: 'string' }, version: { type: 'string', nullable: true }, description: { type: 'string', nullable: true },
      irreversible: { type: 'boolean' }, state: { type: 'string', enum: ['good', 'bad', 'trying'] }, triesLeft: { type: 'integer' }, booted: { type: 'boolean' }, primary: { type: 'boolean' },
      image: { type: 'string', enum: ['verified', 'incomplete', 'empty', 'unknown'] },
    },
  },
  Status: {
    type: 'object',
    properties: {
      product: { type: 'string' }, booted: { type: 'string' }, alternate: { type: 'string' }, slots: { type: 'array', items: ref('Slot') },
      floor: { type: 'string', nullable: true }, operation: { type: 'string', nullable: true },
      lock: { type: 'object', nullable: true, description: 'the process holding the appliance lock', properties: { pid: { type: 'integer' }, operation: { type: 'string' }, owner: { type: 'string' }, since: { type: 'string' } } },
      pending: { type: 'object', nullable: true, description: 'the activation the next boot tries', properties: { slot: { type: 'string' }, version: { type: 'string' }, time: { type: 'string' } } },
      lastError: { type: 'object', nullable: true, properties: { code: { type: 'string' }, message: { type: 'string' }, time: { type: 'string' }, past: { type: 'boolean' } } },
      resumable: { type: 'object', nullable: true, description: 'an interrupted install that installing the same bundle again resumes', properties: { slot: { type: 'string' }, version: { type: 'string' }, chunksDone: { type: 'integer' }, chunks: { type: 'integer' }, savedAt: { type: 'string' } } },
      warnings: { type: 'array', items: { type: 'string' } }, alternateActivatable: { type: 'boolean' },
    },
  },
  ActivateResult: {
    type: 'object',
    properties: { slot: { type: 'string' }, changed: { type: 'boolean' }, message: { type: 'string' }, rebooting: { type: 'boolean' } },
  },
  InstallResult: {
    type: 'object',
    properties: {
      slot: { type: 'string' }, version: { type: 'string' }, bytesWritten: { type: 'integer' }, seconds: { type: 'number' }, activated: { type: 'boolean' },
      transfer: { type: 'object', description: 'adaptive installs: image bytes fetched from the bundle, copied from the booted slot, skipped (already in the alternate slot)', properties: { fetched: { type: 'integer' }, copied: { type: 'integer' }, skipped: { type: 'integer' } } },
    },
  },
};

export function openApiDocument(): object {
  return {
    openapi: '3.0.3',
    info: { title: 'abu update service', version: '1', description: 'A/B updates for this appliance. Calls that change anything need Authorization: Bearer <token>.' },
    paths: { ...paths, ...sitePaths },
    components: {
      schemas: { ...schemas, ...siteSchemas },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, siteToken: { type: 'http', scheme: 'bearer', description: "the calling member's site token (site.json holds its SHA-256)" } },
    },
  };
}
