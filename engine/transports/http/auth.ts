// The daemon's bearer token: from config, or generated on first start and kept in a 0600 file; checked in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { AbuError } from '../../core/errors';
import { writeFileAtomic } from '../../state/atomic-file';

/** The configured token wins; otherwise the stored one; otherwise a new one is generated and stored. */
export async function resolveToken(configured: string | undefined, tokenFile: string): Promise<string> {
  if (configured !== undefined) {
    if (configured.length < 16) throw new AbuError('ABU_ERR_CONFIG', 'http.token must be at least 16 characters; remove it to have one generated');
    return configured;
  }
  const stored = await readStored(tokenFile);
  if (stored) return stored;
  const token = randomBytes(32).toString('base64url');
  // 0600: the token grants installs and reboots, so only root may read it.
  await writeFileAtomic(tokenFile, `${token}\n`, 0o600);
  return token;
}

async function readStored(tokenFile: string): Promise<string | null> {
  let text: string;
  try {
    const st = await fs.stat(tokenFile);
    // A token others can read is no secret: tighten it rather than serve with it exposed.
    if ((st.mode & 0o077) !== 0) await fs.chmod(tokenFile, 0o600);
    text = await fs.readFile(tokenFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AbuError('ABU_ERR_CONFIG', `cannot read the HTTP token file ${tokenFile}: ${(e as Error).message}`, { cause: e });
  }
  const token = text.trim();
  return token.length >= 16 ? token : null;
}

/** Throws ABU_ERR_UNAUTHORIZED unless the Authorization header carries the token. */
export function checkBearer(header: string | undefined, token: string): void {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) throw new AbuError('ABU_ERR_UNAUTHORIZED', 'this call changes the appliance: send "Authorization: Bearer <token>" (the token is printed by abu serve)');
  // Compare digests so the comparison takes the same time whatever the length or content.
  const a = createHash('sha256').update(m[1]).digest();
  const b = createHash('sha256').update(token).digest();
  if (!timingSafeEqual(a, b)) throw new AbuError('ABU_ERR_UNAUTHORIZED', 'wrong token: use the one abu serve printed or the http.token from the config');
}
