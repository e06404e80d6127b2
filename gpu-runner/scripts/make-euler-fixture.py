#!/usr/bin/env python3
"""
Golden values for gpu-runner/src/schedulers/euler-discrete-scheduler.ts.

diffusers' EulerDiscreteScheduler needs torch, and torch from PyPI is gigabytes of CUDA
wheels, so this file transliterates the reference algorithm (diffusers 0.30,
src/diffusers/schedulers/scheduling_euler_discrete.py) line by line into numpy, keeping
torch's float32 semantics: every tensor op below is a float32 numpy op, and the places
where diffusers itself uses numpy (set_timesteps) use numpy exactly as it does.

One deliberate approximation: torch.linspace(dtype=float32) is written out as torch's
scalar CPU kernel (float32 start/end/step, first half counted from start, second half from
end). torch's vectorised kernel can differ from that by one ulp on some betas, which moves
sigmas by ~1e-7 relative; the TypeScript test compares with a tolerance that covers it.

Run:  python3 gpu-runner/scripts/make-euler-fixture.py > gpu-runner/src/schedulers/fixtures/euler-discrete.golden.json
Needs numpy only.
"""
import json
import math
import sys

import numpy as np

F32 = np.float32


def torch_linspace_f32(start, end, steps):
    # aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp, linspace_kernel (scalar path)
    s, e = F32(start), F32(end)
    step = F32(F32(e - s) / F32(steps - 1))
    half = steps // 2
    out = np.empty(steps, dtype=F32)
    for i in range(steps):
        out[i] = F32(s + F32(step * F32(i))) if i < half else F32(e - F32(step * F32(steps - i - 1)))
    return out


def betas_for_alpha_bar(n, max_beta=0.999):
    def alpha_bar_fn(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = []
    for i in range(n):
        t1, t2 = i / n, (i + 1) / n
        betas.append(min(1 - alpha_bar_fn(t2) / alpha_bar_fn(t1), max_beta))
    return np.array(betas, dtype=F32)


class EulerDiscreteScheduler:
    def __init__(self, num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                 prediction_type="epsilon", interpolation_type="linear", timestep_spacing="linspace",
                 steps_offset=0, final_sigmas_type="zero"):
        self.config = dict(num_train_timesteps=num_train_timesteps, prediction_type=prediction_type,
                           interpolation_type=interpolation_type, timestep_spacing=timestep_spacing,
                           steps_offset=steps_offset, final_sigmas_type=final_sigmas_type)
        if beta_schedule == "linear":
            self.betas = torch_linspace_f32(beta_start, beta_end, num_train_timesteps)
        elif beta_schedule == "scaled_linear":
            self.betas = torch_linspace_f32(beta_start ** 0.5, beta_end ** 0.5, num_train_timesteps) ** 2
        elif beta_schedule == "squaredcos_cap_v2":
            self.betas = betas_for_alpha_bar(num_train_timesteps)
        self.alphas = F32(1.0) - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas, dtype=F32)  # sequential float32, as torch.cumprod on CPU
        sigmas = np.sqrt((F32(1) - self.alphas_cumprod) / self.alphas_cumprod)[::-1]
        self.sigmas = np.concatenate([sigmas, np.zeros(1, dtype=F32)]).astype(F32)
        self.timesteps = np.linspace(0, num_train_timesteps - 1, num_train_timesteps, dtype=float)[::-1].astype(F32)
        self.num_inference_steps = None
        self._step_index = None

    @property
    def init_noise_sigma(self):
        max_sigma = self.sigmas.max()
        if self.config["timestep_spacing"] in ["linspace", "trailing"]:
            return max_sigma
        return np.sqrt(F32(max_sigma * max_sigma) + F32(1))

    def set_timesteps(self, num_inference_steps):
        self.num_inference_steps = num_inference_steps
        n = self.config["num_train_timesteps"]
        spacing = self.config["timestep_spacing"]
        if spacing == "linspace":
            timesteps = np.linspace(0, n - 1, num_inference_steps, dtype=np.float32)[::-1].copy()
        elif spacing == "leading":
            step_ratio = n // num_inference_steps
            timesteps = (np.arange(0, num_inference_steps) * step_ratio).round()[::-1].copy().astype(np.float32)
            timesteps += self.config["steps_offset"]
        elif spacing == "trailing":
            step_ratio = n / num_inference_steps
            timesteps = (np.arange(n, 0, -step_ratio)).round().copy().astype(np.float32)
            timesteps -= 1
        sigmas = np.array(np.sqrt((F32(1) - self.alphas_cumprod) / self.alphas_cumprod))
        if self.config["interpolation_type"] == "linear":
            sigmas = np.interp(timesteps, np.arange(0, len(sigmas)), sigmas)
        if self.config["final_sigmas_type"] == "sigma_min":
            sigma_last = np.sqrt((F32(1) - self.alphas_cumprod[0]) / self.alphas_cumprod[0])
        else:
            sigma_last = 0
        self.sigmas = np.concatenate([sigmas, [sigma_last]]).astype(np.float32)
        self.timesteps = timesteps.astype(np.float32)
        self._step_index = None

    def index_for_timestep(self, timestep):
        indices = np.nonzero(self.timesteps == timestep)[0]
        pos = 1 if len(indices) > 1 else 0
        return int(indices[pos])

    def _init_step_index(self, timestep):
        self._step_index = self.index_for_timestep(timestep)

    def scale_model_input(self, sample, timestep):
        if self._step_index is None:
            self._init_step_index(timestep)
        sigma = self.sigmas[self._step_index]
        return sample / np.sqrt(F32(sigma * sigma) + F32(1))

    def step(self, model_output, timestep, sample):
        if self._step_index is None:
            self._init_step_index(timestep)
        sample = sample.astype(F32)
        sigma = self.sigmas[self._step_index]
        gamma = 0.0  # s_churn = 0
        sigma_hat = F32(sigma * F32(gamma + 1))
        pt = self.config["prediction_type"]
        if pt in ("original_sample", "sample"):
            pred_original_sample = model_output
        elif pt == "epsilon":
            pred_original_sample = sample - sigma_hat * model_output
        elif pt == "v_prediction":
            pred_original_sample = model_output * (-sigma / np.sqrt(F32(sigma * sigma) + F32(1))) + (sample / (F32(sigma * sigma) + F32(1)))
        derivative = (sample - pred_original_sample) / sigma_hat
        dt = F32(self.sigmas[self._step_index + 1] - sigma_hat)
        prev_sample = sample + derivative * dt
        self._step_index += 1
        return prev_sample.astype(F32), pred_original_sample.astype(F32)


