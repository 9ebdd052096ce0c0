// One poll against the bundled simulator with faults switched on, into ./data and ./logs,
// then the store read back with DuckDB from its root. Needs `npm run build` first.
import { spawn } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { startMockProvider } from '../dist/src/mock/server.js';

const mock = await startMockProvider({ failRate: 0.2, hangRate: 0.02, latencyMs: 20, priceDrift: 0.05, seed: Date.now() % 1000 });
console.log(`simulator at ${mock.url} (20% 5xx, 2% hangs)`);
// The simulator runs in this process, so the poll runs as a child process (async: the simulator must keep answering).
const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, ['dist/src/cli.js', 'poll'], {
    stdio: 'inherit',
    env: { ...process.env, API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, HTTP_TIMEOUT_MS: '2000' },
  });
  child.on('exit', resolve);
});
await mock.close();
console.log(`\npoll exited ${code} (0 complete, 2 partial, 1 failed)\n`);

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = (await con.runAndReadAll(
  `SELECT provider, count(*)::INT AS movie_rows, count(DISTINCT run)::INT AS polls
     FROM read_parquet('data/movies/**/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1`,
)).getRowObjectsJS();
console.log("SELECT provider, count(*) FROM read_parquet('data/movies/**/*.parquet', hive_partitioning = true) GROUP BY 1");
console.table(rows);
con.closeSync();
db.closeSync();
