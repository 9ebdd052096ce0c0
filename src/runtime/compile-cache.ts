// Node's on-disk compile cache (Node 22.8+): the CLI's modules and its dependencies' (axios,
// parquetjs, winston, ...) are compiled once and reused by later runs, which cuts the start-up
// CPU of every one-shot `poll`. Imported first by the CLI, so that every module loaded after it
// (all the commands' own, which are imported when a command runs) is cached. The cache lives in
// $NODE_COMPILE_CACHE, else <tmpdir>/node-compile-cache; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
// A folder that cannot be written only costs the saving: Node then compiles as usual.
import module from 'node:module';

// module.enableCompileCache came in Node 22.8 (engines allow 22.0), though @types/node 22
// declares it always present: looked up, not assumed.
const enable = (module as { enableCompileCache?: () => unknown }).enableCompileCache;
enable?.();
