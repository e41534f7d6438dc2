import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import type { GenerationService } from '../src/generation/generation-service.js';
import { toDataUrl } from '../src/images/image-mime.js';
import { createJobs, type Jobs } from '../src/jobs/create-jobs.js';
import { silentLogger } from '../src/logger.js';
import type { Progress } from '../src/generation/types.js';
import { generateImagesForWorksheet } from '../src/worksheet/generate-images-for-worksheet.js';
import {
  applyOutcomes,
  collectPlaceholders,
  explainNoPlaceholders,
  isImageElement,
  isImagePlaceholder,
  PLACEHOLDER_EXAMPLE,
  type Worksheet,
} from '../src/worksheet/worksheet.js';
import {
  worksheetElementSchema,
  worksheetImageElementSchema,
  worksheetSchema,
} from '../src/worksheet/worksheet-schema.js';
import { FAKE_TOGETHER_MODEL, expectedImageBytes, flagged } from './support/fake-together.js';
import { startGenerationHarness, type GenerationHarness } from './support/generation-harness.js';

const EXISTING_SRC = 'data:image/png;base64,iVBORw0KGgo=';

/** Two pages, three placeholders still to fill, and elements that are not placeholders. */
function sampleWorksheet(): Worksheet {
  return {
    title: 'Animals of the farm',
    grade: 2,
    pages: [
      {
        margin: 12,
        elements: [
          { type: 'heading', text: 'Who lives on the farm?' },
          { type: 'image', prompt: 'a cow in a green meadow', width: 512, height: 384, x: 10, y: 40, caption: 'cow' },
          { type: 'image', prompt: 'a hen', width: 256, height: 256, src: EXISTING_SRC },
        ],
      },
      {
        elements: [
          { type: 'image', prompt: 'a pig in the mud', width: 500, height: 300, seed: 9 },
          { type: 'text', text: 'Draw a line from each animal to its home.' },
          { type: 'image', prompt: 'a red barn', width: 768, height: 512, locked: true },
          { type: 'image', prompt: '   ', width: 256, height: 256 },
        ],
      },
    ],
  };
}

describe('collectPlaceholders', () => {
  it('names each placeholder "<page>-<element>" by its position among all elements', () => {
    const placeholders = collectPlaceholders(sampleWorksheet());
    expect(placeholders.map((placeholder) => placeholder.id)).toEqual(['0-1', '1-0', '1-2']);
    expect(placeholders[1]).toEqual({
      id: '1-0',
      pageIndex: 1,
      elementIndex: 0,
      prompt: 'a pig in the mud',
      width: 500,
      height: 300,
      seed: 9,
    });
    expect(placeholders[0]?.seed).toBeNull();
  });

  it('skips elements that are not images, images that already have a src, and images without a prompt', () => {
    const prompts = collectPlaceholders(sampleWorksheet()).map((placeholder) => placeholder.prompt);
    expect(prompts).toEqual(['a cow in a green meadow', 'a pig in the mud', 'a red barn']);
  });

  it('finds nothing in a worksheet without placeholders', () => {
    expect(collectPlaceholders({ pages: [{ elements: [{ type: 'text', text: 'hello' }] }, { elements: [] }] })).toEqual(
      [],
    );
  });
});

describe('explainNoPlaceholders', () => {
  it('names elements of another type that look meant as placeholders, and shows what one looks like', () => {
    const explanation = explainNoPlaceholders({
      pages: [{ elements: [{ type: 'text', text: 'hi' }] }, { elements: [{ type: 'picture', prompt: 'A cat' }] }],
    });
    expect(explanation).toMatch(
      /^No element is a picture placeholder the server recognises: 1-0 has "type": "picture"/,
    );
    expect(explanation).toContain(PLACEHOLDER_EXAMPLE);
  });

  it('says why an "image" element is not one: a blank prompt', () => {
    const explanation = explainNoPlaceholders({
      pages: [{ elements: [{ type: 'image', prompt: ' ', width: 64, height: 64 }] }],
    });
    expect(explanation).toContain('0-0 has "type": "image" but no non-blank "prompt"');
  });

  it('tells apart a worksheet with no elements, one with only text, and one already illustrated', () => {
    expect(explainNoPlaceholders({ pages: [] })).toMatch(/^The worksheet has no elements\./);
    expect(explainNoPlaceholders({ pages: [{ elements: [{ type: 'text' }] }] })).toMatch(
      /^None of its 1 elements is a picture placeholder\./,
    );
    const illustrated = { type: 'image', prompt: 'A cat', width: 64, height: 64, src: 'data:image/png;base64,AA' };
    expect(explainNoPlaceholders({ pages: [{ elements: [illustrated] }] })).toMatch(/^Every picture placeholder/);
  });
});

