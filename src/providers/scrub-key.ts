const REDACTED = '[REDACTED]';
/** Shorter runs are too likely to occur by chance in ordinary words. */
const PIECE = 8;

/**
 * Removes an API key from upstream text before it is logged: every stretch of the text made of eight-character
 * pieces of the key, the reversed key, or its base64, base64url or hex encodings (compared without case) is
 * replaced, so the key echoed whole, in pieces, encoded or reversed is caught. (Clients never see upstream text at
 * all; this protects the logs.)
 */
export function createKeyScrubber(apiKey: string): (text: string) => string {
  if (apiKey.length < PIECE) return (text) => (apiKey.length === 0 ? text : text.split(apiKey).join(REDACTED));
  const key = Buffer.from(apiKey, 'utf8');
  const forms = [
    apiKey,
    [...apiKey].reverse().join(''),
    key.toString('base64'),
    key.toString('base64url'),
    key.toString('hex'),
  ];
  const pieces = new Set<string>();
  for (const form of forms) {
    for (let start = 0; start + PIECE <= form.length; start += 1) {
      pieces.add(form.slice(start, start + PIECE).toLowerCase());
    }
  }
  return (text) => {
    const lower = text.toLowerCase();
    const secret = new Uint8Array(text.length);
    for (let start = 0; start + PIECE <= text.length; start += 1) {
      if (pieces.has(lower.slice(start, start + PIECE))) secret.fill(1, start, start + PIECE);
    }
    let scrubbed = '';
    for (let index = 0; index < text.length; index += 1) {
      if (secret[index] === 0) scrubbed += text[index];
      else if (index === 0 || secret[index - 1] === 0) scrubbed += REDACTED;
    }
    return scrubbed;
  };
}
