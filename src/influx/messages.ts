const MAX_MESSAGE_LENGTH = 200;
const REDACTED = '[REDACTED]';
// C0 and C1 controls, DEL and line/paragraph separators: they could forge log lines.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** The forms a secret can take when a server or proxy echoes it back. */
function echoedForms(secret: string): string[] {
  const jsonEscaped = JSON.stringify(secret).slice(1, -1);
  return [...new Set([secret, jsonEscaped, encodeURIComponent(secret)])];
}

function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    for (const form of echoedForms(secret)) result = result.split(form).join(REDACTED);
  }
  return result;
}

/**
 * Makes text that came from the network (or mentions the request) fit for a log line or a
 * status message: secrets removed, control characters replaced, length capped.
 */
export function safeMessage(text: string, secrets: readonly string[]): string {
  // Redact before and after replacing controls: a secret may itself contain a control
  // character, and an echo with a control where the secret has a space becomes the secret.
  const flattened = redact(redact(text, secrets).replace(CONTROL_CHARACTERS, ' '), secrets).trim();
  // Cut only after redacting, so no prefix of a secret can survive at the end.
  return flattened.length > MAX_MESSAGE_LENGTH ? `${flattened.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : flattened;
}
