// The daemon on a 10-second schedule against the bundled simulator (moderate faults, prices
// drifting between polls), writing ./data and ./logs. Ctrl-C stops both cleanly.
// Needs `npm run build` first.
import { spawn } from 'node:child_process';
import { startMockProvider } from '../dist/src/mock/server.js';

const mock = await startMockProvider({ failRate: 0.15, hangRate: 0.01, latencyMs: 20, priceDrift: 0.05, seed: 7 });
console.log(`simulator at ${mock.url} (15% 5xx, 1% hangs, prices drift); daemon every 10 s; Ctrl-C to stop\n`);
const daemon = spawn(process.execPath, ['dist/src/cli.js', 'start'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    API_TOKEN: mock.token,
    PROVIDER_BASE_URL: mock.url,
    SCHEDULE_CRON: process.env.SCHEDULE_CRON ?? '*/10 * * * * *',
    HTTP_TIMEOUT_MS: '2000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  },
});
// Ctrl-C reaches the daemon too (same process group); wait for its clean stop, then stop the simulator.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => daemon.kill('SIGTERM'));
const code = await new Promise((resolve) => daemon.on('exit', (c) => resolve(c)));
await mock.close();
console.log(`\ndaemon exited ${code}; the store is in ./data, the logs in ./logs (tail -F logs/current.log)`);
process.exit(code ?? 1);
