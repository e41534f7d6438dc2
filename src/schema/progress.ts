import { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { JobManager } from '../jobs/job-manager.js';
import type { GenerationEvent } from '../jobs/types.js';
import type { Progress } from '../generation/types.js';
import type { Builder, GraphQLContext } from './builder.js';
import { answer, toGraphQLError } from './errors.js';
import { inJob, jobIdSchema, type ImageTypes } from './images.js';

/** The progress subscription: a job's events, replayed from the first, then live. */
export function addProgressTypes(builder: Builder, images: ImageTypes) {
  const ProgressRef = builder.objectRef<Progress>('Progress').implement({
    description: 'How far a job has come.',
    fields: (t) => ({
      completed: t.exposeInt('completed', { description: 'Images in a final state.' }),
      total: t.exposeInt('total', { description: 'Images in the job.' }),
      errors: t.exposeInt('errors', { description: 'Images that FAILED.' }),
      current: t.exposeString('current', {
        nullable: true,
        description: 'The prompt most recently sent upstream and still in flight; null when none is.',
      }),
    }),
  });

  const GenerationEventRef = builder.objectRef<GenerationEvent>('GenerationEvent').implement({
    description: "One step of a job's progress.",
    fields: (t) => ({
      jobId: t.exposeID('jobId', { description: 'The job.' }),
      sequence: t.exposeInt('sequence', { description: '1, 2, 3 ... within the job, without gaps.' }),
      image: t.field({
        type: images.ImageResultRef,
        nullable: true,
        description: 'The image whose state changed; null on the final event.',
        resolve: (event) => (event.image ? inJob(event.jobId, event.image) : null),
      }),
      progress: t.field({
        type: ProgressRef,
        description: 'How far the job has come.',
        resolve: (event) => event.progress,
      }),
      stats: t.field({
        type: images.GenerationStatsRef,
        description: 'Counts over the job.',
        resolve: (event) => event.stats,
      }),
      done: t.exposeBoolean('done', { description: 'True on the final event, after which the stream ends.' }),
    }),
  });

  builder.subscriptionField('generationProgress', (t) =>
    t.field({
      type: GenerationEventRef,
      description:
        'Per-image progress of one job. Events already emitted are replayed first, so a late subscriber misses nothing; a job id not yet known is waited for (a client may subscribe before it sends the mutation with its own jobId), and a NOT_FOUND error ends the stream if it never comes. The stream ends after the event with done: true. A client that lost its connection resubscribes with `after` set to the last sequence it received, and gets no event twice.',
      args: {
        // A blank or oversized id can never name a job: it is refused at once instead of waited for.
        jobId: t.arg.id({ required: true, description: 'The job to follow.', validate: jobIdSchema }),
        after: t.arg.int({
          description:
            'Resume after this sequence number (exclusive): only events with a greater sequence are sent. Omit it (or pass 0) to replay from the first. After the final sequence, nothing is sent and the stream ends.',
          validate: z.number().int().min(0, { error: 'after must be 0 or more (a sequence number)' }).nullish(),
        }),
      },
      subscribe: (_root, { jobId, after }, context) =>
        answer(() => followJob(context.jobs, jobId, after ?? 0, context)),
      resolve: (event) => event,
    }),
  );
}

/**
 * The job's events as an iterator whose return() stops at once: an async generator cannot be returned while it
 * awaits the next event, and a client that unsubscribes must not keep a waiter alive. Waiting for a job that does
 * not exist yet takes one of the caller's waiting places (refused at once when it has none left) until the first event.
 */
export async function followJob(
  jobs: JobManager,
  jobId: string,
  after: number,
  caller: Pick<GraphQLContext, 'owner' | 'tenant'>,
): Promise<AsyncIterableIterator<GenerationEvent>> {
  const releaseWait = await jobs.reserveWait(jobId, caller);
  const abort = new AbortController();
  const source = jobs.follow(jobId, { signal: abort.signal, after }, caller.tenant)[Symbol.asyncIterator]();
  let seen = false;
  const iterator: AsyncIterableIterator<GenerationEvent> = {
    async next() {
      let step: IteratorResult<GenerationEvent>;
      try {
        step = await source.next();
      } catch (error) {
        throw toGraphQLError(error);
      } finally {
        releaseWait();
      }
      if (!step.done) {
        seen = true;
        return step;
      }
      // Nothing after `after` in a job that exists (a client resuming after the final event) is not an error.
      if (
        !seen &&
        !abort.signal.aborted &&
        (after === 0 || !(await jobs.get(jobId, caller.tenant, { pictures: false })))
      ) {
        throw new GraphQLError(`No generation job with id "${jobId}" appeared in time`, {
          extensions: { code: 'NOT_FOUND' },
        });
      }
      return step;
    },
    async return() {
      releaseWait();
      abort.abort();
      void source.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
