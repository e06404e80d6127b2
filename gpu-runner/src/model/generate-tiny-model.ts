#!/usr/bin/env node
/**
 * `npm run generate-model -w @atelier/gpu-runner [-- <dir>]`: writes the tiny SDXL model to
 * `<dir>` (default: the package's models/tiny-sdxl) unless a complete model is there.
 */
import { resolve } from 'node:path';
import { defaultModelDir, ensureModel } from './ensure-model.js';

const target = process.argv[2] ? resolve(process.argv[2]) : defaultModelDir();
const started = performance.now();
const { dir, generated } = await ensureModel(target);
const ms = Math.round(performance.now() - started);
process.stdout.write(generated ? `wrote tiny SDXL model to ${dir} in ${ms} ms\n` : `model already present at ${dir}\n`);