describe('the hand-checked placeholder rules', () => {
  const ERROR = { code: 'TIMEOUT', message: 'too slow', retryable: true };
  const base = { type: 'image', prompt: 'a cat', width: 256, height: 256 };
  /** Elements on both sides of each rule of worksheetImageElementSchema. */
  const elements: unknown[] = [
    base,
    { ...base, extra: { nested: true } },
    { ...base, type: 'picture' },
    { ...base, prompt: 7 },
    { ...base, prompt: '' },
    { ...base, prompt: '  ' },
    { ...base, width: '256' },
    { ...base, width: Number.NaN },
    { ...base, height: Number.POSITIVE_INFINITY },
    { ...base, width: -5.5 },
    { ...base, height: undefined },
    { ...base, seed: 7 },
    { ...base, seed: -0 },
    { ...base, seed: null },
    { ...base, seed: undefined },
    { ...base, seed: 1.5 },
    { ...base, seed: 2 ** 53 },
    { ...base, seed: '7' },
    { ...base, src: EXISTING_SRC },
    { ...base, src: '' },
    { ...base, src: null },
    { ...base, src: 42 },
    { ...base, imageError: ERROR },
    { ...base, imageError: { ...ERROR, extra: 1 } },
    { ...base, imageError: null },
    { ...base, imageError: { ...ERROR, retryable: 'yes' } },
    { ...base, imageError: { code: 'TIMEOUT' } },
    { ...base, imageError: [] },
    { ...base, imageError: 'TIMEOUT' },
    Object.assign([], base),
    null,
    'image',
    { type: 'text', text: 'hello' },
  ];

  it('accept exactly the image elements that worksheetImageElementSchema accepts', () => {
    for (const element of elements) {
      expect(isImageElement(element), JSON.stringify(element)).toBe(
        worksheetImageElementSchema.safeParse(element).success,
      );
    }
  });

  it('make a placeholder of a schema-valid image element with a prompt to draw and no src', () => {
    for (const element of elements) {
      const parsed = worksheetImageElementSchema.safeParse(element);
      const expected = parsed.success && !parsed.data.src && parsed.data.prompt.trim().length > 0;
      expect(isImagePlaceholder(element), JSON.stringify(element)).toBe(expected);
    }
  });

  it('find in a worksheet the schema accepts the placeholders that the schema would find', () => {
    const worksheet = { pages: [{ elements: elements.filter((e) => worksheetElementSchema.safeParse(e).success) }] };
    const parsed = worksheetSchema.parse(worksheet);
    const expected = parsed.pages[0]?.elements.flatMap((element, index) => {
      const image = worksheetImageElementSchema.safeParse(element);
      return image.success && !image.data.src && image.data.prompt.trim() ? [`0-${index}`] : [];
    });

    expect(expected?.length).toBeGreaterThan(5);
    expect(collectPlaceholders(parsed).map((placeholder) => placeholder.id)).toEqual(expected);
  });

  it('reject what is not a worksheet with a TypeError that says what was expected', () => {
    expect(() => collectPlaceholders({} as Worksheet)).toThrow(/Expected a worksheet/);
    expect(() => collectPlaceholders({ pages: [{}] } as Worksheet)).toThrow(/`pages\[0\]\.elements`/);
  });
});

