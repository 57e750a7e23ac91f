/**
 * kubectl's own YAML converter (sigs.k8s.io/yaml over go-yaml v2, built from ci-action/kube-yaml
 * to WebAssembly) for the documents the fast JavaScript path does not read: anchors, merge keys,
 * tags, YAML 1.1 line breaks and the like. Instantiated on first use (about 0.1 s), then about a
 * millisecond per document. The module is a WASI reactor; it needs only a clock, random bytes
 * and stderr, which are provided here (no file system, no environment).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { ExactYaml } from '../../../policies/index.ts';

/** Where the module may be: beside the bundled action (dist/) or in the source tree. */
const candidates = [
  './kube-yaml.wasm.gz',
  '../kube-yaml/kube-yaml.wasm.gz',
  '../../kube-yaml/kube-yaml.wasm.gz',
];

/** The parts of the WebAssembly global used here (the Node typings target no DOM lib). */
interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): Array<{ module: string; name: string }>;
  };
  Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: unknown };
}
type WasmModule = object;
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: { buffer: ArrayBuffer };
  _initialize: () => void;
  input_buffer: (size: number) => number;
  output_buffer: () => number;
  convert: () => number;
}

class WasiExit extends Error {}

let compiled: WasmModule | undefined;
let instance: Exports | undefined;

/** Path of the compiled converter, or undefined when it is not installed. */
export function kubeYamlModulePath(): string | undefined {
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  return undefined;
}

function instantiate(): Exports {
  if (!compiled) {
    const path = kubeYamlModulePath();
    if (!path) throw new Error('kube-yaml.wasm.gz not found (run ci-action/kube-yaml/build.sh)');
    compiled = new wasm.Module(gunzipSync(readFileSync(path)));
  }
  // The imports run after instantiation, when the instance's memory is known.
  const state: { memory?: Exports['memory'] } = {};
  const buffer = (): ArrayBuffer => (state.memory as Exports['memory']).buffer;
  const view = (): DataView => new DataView(buffer());
  const ENOSYS = 52;
  const EBADF = 8;
  const wasi: Record<string, (...args: number[]) => number> = {
    clock_time_get: (_id, _precision, out) => {
      view().setBigUint64(out as number, process.hrtime.bigint(), true);
      return 0;
    },
    random_get: (pointer, length) => {
      crypto.getRandomValues(new Uint8Array(buffer(), pointer, length));
      return 0;
    },
    fd_write: (fd, iovs, count, written) => {
      let total = 0;
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < (count as number); i++) {
        const base = view().getUint32((iovs as number) + i * 8, true);
        const length = view().getUint32((iovs as number) + i * 8 + 4, true);
        chunks.push(new Uint8Array(buffer(), base, length).slice());
        total += length;
      }
      // The Go runtime writes only fatal errors; pass them on.
      if (fd === 2) for (const chunk of chunks) process.stderr.write(chunk);
      view().setUint32(written as number, total, true);
      return 0;
    },
    args_sizes_get: (count, size) => {
      view().setUint32(count as number, 0, true);
      view().setUint32(size as number, 0, true);
      return 0;
    },
    environ_sizes_get: (count, size) => {
      view().setUint32(count as number, 0, true);
      view().setUint32(size as number, 0, true);
      return 0;
    },
    args_get: () => 0,
    environ_get: () => 0,
    sched_yield: () => 0,
    fd_prestat_get: () => EBADF,
    fd_close: () => EBADF,
    proc_exit: (code) => {
      throw new WasiExit(`kube-yaml exited with ${code}`);
    },
  };
  const imports: Record<string, Record<string, unknown>> = { wasi_snapshot_preview1: {} };
  for (const entry of wasm.Module.imports(compiled)) {
    const module = (imports[entry.module] ??= {});
    module[entry.name] = wasi[entry.name] ?? (() => ENOSYS);
  }
  const exports = new wasm.Instance(compiled, imports).exports as unknown as Exports;
  state.memory = exports.memory;
  exports._initialize();
  return exports;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Converts one YAML document to JSON exactly as kubectl does (`sigs.k8s.io/yaml.YAMLToJSON`).
 * A trap (the Go runtime dying on a pathological input) refuses the document and starts a
 * fresh instance for the next one.
 */
export const kubectlYaml: ExactYaml = (document) => {
  const bytes = encoder.encode(document);
  try {
    instance ??= instantiate();
    const input = instance.input_buffer(bytes.length);
    new Uint8Array(instance.memory.buffer, input, bytes.length).set(bytes);
    const result = instance.convert();
    const length = result < 0 ? -result - 1 : result;
    const output = decoder.decode(new Uint8Array(instance.memory.buffer, instance.output_buffer(), length));
    return result < 0 ? { error: output } : { json: output };
  } catch (error) {
    instance = undefined;
    return {
      error: `kubectl's YAML reader failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
};
