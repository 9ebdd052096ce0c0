// Issue 19, item 10: certificate errors are not transient. An untrusted, an expired and a
// wrong-host certificate each fail the poll at once (one attempt, no backoff), with one line that
// names the cause and NODE_EXTRA_CA_CERTS. Certificates are made with openssl for each run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from './helpers.js';

const openssl = (cwd: string, ...args: string[]) => execFileSync('openssl', args, { cwd, stdio: 'ignore' });

/** A CA, and leaves it signed: for 127.0.0.1, expired, and for another host name; plus a self-signed one. */
function certificates(dir: string) {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=test-ca');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=leaf');
  const leaf = (name: string, san: string, days: string) => {
    writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    openssl(dir, 'x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', days, '-extfile', `${name}.ext`);
  };
  leaf('expired', 'IP:127.0.0.1', '-1');
  leaf('wronghost', 'DNS:elsewhere.invalid', '30');
  openssl(dir, 'req', '-x509', '-key', 'leaf.key', '-out', 'self.pem', '-days', '30', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1');
}

test('an untrusted, expired or wrong-host certificate fails at once with one line naming the cause and NODE_EXTRA_CA_CERTS', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  certificates(dir);
  const read = (f: string) => execFileSync('cat', [path.join(dir, f)]);
  const cases = [
    { cert: 'self.pem', extra: false, cause: /self-signed|not trusted|untrusted/i },
    { cert: 'expired.pem', extra: true, cause: /expired/i },
    { cert: 'wronghost.pem', extra: true, cause: /host name|does not match|altname/i },
  ];
  for (const c of cases) {
    let connections = 0;
    const server = https.createServer({ key: read('leaf.key'), cert: read(c.cert) }, (_req, res) => res.end('{"Movies":[]}'));
    server.on('connection', () => connections++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
    const env: Record<string, string> = { API_TOKEN: 'tok-123456', PROVIDER_BASE_URL: url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0', HTTP_RETRIES: '4' };
    if (c.extra) env.NODE_EXTRA_CA_CERTS = path.join(dir, 'ca.pem');
    const started = Date.now();
    const result = await runCli(['poll'], { cwd: dir, env });
    server.closeAllConnections();
    server.close();
    assert.equal(result.code, 1, `${c.cert}: ${result.stderr}`);
    assert.equal(connections, 2, `${c.cert}: one attempt per provider, not retried (${connections} connections)`);
    assert.ok(Date.now() - started < 5000, `${c.cert}: took ${Date.now() - started} ms`);
    const line = result.stderr.split('\n').find((l) => l.startsWith('poll failed:')) ?? '';
    assert.match(line, c.cause, `${c.cert}: ${result.stderr}`);
    assert.match(line, /NODE_EXTRA_CA_CERTS/, `${c.cert}: ${line}`);
  }
});
