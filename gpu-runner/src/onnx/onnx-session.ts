/**
 * The only module that imports onnxruntime-node (pinned exactly in package.json, as native
 * binaries and execution-provider behaviour change between releases). Everything else
 * talks to graphs through `OnnxSession` and plain `TensorData`.
 */
import ort from 'onnxruntime-node';
import { PipelineError } from '../errors/pipeline-error.js';
import { moduleLogger } from '../logging/logger.js';
import { checkFeeds, type InputSpec } from './feed-check.js';
import { describeTensor, type TensorData } from './tensor-data.js';

const log = moduleLogger('onnx');

// onnxruntime's native logger writes straight to stderr and reads its level once, at the
// first session. Its errors reach us as exceptions too (and get logged with context), so
// it only speaks when our logs are at debug or trace; otherwise a CUDA probe on a CPU
// host would print a frightening but expected "failed to load library" on every start.
// It follows this module's logger, whose level came from LOG_LEVEL (@atelier/runtime).
const NATIVE_LOG_LEVELS: Record<string, ort.Env['logLevel']> = { trace: 'verbose', debug: 'warning' };
ort.env.logLevel = NATIVE_LOG_LEVELS[log.level] ?? 'fatal';

/** `auto` tries CUDA and falls back to CPU; `cuda` fails if CUDA cannot be used. */
export type ExecutionProviderPreference = 'auto' | 'cpu' | 'cuda';
export type Device = 'cpu' | 'cuda';

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

/**
 * Set once CUDA failed to initialise in this process: every later session would fail the
 * same way, and each failed attempt costs a library load and an error log.
 */
let cudaFailure: string | undefined;

export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly label: string,
    readonly device: Device,
  ) {}

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
      // seed must give the same image bytes on the same machine.
      extra: {
        session: {
          use_deterministic_compute: '1',
          ...(options.externalDataDir && { model_external_initializers_file_folder_path: options.externalDataDir }),
        },
      },
    };
    if (preference !== 'cpu' && (preference === 'cuda' || cudaFailure === undefined)) {
      try {
        const session = await createSession(source, { ...base, executionProviders: ['cuda', 'cpu'] });
        log.info({ label, device: 'cuda' }, 'session created');
        return new OnnxSession(session, label, 'cuda');
      } catch (error) {
        if (preference === 'cuda') {
          throw new PipelineError('model_invalid', `cannot create a CUDA session for ${label}: ${messageOf(error)}`, {
            cause: error,
          });
        }
        cudaFailure = messageOf(error);
        log.info({ label, reason: cudaFailure }, 'CUDA execution provider unavailable; using CPU');
      }
    }
    try {
      const session = await createSession(source, { ...base, executionProviders: ['cpu'] });
      log.info({ label, device: 'cpu' }, 'session created');
      return new OnnxSession(session, label, 'cpu');
    } catch (error) {
      throw new PipelineError('model_invalid', `cannot load ${label} from ${path}: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Declared inputs, as onnxruntime reports them (symbolic dims are strings). */
  get inputs(): readonly InputSpec[] {
    return this.session.inputMetadata.map((m) =>
      m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: m.shape } : { name: m.name, isTensor: false },
    );
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Declared outputs, in the same shape as `inputs`. */
  get outputs(): readonly InputSpec[] {
    return this.session.outputMetadata.map((m) =>
      m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: m.shape } : { name: m.name, isTensor: false },
    );
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
    for (const [name, tensor] of Object.entries(feeds))
      ortFeeds[name] = new ort.Tensor(tensor.type, tensor.data, [...tensor.dims]);
    let results: ort.InferenceSession.ReturnType | undefined;
    try {
      results = outputNames ? await this.session.run(ortFeeds, [...outputNames]) : await this.session.run(ortFeeds);
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
      throw new PipelineError('inference_failed', `${this.label} failed: ${messageOf(error)}`, { cause: error });
    } finally {
      for (const tensor of Object.values(ortFeeds)) tensor.dispose();
      if (results) for (const value of Object.values(results)) value.dispose();
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Output data stays valid after dispose: on CPU it is a JS typed array we keep a reference to. */
function toTensorData(name: string, tensor: ort.Tensor): TensorData {
  const dims = [...tensor.dims];
  switch (tensor.type) {
    case 'float32':
      return { type: 'float32', data: tensor.data as Float32Array, dims };
    case 'int32':
      return { type: 'int32', data: tensor.data as Int32Array, dims };
    case 'int64':
      return { type: 'int64', data: tensor.data as BigInt64Array, dims };
    default:
      throw new PipelineError('model_invalid', `output "${name}" has unsupported dtype ${tensor.type}`);
  }
}

function createSession(source: string | Uint8Array, options: ort.InferenceSession.SessionOptions) {
  return typeof source === 'string' ? ort.InferenceSession.create(source, options) : ort.InferenceSession.create(source, options);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
