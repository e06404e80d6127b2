/**
 * The only module that imports onnxruntime-node (pinned exactly in package.json, as native
 * binaries and execution-provider behaviour change between releases). Everything else
 * talks to graphs through `OnnxSession` and plain `TensorData`.
 */
import ort from 'onnxruntime-node';
import { PipelineError } from '../errors/pipeline-error.js';
import { moduleLogger } from '../logging/logger.js';
import {
  cudaLoadFailure,
  planProviders,
  probeHost,
  type Device,
  type ExecutionProviderPreference,
  type ProviderPlan,
} from './execution-provider.js';
import { checkFeeds, type InputSpec } from './feed-check.js';
import { fromFloat16, toFloat16 } from './float16.js';
import { loadFailure, messageOf, runFailure } from './ort-errors.js';
import { describeTensor, type TensorData } from './tensor-data.js';

const log = moduleLogger('onnx');

// onnxruntime's native logger writes straight to stderr and reads its level once, at the
// first session. Its errors reach us as exceptions too (and get logged with context), so
// it only speaks when our logs are at debug or trace; otherwise a CUDA probe on a CPU
// host would print a frightening but expected "failed to load library" on every start.
// It follows this module's logger, whose level came from LOG_LEVEL (@atelier/runtime).
const NATIVE_LOG_LEVELS: Record<string, ort.Env['logLevel']> = { trace: 'verbose', debug: 'warning' };
ort.env.logLevel = NATIVE_LOG_LEVELS[log.level] ?? 'fatal';

export type { Device, ExecutionProviderPreference };

export interface OnnxSessionOptions {
  provider?: ExecutionProviderPreference;
  /** Threads for one operator; 0 lets onnxruntime use every core. */
  intraOpThreads?: number;
  /** Label used in logs and errors, e.g. `unet`. */
  label?: string;
  /**
   * For a model given as bytes whose initializers live in external-data files (a real
   * UNet's `model.onnx_data`): the directory those files are in.
   */
  externalDataDir?: string;
}

/** The provider sessions run on, and why each better one was not used. */
export interface ProviderReport {
  device: Device;
  preference: ExecutionProviderPreference;
  /** e.g. `cuda: libonnxruntime_providers_cuda.so not found in …`; empty when nothing fell back. */
  fallbacks: string[];
}

/**
 * Why each provider failed in this process, by provider: every later session would fail
 * the same way, and each failed attempt costs a library load and an error log.
 */
const providerFailures = new Map<Device, string>();
let plan: ProviderPlan | undefined;
let lastReport: ProviderReport | undefined;

/** Milliseconds spent inside onnxruntime's `run`, per session label, since the process started. */
const inferenceMs = new Map<string, number>();

/** A copy of the time spent inside `session.run` per label (host overhead = wall time minus this). */
export function inferenceTimes(): Map<string, number> {
  return new Map(inferenceMs);
}

/** The provider the most recently created session runs on, with the reasons for any fallback. */
export function providerReport(): ProviderReport | undefined {
  return lastReport;
}

