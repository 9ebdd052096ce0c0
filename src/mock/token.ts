// The simulator's default token, on its own: the CLI names it in --help without loading the
// simulator (an ESM import of node:http builds its module facade, which loads Node's bundled undici).
export const DEFAULT_MOCK_TOKEN = 'mock-token';
