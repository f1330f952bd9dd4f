import type { BuildOptions } from 'esbuild';
export declare const consoleEntry: string;
export declare const consoleBuildOptions: (root: string) => BuildOptions & { write: false };
