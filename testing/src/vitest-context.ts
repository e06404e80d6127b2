// What the run's global setup (global-setup.ts) provides to every test file.
declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    /** Where spawned server processes are recorded (spawned-processes.ts). */
    spawnedDir: string;
  }
}
export {};
