export { SdxlPipeline } from './pipeline/sdxl-pipeline.js';
export type { GeneratedImage, GenerateOptions, SdxlPipelineOptions } from './pipeline/sdxl-pipeline.js';
export { PipelineError, isPipelineError } from './errors/pipeline-error.js';
export type { PipelineErrorCode } from './errors/pipeline-error.js';
export { ensureModel, defaultModelDir } from './model/ensure-model.js';
export type { EnsureModelResult } from './model/ensure-model.js';
export type { Device, ExecutionProviderPreference } from './onnx/onnx-session.js';
