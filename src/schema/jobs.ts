import { z } from 'zod';
import { describedValues, JOB_STATUS_DESCRIPTIONS } from '../generation/states.js';
import { imageBatchSchema, type ImageLimits } from '../generation/image-limits.js';
import type { StoredJob } from '../jobs/job-store.js';
import type { Builder } from './builder.js';
import { answer } from './errors.js';
import { inJob, jobIdSchema, type ImageTypes } from './images.js';
import { chargeInlineImages, jobSelectsPictureBytes } from './inline-images.js';

/** Jobs: generating a worksheet's batch, following it, cancelling it. */
export function addJobTypes(builder: Builder, limits: ImageLimits, images: ImageTypes, maxInlineImageBytes: number) {
  const JobStatus = builder.enumType('JobStatus', {
    description: 'Where a job is in its life.',
    values: describedValues(JOB_STATUS_DESCRIPTIONS),
  });

  const GenerationJobRef = builder.objectRef<StoredJob>('GenerationJob').implement({
    description: "One batch of a worksheet's images.",
    fields: (t) => ({
      id: t.exposeID('id', { description: 'The job id: the client-chosen jobId, or one the server made.' }),
      status: t.field({ type: JobStatus, description: 'Where the job is in its life.', resolve: (job) => job.status }),
      results: t.field({
        type: [images.ImageResultRef],
        description: `One result per requested image, in request order. An answer may carry at most ${maxInlineImageBytes} bytes of \`image\` data in all; beyond that the list is refused with RESPONSE_TOO_LARGE: ask for \`url\` instead.`,
        resolve: (job, _args, context, info) => {
          chargeInlineImages(job.results, context, info, maxInlineImageBytes, job.id);
          return job.results.map((result) => inJob(job.id, result));
        },
      }),
      stats: t.field({
        type: images.GenerationStatsRef,
        description: 'Counts over the batch.',
        resolve: (job) => job.stats,
      }),
      createdAt: t.string({
        description: 'When the job started (ISO 8601).',
        resolve: (job) => job.createdAt.toISOString(),
      }),
      finishedAt: t.string({
        nullable: true,
        description: 'When the last image reached a final state (ISO 8601); null while RUNNING.',
        resolve: (job) => job.finishedAt?.toISOString() ?? null,
      }),
    }),
  });

  const GenerateInput = builder.inputType('GenerateWorksheetImagesInput', {
    description: "A worksheet's picture placeholders, generated together as one job.",
    fields: (t) => ({
      jobId: t.id({
        description:
          'Optional, chosen by the client; also an idempotency key: the same id with the same images answers the existing job and spends nothing more, with other images it is an error. Lets a client subscribe to generationProgress before it sends the mutation.',
      }),
      images: t.field({
        type: [images.ImageRequestInput],
        required: true,
        description: `The images, 1 to ${limits.maxBatchSize}, ids unique in the batch.`,
      }),
    }),
  });

  const inputSchema = z.object({
    input: z.object({ jobId: jobIdSchema.nullish(), images: imageBatchSchema(limits) }),
  });

  builder.queryField('generationJob', (t) =>
    t.field({
      type: GenerationJobRef,
      nullable: true,
      description:
        "A job by id; null when unknown, no longer kept (finished jobs are kept for a limited time), or another token's.",
      args: { id: t.arg.id({ required: true, description: 'The job id.' }) },
      resolve: (_root, { id }, context, info) =>
        answer(
          async () => (await context.jobs.get(id, context.tenant, { pictures: jobSelectsPictureBytes(info) })) ?? null,
        ),
    }),
  );

  builder.mutationFields((t) => ({
    generateWorksheetImages: t.field({
      type: GenerationJobRef,
      description:
        'Generates every image of the batch in parallel; answers when each one has succeeded, failed or been cancelled. A failed image is data (its `error`), not a GraphQL error.',
      args: { input: t.arg({ type: GenerateInput, required: true, description: 'The batch.' }) },
      validate: inputSchema,
      resolve: (_root, { input }, context) =>
        answer(async () => {
          const started = await context.jobs.start({ ...input, owner: context.owner, tenant: context.tenant });
          return started.finished;
        }),
    }),
    startWorksheetImages: t.field({
      type: GenerationJobRef,
      description:
        'The same work as generateWorksheetImages, answered at once with the job RUNNING; follow it with generationProgress or generationJob.',
      args: { input: t.arg({ type: GenerateInput, required: true, description: 'The batch.' }) },
      validate: inputSchema,
      resolve: (_root, { input }, context) =>
        answer(async () => (await context.jobs.start({ ...input, owner: context.owner, tenant: context.tenant })).job),
    }),
    cancelGeneration: t.field({
      type: GenerationJobRef,
      description:
        'Cancels a job: queued images never start, requests in flight are aborted. Answers the job once every image is final; a finished job is answered as it is.',
      args: { jobId: t.arg.id({ required: true, description: 'The job to cancel.' }) },
      validate: z.object({ jobId: jobIdSchema }),
      resolve: (_root, { jobId }, context, info) =>
        answer(() => context.jobs.cancel(jobId, context.tenant, { pictures: jobSelectsPictureBytes(info) })),
    }),
  }));

  return { GenerationJobRef };
}
