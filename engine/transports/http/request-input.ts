// Validation of what clients send (JSON fields, names, headers): every rejection is ABU_ERR_USAGE with the field named.
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { AbuError } from '../../core/errors';
import { suggest } from '../../core/suggest';

const SLOT_NAME = /^[A-Za-z0-9_]{1,16}$/;

/**
 * The JSON object a call was sent; with `fields`, only those (see knownFieldsOnly).
 */
export function jsonBody(req: FastifyRequest, fields?: readonly string[]): Record<string, unknown> {
  const body = req.body ?? {};
  if (typeof body !== 'object' || Array.isArray(body) || isStream(body)) {
    throw new AbuError('ABU_ERR_USAGE', 'the request body must be a JSON object (Content-Type: application/json)');
  }
  if (fields) knownFieldsOnly(body as Record<string, unknown>, fields, `${req.method} ${req.routeOptions?.url ?? req.url}`);
  return body as Record<string, unknown>;
}

/**
 * Refuses a field (JSON body or query parameter) the call does not take, naming the nearest one. A mistyped
 * field would otherwise be ignored and its default used: {"slott": "A"} would activate the alternate image
 * rather than A, "?activte=false" would activate.
 */
export function knownFieldsOnly(given: Record<string, unknown>, fields: readonly string[], call: string): void {
  const unknown = Object.keys(given).filter((k) => !fields.includes(k));
  if (unknown.length === 0) return;
  const first = unknown[0].slice(0, 60);
  const near = suggest(first, fields);
  throw new AbuError('ABU_ERR_USAGE', `unknown field ${JSON.stringify(first)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}: ${call} takes ${fields.length ? fields.join(', ') : 'no fields'}`, { details: { unknown: unknown.slice(0, 10), fields } });
}

export function optionalSlot(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  // Slot names go to the bootloader environment: allow only what a slot can be called.
  if (typeof v !== 'string' || !SLOT_NAME.test(v)) throw new AbuError('ABU_ERR_USAGE', `${field} must be a slot name (1-16 letters, digits or _), not ${JSON.stringify(v).slice(0, 60)}`);
  return v;
}

export function optionalBoolean(body: Record<string, unknown>, field: string, fallback: boolean | undefined): boolean | undefined {
  const v = body[field];
  if (v === undefined) return fallback;
  if (v === true || v === 'true' || v === '1') return true;
  if (v === false || v === 'false' || v === '0') return false;
  throw new AbuError('ABU_ERR_USAGE', `${field} must be true or false`);
}

export function requiredString(body: Record<string, unknown>, field: string, maxLength: number): string {
  const v = body[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) throw new AbuError('ABU_ERR_USAGE', `${field} must be a non-empty string of at most ${maxLength} characters`);
  return v;
}

export function requiredNumber(body: Record<string, unknown>, field: string): number {
  const v = body[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new AbuError('ABU_ERR_USAGE', `${field} must be a non-negative integer`);
  return v;
}

/** The raw body of an application/octet-stream request (the parser passes the stream through). */
export function uploadBody(req: FastifyRequest): Readable {
  if (!isStream(req.body)) throw new AbuError('ABU_ERR_UNSUPPORTED_MEDIA', 'send the bundle as the request body with Content-Type: application/octet-stream');
  return req.body as Readable;
}

/**
 * A site upload's announced SHA-256 (X-Abu-Bundle-Sha256) and size (Content-Length): with both, members pull the
 * bundle while it still arrives. Without the header it is stored first and then replicated.
 */
export function announcedUpload(req: FastifyRequest): { sha256: string; size: number } | undefined {
  const sha256 = req.headers['x-abu-bundle-sha256'];
  if (sha256 === undefined) return undefined;
  const size = contentLength(req);
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256) || size === undefined) {
    throw new AbuError('ABU_ERR_USAGE', 'X-Abu-Bundle-Sha256 takes the 64 lowercase hex digits of the bundle\'s SHA-256, with a Content-Length');
  }
  return { sha256, size };
}

export function contentLength(req: FastifyRequest): number | undefined {
  const raw = req.headers['content-length'];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/**
 * The file name the client gives (X-Abu-Filename, URI-encoded) is shown in logs only, never used as a path:
 * keep its last path component, printable characters, at most 100 of them.
 */
export function displayName(req: FastifyRequest): string {
  let raw = String(req.headers['x-abu-filename'] ?? 'bundle');
  try {
    raw = decodeURIComponent(raw);
  } catch {
    /* keep it encoded: still only a label */
  }
  const base = raw.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[^\x20-\x7e]/g, '?').replace(/^\.+/, '').slice(0, 100);
  return clean || 'bundle';
}

function isStream(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as Readable).pipe === 'function';
}
