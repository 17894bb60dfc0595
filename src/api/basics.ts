// The smallest shape checks the spec checks and the template checks share.

export const SECRET_DATA_KEY = /^[-._a-zA-Z0-9]+$/;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