SIZE = 64  # a [1, 4, 4, 4] latent


def start_sample():
    # A fixed, exactly reproducible stand-in for Gaussian noise: ((37 i) mod 101) / 50 - 1.
    i = np.arange(SIZE)
    return (((i * 37) % 101).astype(F32) / F32(50)) - F32(1)


def fake_model(scaled, timestep):
    # Exactly reproducible in float32 on both sides: 0.9 x + c_i * (t / 1000).
    i = np.arange(SIZE)
    c = (((i * 53) % 97).astype(F32) / F32(97)) - F32(0.5)
    return scaled * F32(0.9) + c * F32(F32(timestep) / F32(1000))


def run_case(name, config, steps):
    scheduler = EulerDiscreteScheduler(**config)
    scheduler.set_timesteps(steps)
    sample = start_sample() * scheduler.init_noise_sigma
    per_step = []
    for t in scheduler.timesteps:
        scaled = scheduler.scale_model_input(sample, t)
        output = fake_model(scaled, t)
        sample, x0 = scheduler.step(output, t, sample)
        per_step.append({
            "timestep": float(t),
            "scaledSum": float(scaled.astype(np.float64).sum()),
            "prevSampleSum": float(sample.astype(np.float64).sum()),
            "predOriginalMean": float(x0.astype(np.float64).mean()),
        })
    return {
        "name": name,
        "config": config,
        "steps": steps,
        "timesteps": [float(t) for t in scheduler.timesteps],
        "sigmas": [float(s) for s in scheduler.sigmas],
        "initNoiseSigma": float(scheduler.init_noise_sigma),
        "perStep": per_step,
        "final": {
            "sum": float(sample.astype(np.float64).sum()),
            "mean": float(sample.astype(np.float64).mean()),
            "absSum": float(np.abs(sample.astype(np.float64)).sum()),
            "first8": [float(v) for v in sample[:8]],
        },
    }


SDXL = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
            prediction_type="epsilon", interpolation_type="linear", timestep_spacing="leading", steps_offset=1)

cases = [
    run_case("sdxl-leading-30", SDXL, 30),
    run_case("sdxl-leading-7", SDXL, 7),
    run_case("sdxl-linspace-25", dict(SDXL, timestep_spacing="linspace", steps_offset=0), 25),
    run_case("sdxl-trailing-16-v", dict(SDXL, timestep_spacing="trailing", steps_offset=0, prediction_type="v_prediction"), 16),
    run_case("linear-leading-20-sigma-min", dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02,
             beta_schedule="linear", timestep_spacing="leading", steps_offset=1, final_sigmas_type="sigma_min"), 20),
]
json.dump({
    "generatedBy": "gpu-runner/scripts/make-euler-fixture.py (numpy " + np.__version__ + ")",
    "startSample": "((37 i) mod 101) / 50 - 1, times initNoiseSigma, 64 values",
    "model": "0.9 * scaled + (((53 i) mod 97) / 97 - 0.5) * (t / 1000)",
    "cases": cases,
}, sys.stdout, indent=1)
sys.stdout.write("\n")
