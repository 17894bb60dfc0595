import { randomBytes } from 'node:crypto';

const TOKEN_BYTES = 48;
const PASSWORD_BYTES = 24;

/** An operator token: 48 random bytes, URL-safe (64 characters). */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * A password of 32 URL-safe characters (well inside InfluxDB's 8-72) that also passes
 * `--strong-passwords` (three of upper, lower, digit, symbol), so it works on either server.
 */
export function generatePassword(): string {
  for (;;) {
    const candidate = randomBytes(PASSWORD_BYTES).toString('base64url');
    if (/[A-Z]/.test(candidate) && /[a-z]/.test(candidate) && /[0-9]/.test(candidate)) return candidate;
  }
}
