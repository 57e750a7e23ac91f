/** What the benches read about a process from Linux's /proc. */
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) a process has used so far (clock ticks of 10 ms, USER_HZ 100). */
export function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // after "pid (comm) ": field 3 is the state, so utime and stime (fields 14 and 15) are 11 and 12
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A process's resident set size in MB (VmRSS). */
export function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}
