/**
 * Where a scheduler is in its schedule. The first `scaleModelInput`/`step` locates the
 * timestep as diffusers does (the second occurrence when a timestep repeats, so img2img
 * starting mid-schedule does not skip a sigma); later calls must follow the schedule in
 * order, and anything else is a misuse that throws rather than silently resampling.
 */
export class StepIndex {
  private index: number | undefined;
  private ready = false;

  constructor(private readonly name: string) {}

  /** Called by `setTimesteps`. */
  reset(): void {
    this.index = undefined;
    this.ready = true;
  }

  get value(): number | undefined {
    return this.index;
  }

  /** The index of `timestep` in `timesteps` for the current call. */
  current(timesteps: Float32Array, timestep: number, caller: string): number {
    if (!this.ready) throw new Error(`${this.name}.${caller} called before setTimesteps`);
    const t = Math.fround(timestep);
    if (this.index === undefined) {
      const matches: number[] = [];
      timesteps.forEach((value, i) => {
        if (value === t) matches.push(i);
      });
      if (matches.length === 0) throw new Error(`${this.name}: timestep ${timestep} is not in the schedule`);
      this.index = matches.length > 1 ? matches[1]! : matches[0]!;
    } else if (this.index >= timesteps.length) {
      throw new Error(`${this.name}.${caller} called after the last timestep`);
    } else if (timesteps[this.index] !== t) {
      throw new Error(`${this.name}: timestep ${timestep} is not the current one (${timesteps[this.index]})`);
    }
    return this.index;
  }

  advance(): void {
    if (this.index !== undefined) this.index += 1;
  }
}
