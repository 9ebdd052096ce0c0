// Who a process is, as a lock or a lease records it, and whether such a record names a process
// that has certainly exited. A host name and a pid prove nothing alone: containers with a fixed
// `hostname:` or `network_mode: host` each have their own pid namespace (both may be pid 1), and
// cloned VMs share a host name. A pid is only checked when the record was made in this very pid
// namespace (/proc/self/ns/pid) of this very boot (/proc/sys/kernel/random/boot_id); then a pid
// that is gone, or that now belongs to a process started at another time, is proof. Anything else
// is not: the caller waits for the lock or lease to expire.
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

export interface ProcessIdentity {
  pid: number;
  host: string;
  /** The kernel's boot id: cloned VMs and other machines differ. Null where there is no /proc. */
  boot: string | null;
  /** The pid namespace (`pid:[4026531836]`): each container has its own. Null where there is no /proc. */
  pidns: string | null;
  /** The process's start time (clock ticks since boot): a reused pid is not the same process. */
  started: string | null;
}

function readOrNull(read: () => string): string | null {
  try {
    return read().trim() || null;
  } catch {
    return null;
  }
}

let self: ProcessIdentity | null = null;

export function thisProcess(): ProcessIdentity {
  self ??= {
    pid: process.pid,
    host: os.hostname(),
    boot: readOrNull(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidns: readOrNull(() => readlinkSync('/proc/self/ns/pid')),
    started: processStartTime(process.pid),
  };
  return self;
}

/**
 * Whether the process `holder` names has certainly exited: recorded in this boot and pid namespace,
 * and its pid is gone or now belongs to a process started at another time (this one's, say). False
 * whenever that cannot be known.
 */
export function certainlyExited(holder: Partial<ProcessIdentity>): boolean {
  const me = thisProcess();
  if (typeof holder.pid !== 'number' || me.boot === null || me.pidns === null) return false;
  if (holder.boot !== me.boot || holder.pidns !== me.pidns) return false;
  if (!isAlive(holder.pid)) return true;
  // The pid runs (this process's own, say: a container restarted in place): the same process only if it started at the same tick.
  const now = processStartTime(holder.pid);
  return typeof holder.started === 'string' && now !== null && now !== holder.started;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or null where there is no /proc. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null; // fields after "(comm) " start at 3
  } catch {
    return null;
  }
}

/** Whether a pid in this namespace is running (signal 0 only asks; EPERM: it is, another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}
