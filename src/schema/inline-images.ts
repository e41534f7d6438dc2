import { type FieldNode, type GraphQLResolveInfo, GraphQLError, Kind, type SelectionSetNode } from 'graphql';
import type { ImageResult } from '../generation/types.js';
import type { GraphQLContext } from './builder.js';
import { included } from './included.js';

/**
 * A data URL costs its bytes 4/3 times, and the answer holding it is built whole and serialised at least once more,
 * so a query for `image` over a job of 100 pictures of 1 MiB makes the server build some 500 MiB for a request of a
 * hundred bytes. Each operation may put at most `maxBytes` of image bytes inline, summed over every list of results
 * it reads; past that, the list is refused with one error that says to ask for `url` (served one picture at a time
 * by /images/<jobId>/<id>). Subscriptions are not counted: each event carries at most one picture.
 */
export function chargeInlineImages(
  results: readonly ImageResult[],
  context: GraphQLContext,
  info: GraphQLResolveInfo,
  maxBytes: number,
  jobId: string,
): void {
  if (info.operation.operation === 'subscription') return;
  if (!selectsImage(info)) return;
  const buffers = new Set(results.flatMap((result) => (result.image ? [result.image.bytes] : [])));
  let bytes = 0;
  for (const buffer of buffers) bytes += buffer.length;
  const total = (context.inlineImageBytes ?? 0) + bytes;
  if (total > maxBytes) {
    throw new GraphQLError(
      `Too many image bytes for one answer: these results hold ${bytes} bytes of images and an answer may carry at most ${maxBytes} inline. Ask for \`url\` instead of \`image\` and fetch each picture from it (GET /images/<jobId>/<id>, same access token).`,
      // The job id too: a mutation refused here answers no data, and its caller may not have chosen the id.
      { extensions: { code: 'RESPONSE_TOO_LARGE', limit: maxBytes, bytes, jobId } },
    );
  }
  context.inlineImageBytes = total;
}

/** Whether the field being resolved (a list of ImageResult) selects `image`, @skip/@include and fragments followed. */
function selectsImage(info: GraphQLResolveInfo): boolean {
  return selectsBelow(info, [], IMAGE_FIELDS);
}

const IMAGE_FIELDS = new Set(['image']);
/** The ImageResult fields that read a picture's bytes; `url` and `mimeType` do not. */
const PICTURE_BYTE_FIELDS = new Set(['image', 'byteLength']);

/**
 * Whether the field being resolved (a GenerationJob) reads picture bytes through its `results`: a status poll or a
 * query for `url` does not, and the job store then leaves the pictures unread.
 */
export function jobSelectsPictureBytes(info: GraphQLResolveInfo): boolean {
  return selectsBelow(info, ['results'], PICTURE_BYTE_FIELDS);
}

/**
 * Whether the field being resolved selects, below the fields named by `path`, a field named in `names`, with
 * @skip/@include and fragments followed.
 */
function selectsBelow(info: GraphQLResolveInfo, path: readonly string[], names: ReadonlySet<string>): boolean {
  const search = (selectionSet: SelectionSetNode | undefined, depth: number, visited: Set<string>): boolean => {
    const wanted = path[depth];
    for (const selection of selectionSet?.selections ?? []) {
      if (!included(selection, info.variableValues)) continue;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (
          wanted === undefined
            ? names.has(name)
            : name === wanted && search(selection.selectionSet, depth + 1, new Set())
        ) {
          return true;
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (search(selection.selectionSet, depth, visited)) return true;
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        if (search(info.fragments[selection.name.value]?.selectionSet, depth, visited)) return true;
      }
    }
    return false;
  };
  return info.fieldNodes.some((node: FieldNode) => search(node.selectionSet, 0, new Set()));
}
