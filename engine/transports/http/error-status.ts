// The one table from error codes to HTTP statuses, and the JSON error body every failure is sent as.
import { AbuError, isAbuError, type AbuErrorCode } from '../../core/errors';

/** Codes not listed are server faults (500): a new code should be added here with its status. */
const STATUS: Partial<Record<AbuErrorCode, number>> = {
  ABU_ERR_USAGE: 400,
  ABU_ERR_FILE: 400,
  ABU_ERR_SOURCE: 400,
  ABU_ERR_UNAUTHORIZED: 401,
  ABU_ERR_NOT_FOUND: 404,
  ABU_ERR_SLOT_UNKNOWN: 404,
  ABU_ERR_BUSY: 409,
  ABU_ERR_CANCELLED: 409,
  ABU_ERR_INTERRUPTED: 409,
  ABU_ERR_NOTHING_RUNNING: 409,
  ABU_ERR_TARGET_IS_ACTIVE: 409,
  ABU_ERR_ACTIVATE_REFUSED: 409,
  ABU_ERR_NOT_INSTALLED: 409,
  ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED: 409,
  ABU_ERR_INCOMPATIBLE: 409,
  ABU_ERR_PREDECESSOR: 409,
  ABU_ERR_MISSING_VERSIONS: 409,
  ABU_ERR_BELOW_FLOOR: 409,
  ABU_ERR_DOWNGRADE: 409,
  ABU_ERR_NO_SLOT_CLASS: 409,
  ABU_ERR_QUEUE_CHAIN: 409,
  ABU_ERR_QUEUE_DUPLICATE: 409,
  ABU_ERR_IMAGE_TOO_LARGE: 413,
  ABU_ERR_BUNDLE_LIMIT: 413,
  ABU_ERR_UNSUPPORTED_MEDIA: 415,
  ABU_ERR_BUNDLE_MAGIC: 422,
  ABU_ERR_BUNDLE_VERSION: 422,
  ABU_ERR_BUNDLE_HEADER: 422,
  ABU_ERR_BUNDLE_TRUNCATED: 422,
  ABU_ERR_BUNDLE_TRAILING: 422,
  ABU_ERR_BUNDLE_PADDING: 422,
  ABU_ERR_MANIFEST_DECODE: 422,
  ABU_ERR_MANIFEST_INVALID: 422,
  ABU_ERR_SIGNATURE_DECODE: 422,
  ABU_ERR_SIGNATURE_MISSING: 422,
  ABU_ERR_SIGNATURE_INVALID: 422,
  ABU_ERR_KEY_UNKNOWN: 422,
  ABU_ERR_CHUNK_CRC: 422,
  ABU_ERR_CHUNK_DIGEST: 422,
  ABU_ERR_IMAGE_DIGEST: 422,
  ABU_ERR_COMPRESSION_UNSUPPORTED: 422,
  ABU_ERR_CHUNK_DECOMPRESS: 422,
  ABU_ERR_HTTP_SOURCE: 502,
  ABU_ERR_SITE_NOT_COORDINATOR: 409,
  ABU_ERR_SITE_MEMBER_UNKNOWN: 404,
  ABU_ERR_SITE_MEMBER_UNREACHABLE: 502,
  ABU_ERR_SITE_BUNDLE_UNKNOWN: 404,
  ABU_ERR_SITE_BUDGET: 507,
  ABU_ERR_SITE_RANGE: 416,
  ABU_ERR_SITE_REPLICA_DIGEST: 422,
  ABU_ERR_SITE_REPLICA_MISSING: 409,
  ABU_ERR_SITE_SOURCE_DISCARDED: 502,
  ABU_ERR_ROLLOUT_RUNNING: 409,
  ABU_ERR_ROLLOUT_REFUSED: 409,
  // Raised by the CLI, never by the daemon itself; the statuses say what a proxy in between would answer.
  ABU_ERR_DAEMON: 502,
  ABU_ERR_LISTEN: 503,
  ABU_ERR_COORDINATION_UNAVAILABLE: 503,
  ABU_ERR_COORDINATION_CONFLICT: 409,
  ABU_ERR_RATE_LIMITED: 429,
  // The appliance's own storage failed: a server fault, said explicitly (507 would suggest the client sent too much).
  ABU_ERR_STATE_WRITE: 500,
  ABU_ERR_EVENT_STREAMS_FULL: 503,
};

export function httpStatusOf(code: string): number {
  return STATUS[code as AbuErrorCode] ?? 500;
}

export interface ErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** Any thrown value as an AbuError; fastify's own errors (bad JSON, wrong media type) become usage errors. */
export function toAbuError(e: unknown, contentType?: string): AbuError {
  if (isAbuError(e)) return sourceCause(e);
  const fe = e as { code?: string; statusCode?: number; message?: string };
  if (typeof fe?.code === 'string' && fe.code.startsWith('FST_') && fe.statusCode && fe.statusCode < 500) {
    const code: AbuErrorCode = fe.statusCode === 415 ? 'ABU_ERR_UNSUPPORTED_MEDIA' : fe.statusCode === 413 ? 'ABU_ERR_BUNDLE_LIMIT' : 'ABU_ERR_USAGE';
    const message = code === 'ABU_ERR_UNSUPPORTED_MEDIA' ? unsupportedMedia(contentType) : fe.message ?? 'bad request';
    return new AbuError(code, message, { details: { reason: fe.code, ...(contentType ? { contentType } : {}) } });
  }
  if (fe?.statusCode === 400 || (e as { validation?: unknown })?.validation) {
    return new AbuError('ABU_ERR_USAGE', fe.message ?? 'bad request');
  }
  return new AbuError('ABU_ERR_INTERNAL', fe?.message ?? String(e), { cause: e });
}

/**
 * fastify's own text is "Unsupported Media Type". `curl --data-binary @x.abu` sends form encoding unless told
 * otherwise, so say which types the API takes and how to send a bundle.
 */
function unsupportedMedia(contentType: string | undefined): string {
  return `Content-Type ${contentType ? JSON.stringify(contentType.slice(0, 100)) : '(none)'} is not accepted: send a bundle as application/octet-stream (curl --data-binary @FILE -H 'Content-Type: application/octet-stream') and other request bodies as application/json`;
}

/** Source failures the bundle reader wraps as ABU_ERR_SOURCE keep their own code for the client. */
const SPECIFIC_SOURCE_CODES: AbuErrorCode[] = ['ABU_ERR_HTTP_SOURCE', 'ABU_ERR_CANCELLED', 'ABU_ERR_IMAGE_TOO_LARGE'];

/**
 * "bundle source failed ...: the server answered 404" is reported as ABU_ERR_SOURCE by the reader; a client
 * needs the code of the cause (502 for a bad upstream, 409 for a cancel), with the full message kept.
 */
function sourceCause(e: AbuError): AbuError {
  if (e.code !== 'ABU_ERR_SOURCE') return e;
  for (let c: unknown = e.cause, depth = 0; c && depth < 8; c = (c as Error).cause, depth++) {
    if (isAbuError(c) && SPECIFIC_SOURCE_CODES.includes(c.code)) {
      return new AbuError(c.code, e.message, { cause: e, details: { ...e.details, ...c.details } });
    }
  }
  return e;
}

export function errorBody(e: AbuError): ErrorBody {
  return e.toJSON();
}