describe('applyOutcomes', () => {
  it('writes src on success and imageError on failure, onto the right elements', () => {
    const result = applyOutcomes(sampleWorksheet(), [
      { id: '0-1', src: 'data:image/jpeg;base64,AAAA', error: null },
      { id: '1-2', src: null, error: { code: 'CONTENT_FLAGGED', message: 'flagged', retryable: false } },
    ]);
    expect(result.pages[0]?.elements[1]).toMatchObject({ src: 'data:image/jpeg;base64,AAAA', imageError: null });
    expect(result.pages[1]?.elements[2]).toMatchObject({
      imageError: { code: 'CONTENT_FLAGGED', message: 'flagged', retryable: false },
    });
    expect(result.pages[1]?.elements[2]).not.toHaveProperty('src');
    expect(result.pages[1]?.elements[0]).toEqual(sampleWorksheet().pages[1]?.elements[0]);
  });

  it('does not change the worksheet it was given', () => {
    const input = sampleWorksheet();
    const before = structuredClone(input);
    applyOutcomes(input, [{ id: '0-1', src: 'data:image/jpeg;base64,AAAA', error: null }]);
    expect(input).toEqual(before);
  });

  it('keeps every field it does not know, on the worksheet, its pages and its elements', () => {
    const result = applyOutcomes(sampleWorksheet(), [
      { id: '0-1', src: 'data:image/jpeg;base64,AAAA', error: null },
      { id: '1-2', src: 'data:image/jpeg;base64,BBBB', error: null },
    ]);
    expect(result).toMatchObject({ title: 'Animals of the farm', grade: 2 });
    expect(result.pages[0]).toMatchObject({ margin: 12 });
    expect(result.pages[0]?.elements[1]).toMatchObject({
      x: 10,
      y: 40,
      caption: 'cow',
      prompt: 'a cow in a green meadow',
    });
    expect(result.pages[1]?.elements[2]).toMatchObject({ locked: true });
    expect(result.pages[0]?.elements[2]).toMatchObject({ src: EXISTING_SRC });
  });

  it('clears an earlier imageError once the image succeeds', () => {
    const failed = applyOutcomes(sampleWorksheet(), [
      { id: '0-1', src: null, error: { code: 'TIMEOUT', message: 'slow', retryable: true } },
    ]);
    const fixed = applyOutcomes(failed, [{ id: '0-1', src: 'data:image/jpeg;base64,AAAA', error: null }]);
    expect(fixed.pages[0]?.elements[1]).toMatchObject({ src: 'data:image/jpeg;base64,AAAA', imageError: null });
  });
});

