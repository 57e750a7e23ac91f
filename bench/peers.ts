/**
 * What the benches that compare tollgate with its peers share: the peer tools (bench/peer-tools.sh
 * installs conftest and gator with `go install`, cached), the same checks written for each, and
 * whole-process measurement of one run (wall time, CPU time of the process and its children, peak
 * memory).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = fileURLToPath(new URL('..', import.meta.url));

/** The project's Node 24 (the `node` npm package), else the running one. */
export const node = existsSync(join(root, 'node_modules/.bin/node'))
  ? join(root, 'node_modules/.bin/node')
  : process.execPath;

/** Installs (or finds cached) the named peer tools; returns their paths, or exits with a message. */
export function peerTools<T extends string>(...names: T[]): Record<T, string> {
  const result = spawnSync('bash', [join(root, 'bench/peer-tools.sh'), ...names], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const paths = result.stdout.trim().split('\n');
  if (result.status !== 0 || paths.length !== names.length || !paths.every((path) => existsSync(path))) {
    process.stderr.write(
      `bench: ${names.join(', ')} could not be installed (bench/peer-tools.sh); no ratio.\n`,
    );
    process.exit(1);
  }
  return Object.fromEntries(names.map((name, i) => [name, paths[i]])) as Record<T, string>;
}

/** One measured run. `cpu` is user + system seconds of the process and its children. */
export interface Run {
  readonly wall: number;
  readonly cpu: number;
  /** Peak resident memory in MiB (when /usr/bin/time exists). */
  readonly peakMiB?: number;
  readonly status: number | null;
  readonly stdout: string;
}

const hasTime = existsSync('/usr/bin/time');
const scratch = join(tmpdir(), `tollgate-bench-${process.pid}`);

/**
 * Runs a command once and measures it from outside: bash's `times` gives the CPU of the finished
 * children to the millisecond (GNU time's own figures are in hundredths), GNU time the peak memory.
 */
export function measure(command: string, args: readonly string[], options: { cwd?: string } = {}): Run {
  mkdirSync(scratch, { recursive: true });
  const out = join(scratch, 'stdout');
  const mem = join(scratch, 'peak');
  rmSync(mem, { force: true });
  const script = hasTime
    ? '/usr/bin/time -f %M -o "$0" "$@" >"$OUT" 2>/dev/null; status=$?; times; exit $status'
    : '"$@" >"$OUT" 2>/dev/null; status=$?; times; exit $status';
  const start = process.hrtime.bigint();
  const result = spawnSync('bash', ['-c', script, mem, command, ...args], {
    encoding: 'utf8',
    cwd: options.cwd ?? root,
    env: { ...process.env, OUT: out },
  });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.error) throw result.error;
  // `times` prints the shell's own user/system time, then its children's: "0m0.036s 0m0.012s".
  const children = result.stdout.trim().split('\n').at(-1) ?? '';
  const [user = 0, system = 0] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (m) => Number(m[1]) * 60 + Number(m[2]),
  );
  const peakKiB =
    hasTime && existsSync(mem) ? Number(readFileSync(mem, 'utf8').trim().split('\n').at(-1)) : NaN;
  return {
    wall,
    cpu: user + system,
    ...(Number.isFinite(peakKiB) ? { peakMiB: peakKiB / 1024 } : {}),
    status: result.status,
    stdout: readFileSync(out, 'utf8'),
  };
}

/** Removes the measurement scratch directory. */
export function cleanUp(): void {
  rmSync(scratch, { recursive: true, force: true });
}

/**
 * conftest's policy: the checks of the bench bundle of check-vs-peer.ts (approved registries for every
 * container and init container of every workload kind, required requests/limits, `m`-suffixed and
 * over-16Gi memory, databases behind public Services), in Rego (OPA v1 syntax).
 */
