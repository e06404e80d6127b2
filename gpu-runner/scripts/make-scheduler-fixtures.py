#!/usr/bin/env python3
"""
Golden values for gpu-runner/src/schedulers/*.test.ts, produced by diffusers' own
schedulers (never a re-implementation): for each case, the scheduler built with
`SchedulerClass.from_config(config, **overrides)` as a pipeline would, its
alphas_cumprod, timesteps, sigmas, init_noise_sigma, and the sums and means of a
deterministic sampling loop:

  sample_0 = start * init_noise_sigma          start[i] = ((i * 37) % 101) / 50 - 1
  model(x, t)[i] = 0.9 * x[i] + c[i] * (t / 1000)   c[i] = ((i * 53) % 97) / 97 - 0.5
  for t in timesteps: x = step(model(scale_model_input(x, t), t), t, x).prev_sample

on a [1, 4, 4, 4] float32 tensor. Stochastic schedulers (Euler ancestral, DPM++ SDE, LCM)
draw their noise through diffusers' `randn_tensor`, which this script replaces with a
deterministic source the TypeScript test computes too (call k, element i):

  noise_k[i] = ((i * 7919 + k * 104729 + 13) % 2003) / 1001.5 - 1   (float64, then float32)

so both sides feed the scheduler exactly the same noise.

Run from the repository root (never in CI; torch is ~4 GB and runs on CPU here):
  python3 -m venv /work/venv-ref
  /work/venv-ref/bin/pip install torch==2.15.0 diffusers==0.42.1 numpy
  /work/venv-ref/bin/python gpu-runner/scripts/make-scheduler-fixtures.py \
      > gpu-runner/src/schedulers/fixtures/schedulers.golden.json
"""
import base64
import json
import sys

import diffusers
import numpy as np
import torch
from diffusers import (
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    LCMScheduler,
)
from diffusers.schedulers import (
    scheduling_dpmsolver_multistep,
    scheduling_euler_ancestral_discrete,
    scheduling_euler_discrete,
    scheduling_lcm,
)

SIZE = 64
SHAPE = (1, 4, 4, 4)

# stabilityai/stable-diffusion-xl-base-1.0 scheduler/scheduler_config.json (also what the
# tiny model ships).
SDXL = {
    "_class_name": "EulerDiscreteScheduler",
    "_diffusers_version": "0.30.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "sample_max_value": 1.0,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "trained_betas": None,
    "use_karras_sigmas": False,
}

KARRAS = {"use_karras_sigmas": True, "solver_order": 2}

# name, class, base config, overrides, steps, the Atelier scheduler name that means the
# same (or None), and the timestepSpacing override that goes with it
CASES = [
    ("euler sdxl 30", EulerDiscreteScheduler, SDXL, {}, 30, "euler", None),
    ("euler sdxl 1", EulerDiscreteScheduler, SDXL, {}, 1, "euler", None),
    ("euler sdxl trailing 4 (lightning)", EulerDiscreteScheduler, SDXL, {"timestep_spacing": "trailing"}, 4, "euler", "trailing"),
    ("euler sdxl trailing 8", EulerDiscreteScheduler, SDXL, {"timestep_spacing": "trailing"}, 8, "euler", "trailing"),
    ("euler sdxl linspace 25", EulerDiscreteScheduler, SDXL, {"timestep_spacing": "linspace"}, 25, "euler", "linspace"),
    ("euler defaults 20", EulerDiscreteScheduler, {}, {}, 20, None, None),
    ("euler v-prediction 10", EulerDiscreteScheduler, SDXL, {"prediction_type": "v_prediction"}, 10, None, None),
    ("euler cosine sigma_min 7", EulerDiscreteScheduler, {}, {"beta_schedule": "squaredcos_cap_v2", "final_sigmas_type": "sigma_min", "timestep_spacing": "trailing"}, 7, None, None),
    ("euler-ancestral sdxl 30", EulerAncestralDiscreteScheduler, SDXL, {}, 30, "euler-ancestral", None),
    ("euler-ancestral sdxl trailing 6", EulerAncestralDiscreteScheduler, SDXL, {"timestep_spacing": "trailing"}, 6, "euler-ancestral", "trailing"),
    ("euler-ancestral v-prediction linspace 12", EulerAncestralDiscreteScheduler, SDXL, {"prediction_type": "v_prediction", "timestep_spacing": "linspace"}, 12, None, None),
    ("dpmpp-2m-karras sdxl 30", DPMSolverMultistepScheduler, SDXL, {**KARRAS, "algorithm_type": "dpmsolver++"}, 30, "dpmpp-2m-karras", None),
    ("dpmpp-2m-karras sdxl 10", DPMSolverMultistepScheduler, SDXL, {**KARRAS, "algorithm_type": "dpmsolver++"}, 10, "dpmpp-2m-karras", None),
    ("dpmpp-2m-karras heun 12", DPMSolverMultistepScheduler, SDXL, {**KARRAS, "algorithm_type": "dpmsolver++", "solver_type": "heun"}, 12, None, None),
    ("dpmpp-2m-karras v-prediction 20", DPMSolverMultistepScheduler, SDXL, {**KARRAS, "algorithm_type": "dpmsolver++", "prediction_type": "v_prediction"}, 20, None, None),
    ("dpmpp-2m-sde-karras sdxl 30", DPMSolverMultistepScheduler, SDXL, {**KARRAS, "algorithm_type": "sde-dpmsolver++"}, 30, "dpmpp-2m-sde-karras", None),
    ("dpmpp-2m-sde-karras sdxl 8", DPMSolverMultistepScheduler, SDXL, {**KARRAS, "algorithm_type": "sde-dpmsolver++"}, 8, "dpmpp-2m-sde-karras", None),
    ("dpmpp-2m-sde-karras heun 16", DPMSolverMultistepScheduler, SDXL, {**KARRAS, "algorithm_type": "sde-dpmsolver++", "solver_type": "heun"}, 16, None, None),
    ("dpmpp-2m leading 20", DPMSolverMultistepScheduler, SDXL, {"algorithm_type": "dpmsolver++"}, 20, None, None),
    ("dpmpp-2m linspace sigma_min 15", DPMSolverMultistepScheduler, {}, {"final_sigmas_type": "sigma_min", "euler_at_final": True}, 15, None, None),
    ("dpmpp-2m-sde trailing 8", DPMSolverMultistepScheduler, SDXL, {"algorithm_type": "sde-dpmsolver++", "timestep_spacing": "trailing"}, 8, None, None),
    ("lcm sdxl 4", LCMScheduler, SDXL, {}, 4, "lcm", None),
    ("lcm sdxl 8", LCMScheduler, SDXL, {}, 8, "lcm", None),
    ("lcm sdxl 1", LCMScheduler, SDXL, {}, 1, "lcm", None),
    ("lcm defaults 6", LCMScheduler, {}, {}, 6, None, None),
    ("lcm v-prediction original 20, 7", LCMScheduler, SDXL, {"prediction_type": "v_prediction", "original_inference_steps": 20}, 7, None, None),
]