describe('generateImagesForWorksheet', () => {
  let harness: GenerationHarness | undefined;
  let opened: Jobs | undefined;
  /** The job layer the CLI builds, over the harness's service. */
  const jobsOf = (service: GenerationService) => {
    opened = createJobs(parseConfig({ IMAGE_PROVIDER: 'local' }), service, silentLogger());
    return opened.jobs;
  };

  afterEach(async () => {
    await opened?.close();
    await harness?.close();
    harness = undefined;
    opened = undefined;
  });

  it('fills every placeholder from the upstream, reports progress, and maps the images back', async () => {
    harness = await startGenerationHarness({ concurrency: 2, fake: { latencyMs: 20 } });
    const worksheet = sampleWorksheet();
    const before = structuredClone(worksheet);
    const progress: Progress[] = [];

    const illustrated = await generateImagesForWorksheet(worksheet, (update) => progress.push(update), {
      jobs: jobsOf(harness.service),
    });

    expect(harness.fake.requests).toHaveLength(3);
    expect(illustrated.stats).toMatchObject({ total: 3, successful: 3, failed: 0, pending: 0 });
    expect(illustrated.results.map((result) => result.id)).toEqual(['0-1', '1-0', '1-2']);
    expect(worksheet).toEqual(before);

    for (const update of progress) {
      expect(Object.keys(update).sort()).toEqual(['completed', 'current', 'errors', 'total']);
      expect(update.total).toBe(3);
    }
    expect(progress.map((update) => update.completed)).toEqual(
      [...progress.map((update) => update.completed)].sort((a, b) => a - b),
    );
    expect(progress.at(-1)).toEqual({ completed: 3, total: 3, errors: 0, current: null });
    expect(progress.some((update) => update.current === 'a pig in the mud')).toBe(true);

    const cow = illustrated.worksheet.pages[0]?.elements[1];
    const pig = illustrated.worksheet.pages[1]?.elements[0];
    const barn = illustrated.worksheet.pages[1]?.elements[2];
    const bytes = (prompt: string, width: number, height: number, seed?: number) =>
      expectedImageBytes({
        model: FAKE_TOGETHER_MODEL,
        prompt,
        width,
        height,
        steps: 4,
        seed,
        n: 1,
        responseFormat: 'base64',
        outputFormat: 'jpeg',
      });
    expect(cow).toMatchObject({
      src: toDataUrl({ mimeType: 'image/jpeg', bytes: bytes('a cow in a green meadow', 512, 384) }),
      caption: 'cow',
    });
    // 500x300 is generated as 496x304.
    expect(pig).toMatchObject({
      src: toDataUrl({ mimeType: 'image/jpeg', bytes: bytes('a pig in the mud', 496, 304, 9) }),
    });
    expect(barn).toMatchObject({ src: expect.stringMatching(/^data:image\/jpeg;base64,/), locked: true });
    expect(illustrated.worksheet.pages[0]?.elements[2]).toMatchObject({ src: EXISTING_SRC });
  });

  it('writes the error onto a placeholder whose image failed and counts it in progress', async () => {
    harness = await startGenerationHarness({
      fake: { behaviorFor: (request) => (request.prompt === 'a red barn' ? flagged() : undefined) },
    });
    const progress: Progress[] = [];
    const illustrated = await generateImagesForWorksheet(sampleWorksheet(), (update) => progress.push(update), {
      jobs: jobsOf(harness.service),
    });
    expect(progress.at(-1)).toMatchObject({ completed: 3, total: 3, errors: 1 });
    const barn = illustrated.worksheet.pages[1]?.elements[2];
    expect(barn).toMatchObject({ imageError: { code: 'CONTENT_FLAGGED', retryable: false } });
    expect(barn).not.toHaveProperty('src');
    expect(illustrated.worksheet.pages[0]?.elements[1]).toMatchObject({
      src: expect.stringMatching(/^data:image\/jpeg/),
    });
  });

  it('sends nothing for a worksheet whose pictures are all there', async () => {
    harness = await startGenerationHarness();
    const worksheet: Worksheet = {
      pages: [{ elements: [{ type: 'image', prompt: 'a hen', width: 256, height: 256, src: EXISTING_SRC }] }],
    };
    const illustrated = await generateImagesForWorksheet(worksheet, undefined, { jobs: jobsOf(harness.service) });
    expect(illustrated.results).toEqual([]);
    expect(illustrated.stats.total).toBe(0);
    expect(illustrated.worksheet).toEqual(worksheet);
    expect(harness.fake.requests).toHaveLength(0);
  });

  it('cancels its job with the signal and leaves the cancelled placeholders without a src', async () => {
    harness = await startGenerationHarness({ concurrency: 3, fake: { latencyMs: 5_000 } });
    const controller = new AbortController();
    const jobs = jobsOf(harness.service);
    const progress: Progress[] = [];
    const running = generateImagesForWorksheet(sampleWorksheet(), (update) => progress.push(update), {
      jobs,
      signal: controller.signal,
      jobId: 'sheet',
    });
    await harness.fake.whenInFlight(3);
    expect(jobs.runningCount).toBe(1);
    controller.abort();
    const illustrated = await running;
    // It ran as a job like a server's: listed while it ran, then kept, cancelled, with the events it was told of.
    expect(jobs.runningCount).toBe(0);
    expect(await jobs.get('sheet')).toMatchObject({ status: 'CANCELLED', stats: { total: 3, cancelled: 3 } });
    expect(progress.at(-1)).toEqual({ completed: 3, total: 3, errors: 0, current: null });
    expect(illustrated.status).toBe('CANCELLED');
    expect(illustrated.stats.cancelled).toBe(3);
    expect(illustrated.worksheet.pages[0]?.elements[1]).toMatchObject({ imageError: { code: 'CANCELLED' } });
    expect(illustrated.worksheet.pages[0]?.elements[1]).not.toHaveProperty('src');
  });
});