export const conftestRego = `package main

approved := ["registry.corp.example/erp/", "registry.corp.example/platform/", "ghcr.io/cloudnative-pg/", "docker.io/library/traefik/"]

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

pod_spec := input.spec if input.kind == "Pod"
pod_spec := input.spec.template.spec if workload_kinds[input.kind]
pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

containers contains c if some c in pod_spec.containers
containers contains c if some c in pod_spec.initContainers

approved_image(image) if {
	some prefix in approved
	startswith(image, prefix)
}

deny contains msg if {
	some c in containers
	not approved_image(c.image)
	msg := sprintf("%s/%s: image %q of container %s is not from an approved registry", [input.kind, input.metadata.name, c.image, c.name])
}

required := [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]]

deny contains msg if {
	some c in containers
	some r in required
	not c.resources[r[0]][r[1]]
	msg := sprintf("%s/%s: container %s does not set resources.%s.%s", [input.kind, input.metadata.name, c.name, r[0], r[1]])
}

deny contains msg if {
	some c in containers
	some kind in ["requests", "limits"]
	value := c.resources[kind].memory
	regex.match("^[0-9.]+m$", sprintf("%v", [value]))
	msg := sprintf("%s/%s: container %s memory %v uses m (milli-bytes)", [input.kind, input.metadata.name, c.name, value])
}

deny contains msg if {
	some c in containers
	value := c.resources.limits.memory
	units.parse_bytes(sprintf("%v", [value])) > units.parse_bytes("16Gi")
	msg := sprintf("%s/%s: container %s limits.memory %v is above 16Gi", [input.kind, input.metadata.name, c.name, value])
}

db_ports := {5432, 6432, 6379, 26379, 3306, 27017, 1433, 1521, 9042, 9200, 11211}

deny contains msg if {
	input.kind == "Service"
	input.spec.type in {"LoadBalancer", "NodePort"}
	some p in input.spec.ports
	db_ports[p.port]
	msg := sprintf("Service/%s: database port %d exposed by type %s", [input.metadata.name, p.port, input.spec.type])
}
`;

/**
 * gator's policy: the same checks as {@link conftestRego}, as one Gatekeeper ConstraintTemplate
 * (Rego v0 syntax, reviewing `input.review.object`) and a Constraint that applies it to everything.
 */
export const gatorTemplate = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8stollgatepeer
spec:
  crd:
    spec:
      names:
        kind: K8sTollgatePeer
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8stollgatepeer

        approved := ["registry.corp.example/erp/", "registry.corp.example/platform/", "ghcr.io/cloudnative-pg/", "docker.io/library/traefik/"]

        workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

        obj := input.review.object

        pod_spec = s { obj.kind == "Pod"; s := obj.spec }
        pod_spec = s { workload_kinds[obj.kind]; s := obj.spec.template.spec }
        pod_spec = s { obj.kind == "CronJob"; s := obj.spec.jobTemplate.spec.template.spec }

        containers[c] { c := pod_spec.containers[_] }
        containers[c] { c := pod_spec.initContainers[_] }

        approved_image(image) { startswith(image, approved[_]) }

        violation[{"msg": msg}] {
          c := containers[_]
          not approved_image(c.image)
          msg := sprintf("%s/%s: image %q of container %s is not from an approved registry", [obj.kind, obj.metadata.name, c.image, c.name])
        }

        required := [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]]

        violation[{"msg": msg}] {
          c := containers[_]
          r := required[_]
          not c.resources[r[0]][r[1]]
          msg := sprintf("%s/%s: container %s does not set resources.%s.%s", [obj.kind, obj.metadata.name, c.name, r[0], r[1]])
        }

        violation[{"msg": msg}] {
          c := containers[_]
          kind := ["requests", "limits"][_]
          value := c.resources[kind].memory
          regex.match("^[0-9.]+m$", sprintf("%v", [value]))
          msg := sprintf("%s/%s: container %s memory %v uses m (milli-bytes)", [obj.kind, obj.metadata.name, c.name, value])
        }

        violation[{"msg": msg}] {
          c := containers[_]
          value := c.resources.limits.memory
          units.parse_bytes(sprintf("%v", [value])) > units.parse_bytes("16Gi")
          msg := sprintf("%s/%s: container %s limits.memory %v is above 16Gi", [obj.kind, obj.metadata.name, c.name, value])
        }

        db_ports := {5432, 6432, 6379, 26379, 3306, 27017, 1433, 1521, 9042, 9200, 11211}
        public_types := {"LoadBalancer", "NodePort"}

        violation[{"msg": msg}] {
          obj.kind == "Service"
          public_types[obj.spec.type]
          p := obj.spec.ports[_]
          db_ports[p.port]
          msg := sprintf("Service/%s: database port %d exposed by type %s", [obj.metadata.name, p.port, obj.spec.type])
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sTollgatePeer
metadata:
  name: tollgate-peer
spec:
  enforcementAction: deny
`;

/** Writes the peers' policies into `dir`: conftest's policy directory and gator's template file. */
export function writePeerPolicies(dir: string): { conftestPolicy: string; gatorPolicy: string } {
  const conftestPolicy = join(dir, 'conftest-policy');
  mkdirSync(conftestPolicy, { recursive: true });
  writeFileSync(join(conftestPolicy, 'tollgate_peer.rego'), conftestRego);
  const gatorPolicy = join(dir, 'gator-policy.yaml');
  writeFileSync(gatorPolicy, gatorTemplate);
  return { conftestPolicy, gatorPolicy };
}
