// The client's transport for real: an https provider (a self-signed certificate made with openssl,
// trusted through NODE_EXTRA_CA_CERTS) over keep-alive connections, an untrusted certificate
// refused, and HTTP(S)_PROXY / NO_PROXY honoured (a CONNECT proxy on 127.0.0.1).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { query, table } from './duckdb.js';
import { runCli, tempDir } from './helpers.js';

const TOKEN = 'transport-test-token';
const FILMS = 30;

/** A certificate for 127.0.0.1 and its key, made by openssl in `dir`. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const made = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { encoding: 'utf8' });
  assert.equal(made.status, 0, `openssl: ${made.stderr}`);
  return { cert, key };
}

async function httpsProvider(t: { after(fn: () => unknown): void }, dir: string) {
  const { cert, key } = selfSigned(dir);
  let requests = 0;
  let connections = 0;
  const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    requests++;
    if (req.headers['x-access-token'] !== TOKEN) return void res.writeHead(401).end('{}');
    if (req.url === '/api/p/movies') return void res.writeHead(200).end(JSON.stringify({ Movies: Array.from({ length: FILMS }, (_, i) => ({ ID: `m${i}` })) }));
    const id = /^\/api\/p\/movie\/(.+)$/.exec(req.url ?? '')?.[1] ?? '';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ID: id, Title: `Film ${id}`, Year: '2001', Price: '10.5' }));
  });
  server.on('secureConnection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/api/`, cert, requests: () => requests, connections: () => connections };
}

test('an https base URL works over keep-alive connections; an untrusted certificate is refused, its error named', async (t) => {
  const cwd = tempDir(t);
  const provider = await httpsProvider(t, cwd);
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers: ['p'], http: { concurrency: 2 } }));
  const env = { API_TOKEN: TOKEN, PROVIDER_BASE_URL: provider.url, CONFIG_FILE: path.join(cwd, 'c.json'), HEALTH_PORT: '0' };

  const trusted = await runCli(['poll'], { cwd, env: { ...env, NODE_EXTRA_CA_CERTS: provider.cert } });
  assert.equal(trusted.code, 0, trusted.stderr);
  const [row] = await query(`SELECT count(*)::INT AS n FROM ${table(path.join(cwd, 'data'), 'movies')} WHERE provider = 'p' AND title LIKE 'Film m%'`);
  assert.equal(row?.n, FILMS);
  assert.equal(provider.requests(), FILMS + 1);
  assert.ok(provider.connections() <= 2, `${FILMS + 1} requests over ${provider.connections()} TLS connections (keep-alive, concurrency 2)`);

  const before = provider.requests();
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers: ['p'], http: { concurrency: 2, retries: 1 } }));
  const untrusted = await runCli(['poll'], { cwd, env });
  assert.equal(untrusted.code, 1, untrusted.stderr);
  assert.match(untrusted.stderr, /list call failed: \S*(SELF_SIGNED|CERT)\S*: .*certificate/i);
  assert.equal(provider.requests(), before, 'no request was made over a connection whose certificate is not trusted');
});

async function connectProxy(t: { after(fn: () => unknown): void }) {
  const tunnels: string[] = [];
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host = '', port = ''] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tunnels };
}

test('HTTP_PROXY is honoured (requests go through the proxy), and NO_PROXY exempts a host', async (t) => {
  const mock = await startMockProvider({});
  t.after(() => mock.close());
  const proxy = await connectProxy(t);
  const cwd = tempDir(t);
  const env = { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(cwd, 'data'), LOG_DIR: path.join(cwd, 'logs'), HEALTH_PORT: '0', HTTP_PROXY: proxy.url };

  const proxied = await runCli(['poll'], { cwd, env });
  assert.equal(proxied.code, 0, proxied.stderr);
  const target = new URL(mock.url).host;
  assert.ok(proxy.tunnels.length > 0 && proxy.tunnels.every((to) => to === target), `tunnels: ${JSON.stringify(proxy.tunnels)}`);

  const tunnelsBefore = proxy.tunnels.length;
  const direct = await runCli(['poll'], { cwd, env: { ...env, NO_PROXY: '127.0.0.1' } });
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(proxy.tunnels.length, tunnelsBefore, 'NO_PROXY: no request went through the proxy');
  const [row] = await query(`SELECT count(*)::INT AS n FROM ${table(path.join(cwd, 'data'), 'movies')}`);
  assert.equal(row?.n, 26, 'both polls committed the 13 films');
});
