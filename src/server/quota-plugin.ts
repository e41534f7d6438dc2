import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { toGraphQLError } from '../schema/errors.js';
import type { GraphQLContext } from '../schema/index.js';
import type { ImageQuota, QuotaDecision } from './image-quota.js';
import { requestedImages } from './requested-images.js';

export interface ImageQuotaPluginOptions {
  quota: ImageQuota;
  /** A batch over this size is refused by validation and spends nothing, so it is not counted. */
  maxBatchSize: number;
}

/**
 * Counts the images a mutation asks for against its owner's quota before it runs, over HTTP and WebSocket alike
 * (both execute through Yoga's envelop). Over the quota, the whole operation is refused with a RATE_LIMITED error
 * that says how long to wait; over HTTP it is also a 429 with Retry-After. A batch whose jobId already names a job
 * is not counted again: resending it answers the existing job and spends nothing upstream. When the count cannot be
 * reached (Redis away), the operation is refused with the same SERVICE_UNAVAILABLE as every other Redis-mode request.
 */
export function useImageQuota({ quota, maxBatchSize }: ImageQuotaPluginOptions): Plugin {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      if (!quota.enabled) return;
      const context = args.contextValue as unknown as GraphQLContext & { request?: unknown };
      let count = 0;
      let decision: QuotaDecision;
      try {
        for (const spend of requestedImages(args, maxBatchSize)) {
          if (spend.jobId !== undefined && (await context.jobs.get(spend.jobId, context.tenant, { pictures: false })))
            continue;
          count += spend.images;
        }
        decision = await quota.take(context.owner, count);
      } catch (error) {
        const known = toGraphQLError(error);
        if (!(known instanceof GraphQLError)) throw error;
        setResultAndStopExecution({ errors: [known] });
        return;
      }
      if (decision.allowed) return;

      const overHttp = context.request !== undefined;
      const { limit, used, retryAfterSeconds } = decision;
      const message =
        retryAfterSeconds === undefined
          ? `Image quota exceeded: this request asks for ${count} images but the quota is ${limit} images per minute; send smaller batches.`
          : `Image quota exceeded: ${limit} images per minute, ${used} used in the last minute and this request asks for ${count}; try again in ${retryAfterSeconds} seconds.`;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(message, {
            extensions: {
              code: 'RATE_LIMITED',
              limit,
              ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
              ...(overHttp
                ? {
                    http: {
                      status: 429,
                      headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
                    },
                  }
                : {}),
            },
          }),
        ],
      });
    },
  };
}
