import { readFileSync } from 'node:fs';

export const HELP_TEXT = `worksheet-images: fill a worksheet's picture placeholders with generated images

Usage:
  worksheet-images generate <worksheet.json> --out <dir> [--url <server>] [--token <token>] [--embed]
  worksheet-images --help | --version

Every placeholder's image is generated in one job: on a worksheet-images server when --url is given, otherwise in
this process on the embedded offline provider (PNG previews that show the prompt; no network, no key).

Options:
  -o, --out <dir>      Directory to write to; created when missing, files of the same name are replaced. It gets
                       one image per placeholder, named <page>-<element>.<ext> (indexes from 0; ext png, jpg or
                       webp after the image's type) and worksheet.json, the worksheet with the images mapped back.
  -u, --url <server>   The server's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql (a URL without a path
                       gets /graphql). Progress comes over WebSocket, falling back to polling over HTTP.
  -t, --token <token>  Access token for a server started with API_TOKENS (sent as "Authorization: Bearer").
                       The environment variable WORKSHEET_IMAGES_TOKEN is used when --token is not given.
      --embed          Keep each image in worksheet.json as a data URL (src: "data:image/png;base64,...")
                       instead of the written file's name (src: "0-1.png", relative to worksheet.json).
  -h, --help           Show this help.
  -v, --version        Show the version.

The worksheet format (JSON):
  { "title": "Counting with animals",
    "pages": [ { "elements": [
      { "type": "text", "text": "How many apples?" },
      { "type": "image", "prompt": "Three red apples", "width": 512, "height": 384, "seed": 7 } ] } ] }
  A placeholder is an element with "type": "image", a non-blank "prompt", "width" and "height" in pixels, an
  optional integer "seed" and no "src" yet. Its id is "<page>-<element>": "0-1" is page 0, element 1. Afterwards
  it has "src", or "imageError" ({ code, message, retryable }) when its image failed. Every other field is kept.
  Elements that already have a "src" are left alone, so running the written worksheet.json again (with the same
  --out) fills only what failed.

Progress goes to stderr (a live bar on a terminal, one line per finished image otherwise), the summary to stdout.
Ctrl-C cancels the job, writes what was done and exits 130; a second Ctrl-C quits at once.

In-process generation reads the server's limits from the environment: IMAGE_MIN_SIDE, IMAGE_MAX_SIDE,
MAX_PROMPT_LENGTH, MAX_BATCH_SIZE, GENERATION_CONCURRENCY, GENERATION_MAX_ATTEMPTS, UPSTREAM_TIMEOUT_MS.

Exit codes:
  0    every image was generated
  1    failure: the file is missing or is not a worksheet, the server is unreachable or refused the token, the
       worksheet asks for something out of limits (bad input), or the output could not be written
  2    usage error: unknown option, missing argument
  3    some images failed; the others and worksheet.json (with each failure's imageError) were written
  4    nothing to do: the worksheet has no placeholder left to fill (none with "type": "image", or every one
       already has its "src"); the message says which elements came close; nothing was written
  130  interrupted with Ctrl-C; what was done was written
`;

/** The package's version, read from package.json beside src/ or dist/. */
export function packageVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof packageJson.version === 'string' ? packageJson.version : 'unknown';
}