class FixedNoise:
    """Stands in for randn_tensor: the k-th call returns noise_k."""

    def __init__(self):
        self.calls = 0

    def __call__(self, shape, generator=None, device=None, dtype=None, layout=None):
        assert tuple(shape) == SHAPE, shape
        k = self.calls
        self.calls += 1
        i = np.arange(SIZE, dtype=np.int64)
        values = ((i * 7919 + k * 104729 + 13) % 2003) / 1001.5 - 1.0
        return torch.from_numpy(values.astype(np.float32)).reshape(SHAPE).to(dtype or torch.float32)


def f32_base64(tensor):
    return base64.b64encode(np.asarray(tensor, dtype="<f4").tobytes()).decode("ascii")


def total(x):
    return x.to(torch.float64).sum().item()


def run_case(name, cls, base, overrides, steps):
    noise = FixedNoise()
    for module in (scheduling_euler_ancestral_discrete, scheduling_dpmsolver_multistep, scheduling_lcm, scheduling_euler_discrete):
        module.randn_tensor = noise
    scheduler = cls.from_config(base, **overrides)
    scheduler.set_timesteps(steps)

    i = torch.arange(SIZE, dtype=torch.int64)
    start = (((i * 37) % 101).to(torch.float32) / 50 - 1).reshape(SHAPE)
    c = (((i * 53) % 97).to(torch.float32) / 97 - 0.5).reshape(SHAPE)
    sample = start * scheduler.init_noise_sigma

    per_step = []
    for t in scheduler.timesteps:
        scaled = scheduler.scale_model_input(sample, t)
        model_output = scaled * 0.9 + c * (t.to(torch.float32) / 1000)
        out = scheduler.step(model_output, t, sample)
        if cls is DPMSolverMultistepScheduler:
            pred_original = scheduler.model_outputs[-1]
        elif cls is LCMScheduler:
            pred_original = out.denoised
        else:
            pred_original = out.pred_original_sample
        sample = out.prev_sample
        per_step.append([t.item(), total(scaled), total(sample), total(pred_original) / SIZE])

    init_noise_sigma = scheduler.init_noise_sigma
    case = {
        "name": name,
        "className": cls.__name__,
        "config": "sdxl" if base is SDXL else "defaults",
        "overrides": overrides,
        "steps": steps,
        "alphasCumprod": f32_base64(scheduler.alphas_cumprod),
        "timesteps": [float(t) for t in scheduler.timesteps.tolist()],
        "initNoiseSigma": float(init_noise_sigma.item() if torch.is_tensor(init_noise_sigma) else init_noise_sigma),
        "noiseDraws": noise.calls,
        # [timestep, sum of scale_model_input, sum of prev_sample, mean of pred_original_sample]
        "perStep": per_step,
        "final": {
            "sum": total(sample),
            "mean": total(sample) / SIZE,
            "absSum": total(sample.abs()),
            "first8": sample.flatten()[:8].tolist(),
        },
    }
    if hasattr(scheduler, "sigmas") and cls is not LCMScheduler:
        case["sigmas"] = f32_base64(scheduler.sigmas)
    return case


def main():
    cases = []
    tables = []
    for name, cls, base, overrides, steps, atelier, spacing in CASES:
        case = run_case(name, cls, base, overrides, steps)
        if atelier:
            case["atelier"] = {"scheduler": atelier, **({"timestepSpacing": spacing} if spacing else {})}
        # alphas_cumprod depends only on the beta schedule: store each distinct one once.
        if case["alphasCumprod"] not in tables:
            tables.append(case["alphasCumprod"])
        case["alphasCumprod"] = tables.index(case["alphasCumprod"])
        cases.append(case)
    out = {
        "generatedBy": "gpu-runner/scripts/make-scheduler-fixtures.py "
        f"(diffusers {diffusers.__version__}, torch {torch.__version__}, numpy {np.__version__})",
        "configs": {"sdxl": SDXL, "defaults": {}},
        # float32 little-endian, base64; cases point into this list
        "alphasCumprod": tables,
        "cases": cases,
    }
    json.dump(out, sys.stdout, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
