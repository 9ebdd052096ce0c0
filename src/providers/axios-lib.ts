// axios as the collector loads it: its CommonJS build for Node, through require. Imported as an
// ES module, axios's lib files import node:http and node:https as ES modules, and Node builds
// their ES module facades by reading every export, one of which loads Node's bundled undici:
// ~50 ms of CPU at the start of every one-shot poll, for nothing the collector uses.
import { createRequire } from 'node:module';
import type { AxiosStatic } from 'axios';

const axios = createRequire(import.meta.url)('axios') as AxiosStatic;
export default axios;
