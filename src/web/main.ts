import { config as zodConfig } from 'zod';
import {
  GraphQLRequestError,
  WorksheetImageGenerationService,
  type IllustratedWorksheet,
  type Worksheet,
} from '../client/index.js';
import { collectPlaceholders, explainNoPlaceholders } from '../worksheet/worksheet.js';
import { worksheetSchema } from '../worksheet/worksheet-schema.js';
import { GRAPHQL_PATH_META } from './index-html.js';
import { ProgressView } from './progress-view.js';
import { SAMPLE_WORKSHEET } from './sample-worksheet.js';

// zod would otherwise probe `new Function`, which the page's Content-Security-Policy refuses (and reports).
zodConfig({ jitless: true });

const byId = <T extends HTMLElement>(id: string, type: new () => T): T => {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`The page has no #${id} element of the expected kind`);
  return element;
};

const textarea = byId('worksheet-json', HTMLTextAreaElement);
const fileInput = byId('worksheet-file', HTMLInputElement);
const inputError = byId('worksheet-error', HTMLElement);
const generateButton = byId('generate', HTMLButtonElement);
const cancelButton = byId('cancel', HTMLButtonElement);
const downloadLink = byId('download', HTMLAnchorElement);
const view = new ProgressView(document);

const graphqlPath = document.querySelector<HTMLMetaElement>(`meta[name="${GRAPHQL_PATH_META}"]`)?.content || '/graphql';
// The WebSocket URL follows from this one: http → ws, https → wss, same host.
const service = new WorksheetImageGenerationService({ url: new URL(graphqlPath, location.href).href });
let running: AbortController | undefined;

if (textarea.value.trim() === '') textarea.value = JSON.stringify(SAMPLE_WORKSHEET, null, 2);

generateButton.addEventListener('click', () => void generate());
cancelButton.addEventListener('click', () => {
  if (!running) return;
  running.abort(new DOMException('Cancelled by the teacher', 'AbortError'));
  cancelButton.disabled = true;
  cancelButton.textContent = 'Cancelling…';
  view.setStatus('Cancelling…');
});
fileInput.addEventListener('change', () => void loadFile());
textarea.addEventListener('input', () => showInputError(''));

async function generate(): Promise<void> {
  if (running) return;
  const worksheet = readWorksheet();
  if (!worksheet) return;
  const placeholders = collectPlaceholders(worksheet);
  if (placeholders.length === 0) {
    const explanation = `Nothing to do: ${explainNoPlaceholders(worksheet)}`;
    showInputError(explanation);
    view.setStatus(explanation);
    return;
  }

  const controller = new AbortController();
  running = controller;
  setRunning(true);
  view.start(placeholders);
  try {
    const illustrated = await service.generateImagesForWorksheet(
      worksheet,
      (progress) => view.updateProgress(progress),
      {
        signal: controller.signal,
        onImage: (image) => view.updateImage(image),
      },
    );
    view.finish(illustrated);
    offerDownload(illustrated);
  } catch (error) {
    if (controller.signal.aborted) {
      view.abandon('Cancelled before the job was sent: nothing was generated.', 'cancelled');
    } else {
      const message = describeError(error);
      view.abandon(`Generation stopped: ${message}`, 'failed');
      showInputError(message);
    }
  } finally {
    running = undefined;
    setRunning(false);
  }
}

/** The textarea's worksheet, or null after saying what is wrong with it. */
function readWorksheet(): Worksheet | null {
  let json: unknown;
  try {
    json = JSON.parse(textarea.value);
  } catch (error) {
    showInputError(`The worksheet is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
  const parsed = worksheetSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'the worksheet'}: ${issue.message}`);
    showInputError(`The worksheet does not follow the format (${issues.join('; ')}).`);
    return null;
  }
  showInputError('');
  return parsed.data;
}

async function loadFile(): Promise<void> {
  const file = fileInput.files?.[0];
  if (!file) return;
  textarea.value = await file.text();
  if (readWorksheet()) view.setStatus(`Loaded ${file.name}. Press Generate images to start.`);
}

function showInputError(message: string): void {
  inputError.textContent = message;
  if (message) textarea.setAttribute('aria-invalid', 'true');
  else textarea.removeAttribute('aria-invalid');
}

function setRunning(isRunning: boolean): void {
  const focused = document.activeElement;
  generateButton.disabled = isRunning;
  textarea.readOnly = isRunning;
  fileInput.disabled = isRunning;
  cancelButton.disabled = !isRunning;
  cancelButton.textContent = 'Cancel';
  if (isRunning) downloadLink.hidden = true;
  // Keyboard users keep their place: the button they were on is now disabled, so focus moves to the one that is not.
  if (isRunning && focused === generateButton) cancelButton.focus();
  if (!isRunning && (focused === cancelButton || focused === document.body)) generateButton.focus();
}

function offerDownload({ worksheet }: IllustratedWorksheet): void {
  if (downloadLink.href) URL.revokeObjectURL(downloadLink.href);
  const blob = new Blob([JSON.stringify(worksheet, null, 2)], { type: 'application/json' });
  downloadLink.href = URL.createObjectURL(blob);
  downloadLink.hidden = false;
}

function describeError(error: unknown): string {
  if (error instanceof GraphQLRequestError) {
    return error.code === 'BAD_USER_INPUT' ? `the server refused the worksheet: ${error.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
