// Runs a native boot-env codec call and turns its coded Error into an AbuError with context.
import { AbuError, ERROR_CODES, type AbuErrorCode } from '../core/errors';

export function codecCall<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code && code in ERROR_CODES) {
      throw new AbuError(code as AbuErrorCode, `${context}: ${(e as Error).message}`, { cause: e });
    }
    throw new AbuError('ABU_ERR_INTERNAL', `${context}: ${(e as Error).message}`, { cause: e });
  }
}
