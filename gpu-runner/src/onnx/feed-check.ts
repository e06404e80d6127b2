import { describeTensor } from './tensor-data.js';

/** What a session declares about one input (mirrors onnxruntime's ValueMetadata). */
export type InputSpec =
  { name: string; isTensor: true; type: string; shape: readonly (number | string)[] } | { name: string; isTensor: false };

export type FeedCheck = { ok: true } | { ok: false; problems: string[] };

/**
 * Checks feeds against a graph's declared inputs before anything reaches onnxruntime,
 * whose own errors name neither the input nor the shapes involved. Checks presence, dtype,
 * rank and fixed dims, and that a symbolic dim (e.g. `batch_size`) has the same size
 * across all inputs that share it. A declared shape of `[]` is accepted with any rank:
 * onnxruntime reports both "scalar" and "no shape recorded" that way.
 */
export function checkFeeds(
  specs: readonly InputSpec[],
  feeds: Readonly<Record<string, { type: string; dims: readonly number[] }>>,
): FeedCheck {
  const problems: string[] = [];
  const symbols = new Map<string, { size: number; input: string }>();
  const declared = new Set(specs.map((spec) => spec.name));

  for (const name of Object.keys(feeds)) {
    if (!declared.has(name)) problems.push(`unexpected input "${name}" (graph inputs: ${[...declared].join(', ')})`);
  }
  for (const spec of specs) {
    const feed = feeds[spec.name];
    if (!feed) {
      problems.push(`missing input "${spec.name}"`);
      continue;
    }
    if (!spec.isTensor) {
      problems.push(`input "${spec.name}" is not a tensor input; only tensors are supported`);
      continue;
    }
    const expected = () => `${spec.type}[${spec.shape.join(',')}]`;
    if (feed.type !== spec.type) {
      problems.push(
        `input "${spec.name}": dtype ${feed.type}, expected ${spec.type} (got ${describeTensor(feed)}, expected ${expected()})`,
      );
    }
    if (spec.shape.length === 0) continue;
    if (feed.dims.length !== spec.shape.length) {
      problems.push(
        `input "${spec.name}": rank ${feed.dims.length}, expected ${spec.shape.length} (got ${describeTensor(feed)}, expected ${expected()})`,
      );
      continue;
    }
    spec.shape.forEach((dim, axis) => {
      const size = feed.dims[axis]!;
      if (typeof dim === 'number') {
        if (dim >= 0 && size !== dim) {
          problems.push(
            `input "${spec.name}": dim ${axis} is ${size}, expected ${dim} (got ${describeTensor(feed)}, expected ${expected()})`,
          );
        }
      } else if (dim !== '') {
        const seen = symbols.get(dim);
        if (!seen) symbols.set(dim, { size, input: spec.name });
        else if (seen.size !== size) {
          problems.push(`input "${spec.name}": dim ${axis} ("${dim}") is ${size} but "${seen.input}" has ${dim}=${seen.size}`);
        }
      }
    });
  }
  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}