export class OnnxSession {
  /**
   * Declared inputs, as onnxruntime reports them (symbolic dims are strings); read once,
   * checked every run. A float16 input is listed as float32: `run` converts it.
   */
  readonly inputs: readonly InputSpec[];
  /** Inputs and outputs an fp16 export declares float16, converted from and to float32 in `run`. */
  readonly float16: { inputs: ReadonlySet<string>; outputs: ReadonlySet<string> };

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly label: string,
    readonly device: Device,
  ) {
    this.inputs = session.inputMetadata.map(asFloat32Spec);
    this.float16 = {
      inputs: new Set(session.inputMetadata.flatMap((m) => (m.isTensor && m.type === 'float16' ? [m.name] : []))),
      outputs: new Set(session.outputMetadata.flatMap((m) => (m.isTensor && m.type === 'float16' ? [m.name] : []))),
    };
    if (this.float16.inputs.size + this.float16.outputs.size > 0) {
      log.info(
        { label, inputs: [...this.float16.inputs], outputs: [...this.float16.outputs] },
        'float16 inputs and outputs are converted from and to float32',
      );
    }
  }

  /** From a model file, or from model bytes (a LoRA-merged graph). */
  static async create(source: string | Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const path = typeof source === 'string' ? source : 'model bytes';
    const label = options.label ?? path;
    const preference = options.provider ?? 'auto';
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: options.intraOpThreads ?? 0,
      // Asks kernels for reproducible results (cuDNN algorithm choice, reductions): the same
      // seed must give the same image bytes on the same machine. Idle intra-op threads
      // sleep instead of spinning: spinning threads took the cores from the JavaScript
      // between UNet calls (bench: host overhead per step 24 ms → 2–4 ms median on 2 cores).
      extra: {
        session: {
          use_deterministic_compute: '1',
          intra_op: { allow_spinning: '0' },
          ...(options.externalDataDir && { model_external_initializers_file_folder_path: options.externalDataDir }),
        },
      },
    };
    const { candidates, skipped } =
      preference === 'auto' ? (plan ??= planProviders('auto', probeHost())) : planProviders(preference, probeHost());
    const fallbacks = [...skipped];
    for (const device of candidates) {
      const known = preference === 'auto' ? providerFailures.get(device) : undefined;
      if (known !== undefined) {
        fallbacks.push(known);
        continue;
      }
      try {
        const session = await createSession(source, {
          ...base,
          executionProviders: EXECUTION_PROVIDER_OPTIONS[device],
        });
        lastReport = { device, preference, fallbacks };
        log.info({ label, device, ...(fallbacks.length > 0 ? { fallbacks } : {}) }, 'session created');
        return new OnnxSession(session, label, device);
      } catch (error) {
        // CPU is the last candidate: its failure is the model's, not the provider's.
        if (device === 'cpu') throw loadFailure(`${label} from ${path}`, error);
        const loader = device === 'cuda' ? cudaLoadFailure() : undefined;
        const detail = `${messageOf(error)}${loader ? ` (${loader}; see the README's CUDA section)` : ''}`;
        const reason = `${device}: ${detail}`;
        if (preference !== 'auto') {
          // onnxruntime says only "Failed to load shared library"; the plan knows which file is missing.
          const hint = planProviders('auto', probeHost()).skipped.find((skip) => skip.startsWith(`${device}:`));
          throw new PipelineError(
            'model_invalid',
            `cannot create a ${device} session for ${label}: ${detail}${hint ? ` (${hint})` : ''}`,
            {
              cause: error,
            },
          );
        }
        providerFailures.set(device, reason);
        fallbacks.push(reason);
        log.info({ label, reason }, `${device} execution provider unavailable; trying the next one`);
      }
    }
    throw new PipelineError('model_invalid', `no execution provider could load ${label}`);
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Declared outputs, in the same shape as `inputs` (float16 listed as float32). */
  get outputs(): readonly InputSpec[] {
    return this.session.outputMetadata.map(asFloat32Spec);
  }

  /**
   * Runs the graph after checking `feeds` against its inputs. Returns the requested
   * outputs (all by default) as plain tensors; onnxruntime tensors are disposed here.
   */
  async run(feeds: Readonly<Record<string, TensorData>>, outputNames?: readonly string[]): Promise<Record<string, TensorData>> {
    const check = checkFeeds(this.inputs, feeds);
    if (!check.ok) {
      log.error(
        {
          label: this.label,
          problems: check.problems,
          feeds: Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, describeTensor(t)])),
          expected: Object.fromEntries(
            this.inputs.map((s) => [s.name, s.isTensor ? `${s.type}[${s.shape.join(',')}]` : 'non-tensor']),
          ),
        },
        'feeds do not match the graph inputs',
      );
      throw new PipelineError('input_mismatch', `${this.label}: ${check.problems.join('; ')}`);
    }

    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) {
      ortFeeds[name] =
        tensor.type === 'float32' && this.float16.inputs.has(name)
          ? new ort.Tensor('float16', toFloat16(tensor.data), [...tensor.dims])
          : new ort.Tensor(tensor.type, tensor.data, [...tensor.dims]);
    }
    let results: ort.InferenceSession.ReturnType | undefined;
    try {
      const started = performance.now();
      try {
        results = outputNames ? await this.session.run(ortFeeds, [...outputNames]) : await this.session.run(ortFeeds);
      } finally {
        inferenceMs.set(this.label, (inferenceMs.get(this.label) ?? 0) + performance.now() - started);
      }
      const out: Record<string, TensorData> = {};
      for (const [name, value] of Object.entries(results)) out[name] = toTensorData(name, value);
      return out;
    } catch (error) {
      if (error instanceof PipelineError) throw error;
      log.error(
        {
          label: this.label,
          err: error,
          feeds: Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, describeTensor(t)])),
        },
        'inference failed',
      );
      throw runFailure(this.label, error);
    } finally {
      for (const tensor of Object.values(ortFeeds)) tensor.dispose();
      if (results) for (const value of Object.values(results)) value.dispose();
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** A float16 tensor as the float32 one the runner sees (`run` converts at the boundary). */
function asFloat32Spec(m: ort.InferenceSession.ValueMetadata): InputSpec {
  if (!m.isTensor) return { name: m.name, isTensor: false };
  return { name: m.name, isTensor: true, type: m.type === 'float16' ? 'float32' : m.type, shape: m.shape };
}

/** Output data stays valid after dispose: on CPU it is a JS typed array we keep a reference to. */
function toTensorData(name: string, tensor: ort.Tensor): TensorData {
  const dims = [...tensor.dims];
  switch (tensor.type) {
    case 'float32':
      return { type: 'float32', data: tensor.data as Float32Array, dims };
    case 'float16':
      return { type: 'float32', data: fromFloat16(tensor.data as Uint16Array), dims };
    case 'int32':
      return { type: 'int32', data: tensor.data as Int32Array, dims };
    case 'int64':
      return { type: 'int64', data: tensor.data as BigInt64Array, dims };
    default:
      throw new PipelineError('model_invalid', `output "${name}" has unsupported dtype ${tensor.type}`);
  }
}

/** Each provider with CPU behind it for the operators it lacks (onnxruntime assigns per node). */
const EXECUTION_PROVIDER_OPTIONS: Record<Device, ort.InferenceSession.SessionOptions['executionProviders']> = {
  cuda: [{ name: 'cuda', deviceId: 0 }, 'cpu'],
  webgpu: ['webgpu', 'cpu'],
  cpu: ['cpu'],
};

function createSession(source: string | Uint8Array, options: ort.InferenceSession.SessionOptions) {
  return typeof source === 'string' ? ort.InferenceSession.create(source, options) : ort.InferenceSession.create(source, options);
}
