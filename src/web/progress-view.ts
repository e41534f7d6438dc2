import type {
  GenerationProgress,
  GenerationStatsFieldsFragment,
  IllustratedWorksheet,
  ImageResultFieldsFragment,
} from '../client/index.js';
import type { WorksheetPlaceholder } from '../worksheet/worksheet.js';
import { describeImageState, formatDuration } from './image-state.js';

interface Card {
  item: HTMLLIElement;
  frame: HTMLDivElement;
  badge: HTMLSpanElement;
  detail: HTMLSpanElement;
  prompt: string;
  shownImage: string | null;
}

/** The progress half of the page: the bar with "N / M", the status line, the stats and one card per placeholder. */
export class ProgressView {
  private readonly cards = new Map<string, Card>();
  private total = 0;

  constructor(private readonly root: Document) {}

  /** Shows every placeholder as queued, before anything is sent. */
  start(placeholders: readonly WorksheetPlaceholder[]): void {
    this.cards.clear();
    this.total = placeholders.length;
    this.element('cards', HTMLOListElement).replaceChildren(
      ...placeholders.map((placeholder) => this.createCard(placeholder, placeholders)),
    );
    this.element('stats', HTMLElement).hidden = true;
    this.element('offline-note', HTMLElement).hidden = true;
    this.showCount(0);
    this.setStatus(`Starting ${plural(placeholders.length, 'image')}…`);
  }

  updateProgress(progress: GenerationProgress): void {
    this.total = progress.total;
    this.showCount(progress.completed);
    const now = progress.current ? ` Now drawing “${progress.current}”.` : '';
    const errors = progress.errors > 0 ? ` ${plural(progress.errors, 'image')} failed.` : '';
    this.setStatus(`${progress.completed} of ${progress.total} done.${errors}${now}`);
  }

  updateImage(image: ImageResultFieldsFragment): void {
    const card = this.cards.get(image.requestId);
    if (!card) return;
    const { state, label, detail } = describeImageState(image);
    card.item.dataset.state = state;
    card.badge.textContent = label;
    card.detail.textContent = detail;
    if (image.image && image.image !== card.shownImage) {
      const picture = this.root.createElement('img');
      picture.src = image.image;
      picture.alt = card.prompt;
      picture.width = image.dimensions.width;
      picture.height = image.dimensions.height;
      card.frame.replaceChildren(picture);
      card.shownImage = image.image;
    }
    if (image.image && image.placeholder) this.element('offline-note', HTMLElement).hidden = false;
  }

  finish({ status, stats, results }: IllustratedWorksheet): void {
    results.forEach((result) => this.updateImage(result));
    // The bar counts images that were made or failed; cancelled ones never finished.
    this.showCount(stats.successful + stats.failed);
    this.showStats(stats);
    const made = `${stats.successful} of ${stats.total} ${stats.total === 1 ? 'image was' : 'images were'} made`;
    if (status === 'CANCELLED') {
      this.setStatus(`Cancelled: ${made} before cancelling.`);
    } else if (stats.failed > 0) {
      this.setStatus(`Finished: ${made}; ${plural(stats.failed, 'image')} failed.`);
    } else {
      this.setStatus(`Finished: all ${plural(stats.total, 'image')} made in ${formatDuration(stats.durationMs)}.`);
    }
  }

  /** The job was never sent (cancelled before it started, or the server refused it): nothing was made. */
  abandon(message: string, cardState: 'cancelled' | 'failed'): void {
    for (const card of this.cards.values()) {
      if (card.item.dataset.state === 'succeeded') continue;
      card.item.dataset.state = cardState;
      card.badge.textContent = cardState === 'cancelled' ? 'Cancelled' : 'Not sent';
      card.detail.textContent =
        cardState === 'cancelled' ? 'Cancelled before it was made.' : 'The job was not started.';
    }
    this.setStatus(message);
  }

  setStatus(message: string): void {
    this.element('progress-status', HTMLElement).textContent = message;
  }

  private showCount(completed: number): void {
    const bar = this.element('progress-bar', HTMLProgressElement);
    bar.max = Math.max(this.total, 1);
    bar.value = completed;
    this.element('progress-count', HTMLElement).textContent = `${completed} / ${this.total}`;
  }

  private showStats(stats: GenerationStatsFieldsFragment): void {
    this.element('stat-successful', HTMLElement).textContent = String(stats.successful);
    this.element('stat-failed', HTMLElement).textContent = String(stats.failed);
    this.element('stat-cancelled', HTMLElement).textContent = String(stats.cancelled);
    this.element('stat-retries', HTMLElement).textContent = String(stats.retries);
    this.element('stat-duration', HTMLElement).textContent = formatDuration(stats.durationMs);
    this.element('stats', HTMLElement).hidden = false;
  }

  private createCard(placeholder: WorksheetPlaceholder, all: readonly WorksheetPlaceholder[]): HTMLLIElement {
    const make = <K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = '') => {
      const element = this.root.createElement(tag);
      element.className = className;
      element.textContent = text;
      return element;
    };
    const onSamePage = all.filter((other) => other.pageIndex === placeholder.pageIndex);
    const titleId = `card-title-${placeholder.id}`;

    const item = make('li', 'card');
    item.dataset.id = placeholder.id;
    item.dataset.state = 'queued';
    item.setAttribute('aria-labelledby', titleId);
    const title = make(
      'h3',
      'card-title',
      `Page ${placeholder.pageIndex + 1} · picture ${onSamePage.indexOf(placeholder) + 1}`,
    );
    title.id = titleId;
    const frame = make('div', 'frame');
    // The CSSOM, unlike a style attribute, is allowed by the Content-Security-Policy.
    frame.style.aspectRatio = `${placeholder.width} / ${placeholder.height}`;
    frame.append(make('span', 'frame-size', `${placeholder.width} × ${placeholder.height}`));
    const prompt = make('p', 'prompt', placeholder.prompt);
    const state = make('p', 'state');
    const badge = make('span', 'badge', 'Queued');
    const detail = make('span', 'detail', 'Waiting for its turn.');
    state.append(badge, ' ', detail);
    item.append(title, frame, prompt, state);

    this.cards.set(placeholder.id, { item, frame, badge, detail, prompt: placeholder.prompt, shownImage: null });
    return item;
  }

  private element<T extends HTMLElement>(id: string, type: new () => T): T {
    const element = this.root.getElementById(id);
    if (!(element instanceof type)) throw new Error(`The page has no #${id} element of the expected kind`);
    return element;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
