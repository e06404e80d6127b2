import { PERFORMANCE_PRESETS, type PerformancePreset } from '@atelier/protocol';

/** The performance presets (their values live in @atelier/protocol, shared with the runner). */
export type Preset = PerformancePreset;
export const PRESETS = PERFORMANCE_PRESETS;
