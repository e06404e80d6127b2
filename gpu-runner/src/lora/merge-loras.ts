import { PipelineError } from '../errors/pipeline-error.js';
import { dimsOf, type GraphWeights, type WeightTarget } from './graph-weights.js';
import type { LoraComponent, LoraModule } from './lora-file.js';

/** A parsed LoRA file and the weight it is applied at. */
export interface AppliedLora {
  /** The LoRA's id, for messages. */
  id: string;
  modules: readonly LoraModule[];
  weight: number;
}

/**
 * Merges every layer the LoRAs patch in `component` into `graph`'s initializers, in
 * place: W' = W + Σ weight · (alpha / rank) · up · down, the sum kept in float64 and
 * rounded to float32 once per weight. Returns how many initializers changed. A layer
 * that names no weight of the graph, or whose shapes do not fit it, fails the whole
 * merge with its key in the message: half a LoRA is not what anybody asked for.
 */
export function mergeLoras(graph: GraphWeights, component: LoraComponent, loras: readonly AppliedLora[]): number {
  const deltas = new Map<WeightTarget['initializer'], { target: WeightTarget; sum: Float64Array }>();
  for (const lora of loras) {
    for (const module of lora.modules) {
      if (module.component !== component) continue;
      const target = graph.find(module.module);
      if (target === undefined || target === 'ambiguous') {
        throw new PipelineError(
          'invalid_params',
          `LoRA "${lora.id}": "${module.key}" ${target ? 'matches more than one layer' : 'matches no layer'} of ${component}`,
        );
      }
      const entry = deltas.get(target.initializer) ?? {
        target,
        sum: new Float64Array(dimsOf(target.initializer).reduce((a, b) => a * b, 1)),
      };
      addDelta(entry.sum, target, module, (lora.weight * module.alpha) / module.rank, lora.id);
      deltas.set(target.initializer, entry);
    }
  }
  for (const { target, sum } of deltas.values()) {
    const weights = graph.read(target.initializer);
    for (let i = 0; i < weights.length; i++) weights[i] = weights[i]! + sum[i]!;
    graph.write(target.initializer, weights);
  }
  return deltas.size;
}

/** sum += scale · up · down, laid out as the graph stores the weight. */
function addDelta(sum: Float64Array, target: WeightTarget, module: LoraModule, scale: number, id: string): void {
  const dims = dimsOf(target.initializer);
  // The weight as a matrix [out, inner]: inner spans in × kernel for convs.
  const out = target.layout === 'in-out' ? dims[1]! : dims[0]!;
  const inner = sum.length / out;
  const { rank, up, down } = module;
  if (
    (target.layout === 'in-out' && dims.length !== 2) ||
    up.data.length !== out * rank ||
    up.shape[0] !== out ||
    down.data.length !== rank * inner
  ) {
    throw new PipelineError(
      'invalid_params',
      `LoRA "${id}": "${module.key}" has up [${up.shape.join(',')}] and down [${down.shape.join(',')}], ` +
        `which do not fit the layer's weight [${dims.join(',')}] (found through ${target.via})`,
    );
  }
  const u = up.data;
  const d = down.data;
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inner; i++) {
      let product = 0;
      for (let r = 0; r < rank; r++) product += u[o * rank + r]! * d[r * inner + i]!;
      const at = target.layout === 'in-out' ? i * out + o : o * inner + i;
      sum[at] = sum[at]! + scale * product;
    }
  }
}
