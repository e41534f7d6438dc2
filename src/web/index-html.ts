/** Where the page finds the API and its own assets; the server fills these in when it serves the page. */
export interface IndexHtmlOptions {
  /** The GraphQL endpoint, relative to the page (e.g. "/graphql"); the WebSocket URL is derived from it. */
  graphqlPath: string;
  scriptUrl: string;
  styleUrl: string;
}

/** The name of the meta element that tells the script where the GraphQL endpoint is. */
export const GRAPHQL_PATH_META = 'worksheet-images:graphql-path';

/**
 * The progress page's HTML. Everything the script needs is already in the markup, so the script only wires it up;
 * nothing inline (no script, no style attribute), so the Content-Security-Policy can forbid both.
 */
export function renderIndexHtml({ graphqlPath, scriptUrl, styleUrl }: IndexHtmlOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<link rel="icon" href="data:,">
<meta name="${GRAPHQL_PATH_META}" content="${escapeHtml(graphqlPath)}">
<title>Worksheet images · progress</title>
<link rel="stylesheet" href="${escapeHtml(styleUrl)}">
<script type="module" src="${escapeHtml(scriptUrl)}"></script>
</head>
<body>
<header class="page-header">
  <h1>Worksheet images</h1>
  <p>Paste or load a worksheet, press <strong>Generate images</strong>, and watch every picture placeholder fill in.</p>
</header>
<main>
  <section class="panel" aria-labelledby="worksheet-heading">
    <h2 id="worksheet-heading">Worksheet</h2>
    <label for="worksheet-json">Worksheet JSON</label>
    <p id="worksheet-hint" class="hint">Picture placeholders are elements with <code>"type": "image"</code>, a prompt, a width and a height.</p>
    <textarea id="worksheet-json" rows="14" spellcheck="false" autocomplete="off" aria-describedby="worksheet-hint worksheet-error"></textarea>
    <p id="worksheet-error" class="error" role="alert"></p>
    <div class="file-row">
      <label for="worksheet-file">Load a worksheet file (.json)</label>
      <input id="worksheet-file" type="file" accept=".json,application/json">
    </div>
    <div class="actions">
      <button id="generate" type="button" class="primary">Generate images</button>
      <button id="cancel" type="button" disabled>Cancel</button>
      <a id="download" class="download" download="worksheet-illustrated.json" hidden>Download the illustrated worksheet</a>
    </div>
  </section>
  <section class="panel" aria-labelledby="progress-heading">
    <h2 id="progress-heading">Progress</h2>
    <p id="offline-note" class="note" hidden><strong>Offline placeholders.</strong> The server has no image provider key, so each picture is a drawn preview with its prompt written on it, not a generated illustration.</p>
    <div class="progress-row">
      <progress id="progress-bar" max="1" value="0" aria-labelledby="progress-label"></progress>
      <span id="progress-label" class="progress-count"><span id="progress-count">0 / 0</span> images</span>
    </div>
    <p id="progress-status" class="status" role="status" aria-live="polite">Nothing generated yet.</p>
    <dl id="stats" class="stats" hidden>
      <div><dt>Successful</dt><dd id="stat-successful">0</dd></div>
      <div><dt>Failed</dt><dd id="stat-failed">0</dd></div>
      <div><dt>Cancelled</dt><dd id="stat-cancelled">0</dd></div>
      <div><dt>Retries</dt><dd id="stat-retries">0</dd></div>
      <div><dt>Duration</dt><dd id="stat-duration">0 s</dd></div>
    </dl>
    <ol id="cards" class="cards" aria-label="Picture placeholders"></ol>
  </section>
</main>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
