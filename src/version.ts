/** The version comes from package.json (inlined by esbuild in the bundle and the executable). */
import packageJson from '../package.json' with { type: 'json' };

export const version: string = packageJson.version;
