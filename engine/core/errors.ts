// The one error catalogue: stable ABU_ERR_* codes (wire contract: never rename or renumber) and AbuError.

/**
 * Every code abu can report, with the one-line meaning shown in docs and API errors.
 * Sections belong to areas; append new codes to the section of your area.
 */
export const ERROR_CODES = {
  // general
  ABU_ERR_INTERNAL: 'an unexpected internal error; report it with the log',
  ABU_ERR_USAGE: 'the command or request was malformed',
  ABU_ERR_CONFIG: 'the configuration file is missing, malformed or inconsistent',
  ABU_ERR_BUSY: 'another operation is running; wait for it or cancel it',
  ABU_ERR_CANCELLED: 'the operation was cancelled; nothing was activated',
  ABU_ERR_STATE_CORRUPT: 'abu state file is unreadable',
  ABU_ERR_FILE: 'a file named on the command line is missing, is a directory or cannot be read',
  ABU_ERR_STATE_WRITE: 'abu could not save a file in its state folder (disk full, read-only or an I/O error); what was there is kept',
  ABU_ERR_INTERRUPTED: 'an operation was interrupted (its process ended before it finished); run it again',

  // bundle framing and manifest
  ABU_ERR_BUNDLE_MAGIC: 'not an abu bundle (bad magic)',
  ABU_ERR_BUNDLE_VERSION: 'bundle format version is not supported',
  ABU_ERR_BUNDLE_HEADER: 'bundle header is corrupt',
  ABU_ERR_BUNDLE_TRUNCATED: 'bundle ended before all its bytes arrived',
  ABU_ERR_BUNDLE_TRAILING: 'bundle has bytes after its last payload',
  ABU_ERR_BUNDLE_LIMIT: 'a length field exceeds its limit',
  ABU_ERR_BUNDLE_PADDING: 'bundle padding is not zero',
  ABU_ERR_MANIFEST_DECODE: 'manifest is not a valid protobuf Manifest',
  ABU_ERR_MANIFEST_INVALID: 'manifest content is inconsistent',
  ABU_ERR_SIGNATURE_MISSING: 'bundle carries no signature',
  ABU_ERR_SIGNATURE_INVALID: 'no signature verifies against the keyring',
  ABU_ERR_KEY_UNKNOWN: 'bundle is signed only by keys not in the keyring',
  ABU_ERR_KEY_INVALID: 'a key file is malformed',
  ABU_ERR_CHUNK_CRC: 'a payload chunk failed its CRC32 check',
  ABU_ERR_CHUNK_DIGEST: 'a payload chunk failed its SHA-256 check',
  ABU_ERR_IMAGE_DIGEST: 'an image failed its whole-image SHA-256 check',
  ABU_ERR_COMPRESSION_UNSUPPORTED: 'the image compression is not supported',
  ABU_ERR_SIGNATURE_DECODE: 'signature block is not a valid protobuf SignatureSet',
  ABU_ERR_CHUNK_DECOMPRESS: 'a compressed payload chunk is not one zstd frame of exactly its chunk\'s size',

  // policy
  ABU_ERR_INCOMPATIBLE: 'bundle is for another product',
  ABU_ERR_PREDECESSOR: 'bundle does not start from the installed version',
  ABU_ERR_MISSING_VERSIONS: 'appliance is behind: install the missing versions first',
  ABU_ERR_BELOW_FLOOR: 'version is older than an irreversible release already installed',
  ABU_ERR_DOWNGRADE: 'bundle is not newer than the installed version',
  ABU_ERR_NO_SLOT_CLASS: 'bundle image targets a slot class this appliance does not have',

  // slots and I/O
  ABU_ERR_IMAGE_TOO_LARGE: 'image is larger than its target slot',
  ABU_ERR_TARGET_IS_ACTIVE: 'refusing to write the booted slot',
  ABU_ERR_SLOT_UNKNOWN: 'no such slot',
  ABU_ERR_BOOTED_SLOT_UNKNOWN: 'cannot tell which slot is booted',
  ABU_ERR_IO: 'a disk operation failed',
  ABU_ERR_SOURCE: 'the bundle source failed or stalled',
  ABU_ERR_READBACK: 'data read back from the slot differs from what was written',

  // boot flags
  ABU_ERR_BOOTENV_CORRUPT: 'bootloader environment is corrupt (no valid copy)',
  ABU_ERR_BOOTENV_FULL: 'bootloader environment has no room for the variables',
  ABU_ERR_BOOTENV_FORMAT: 'bootloader environment bytes are malformed',
  ABU_ERR_BOOT_BACKEND: 'boot-flag backend is unknown or misconfigured',
  ABU_ERR_ACTIVATE_REFUSED: 'refusing to activate that slot',
  ABU_ERR_HEALTH_CHECK: 'a health check failed',
  ABU_ERR_ROLLBACK: 'the bootloader fell back to the previous slot',
  ABU_ERR_NOT_INSTALLED: 'that slot holds no verified release',
  ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED: 'activating an irreversible release needs the operator\'s explicit confirmation',

  // transports (HTTP, serial)
  ABU_ERR_UNAUTHORIZED: 'missing or wrong token',
  ABU_ERR_NOT_FOUND: 'no such resource',
  ABU_ERR_HTTP_SOURCE: 'the URL did not deliver the bundle',
  ABU_ERR_NOTHING_RUNNING: 'no operation is running, so there is nothing to cancel',
  ABU_ERR_UNSUPPORTED_MEDIA: 'the request body has a content type this endpoint does not take',
  ABU_ERR_QUEUE_CHAIN: 'the queued bundles do not form an unbroken version chain from the running version',
  ABU_ERR_SERIAL_LINE_TOO_LONG: 'a serial console line exceeded the line limit and was discarded',
  ABU_ERR_SERIAL_GARBAGE: 'a serial console line held control characters or bytes that are not text',
  ABU_ERR_SERIAL_BLOCK: 'a serial upload block was malformed, out of order or beyond the announced size',
  ABU_ERR_SERIAL_SHA256: 'the bytes uploaded over the serial line do not match the announced SHA-256',
  ABU_ERR_SERIAL_TIMEOUT: 'the other end of the serial line stopped answering',
  ABU_ERR_SERIAL_DEVICE: 'the serial device could not be opened or failed',
  ABU_ERR_DAEMON: 'the abu daemon closed the connection or stopped answering before it sent a reply',
  ABU_ERR_LISTEN: 'the update service cannot listen on its address and port (in use by another process, or not permitted)',
  ABU_ERR_QUEUE_DUPLICATE: 'the queue already holds a package with that version',
  ABU_ERR_RATE_LIMITED: 'this client sent more requests than http.limits allows; wait as Retry-After says, or send the token',
  ABU_ERR_EVENT_STREAMS_FULL: 'no more event streams may open (http.limits.eventStreams or eventStreamsPerClient); close one or retry later',

  // site and cluster (engine/cluster: replication between members, install by organization, cluster rollouts)
  ABU_ERR_SITE_NOT_COORDINATOR: 'this member is not the coordinator the site names; send the request to the coordinator',
  ABU_ERR_SITE_MEMBER_UNKNOWN: 'no site member has that name',
  ABU_ERR_SITE_MEMBER_UNREACHABLE: 'a site member did not answer',
  ABU_ERR_SITE_BUNDLE_UNKNOWN: 'the site bundle store holds no bundle with that id',
  ABU_ERR_SITE_BUDGET: 'the bundle store would exceed its byte budget; remove a bundle first',
  ABU_ERR_SITE_RANGE: 'the sender resumed at an offset the receiver does not hold; ask the receiver how much it has',
  ABU_ERR_SITE_REPLICA_DIGEST: 'the received replica does not hash to the bundle id it was sent as',
  ABU_ERR_SITE_REPLICA_MISSING: 'this member holds no verified replica of that bundle',
  ABU_ERR_SITE_SOURCE_DISCARDED: 'the member a replica was fetched from discarded its own copy (it failed its verification or was removed); the bytes fetched from it are dropped and fetched again',
  ABU_ERR_ROLLOUT_RUNNING: 'a cluster rollout is already running',
  ABU_ERR_ROLLOUT_REFUSED: 'the cluster rollout was refused before any member changed',
  ABU_ERR_COORDINATION_UNAVAILABLE: 'the coordination store (etcd) did not answer; the rollout goes on when it does',
  ABU_ERR_COORDINATION_CONFLICT: 'the rollout journal was changed by another writer since this coordinator read it',
} as const;

export type AbuErrorCode = keyof typeof ERROR_CODES;

/** An error the user can act on: a stable code, a message saying what is wrong, optional details. */
export class AbuError extends Error {
  readonly code: AbuErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: AbuErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AbuError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /** JSON shape used by the HTTP API and `--json` CLI output. */
  toJSON(): { code: AbuErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isAbuError(e: unknown, code?: AbuErrorCode): e is AbuError {
  return e instanceof AbuError && (code === undefined || e.code === code);
}

/** Wrap any error with context, keeping an AbuError's code: "install: writing rootfs: pwrite: EIO". */
export function withContext(context: string, e: unknown, fallback: AbuErrorCode = 'ABU_ERR_INTERNAL'): AbuError {
  const msg = e instanceof Error ? e.message : String(e);
  const code = e instanceof AbuError ? e.code : codeOfNative(e) ?? fallback;
  const details = e instanceof AbuError ? e.details : {};
  return new AbuError(code, `${context}: ${msg}`, { cause: e, details });
}

function codeOfNative(e: unknown): AbuErrorCode | undefined {
  return typeof e === 'object' && e !== null && 'syscall' in e ? 'ABU_ERR_IO' : undefined;
}
