// The collector's version, from package.json (recorded in every runs row).
import { createRequire } from 'node:module';

export const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
