// Probe: can @tensorflow/tfjs-backend-wasm run multi-threaded under Node? The training benchmark compares
// against tfjs-wasm on one thread, and this is the evidence that one thread is all it gets here.
//
//   node --conditions=@arpo/source --import tsx bench/tfjs-wasm-threads.ts          (as shipped)
//   node --conditions=@arpo/source --import tsx bench/tfjs-wasm-threads.ts --force  (thread flag forced on)
//
// As shipped, tfjs 4.22 reports WASM_HAS_MULTITHREAD_SUPPORT = false whenever IS_NODE (tfjs issue #3830), so
// setThreadsCount is ignored. Forced on, initialization fails because the threaded build starts its pthread
// workers from a blob: URL, which Node's worker_threads rejects (ERR_WORKER_PATH). Each mode needs its own
// process: a failed initialization leaves the backend unusable.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const force = process.argv.includes('--force');
const tf = await import('@tensorflow/tfjs');
const wasm = await import('@tensorflow/tfjs-backend-wasm');
const require = createRequire(import.meta.url);
wasm.setWasmPaths(
  `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`,
);
wasm.setThreadsCount(2);
console.log(
  `tfjs ${tf.version.tfjs}, IS_NODE ${tf.env().get('IS_NODE')}, ` +
    `WASM_HAS_MULTITHREAD_SUPPORT ${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')}`,
);
if (force) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
// tfjs logs the underlying failure (ERR_WORKER_PATH) itself and then resolves false.
const started = await tf.setBackend('wasm').catch((error: unknown) => `rejected: ${String(error)}`);
if (started === true) {
  console.log(
    `wasm backend started (${force ? 'flag forced on' : 'as shipped'}), threads: ${wasm.getThreadsCount()}`,
  );
} else {
  console.log(
    `wasm backend failed to start (${force ? 'flag forced on' : 'as shipped'}): ${String(started)}`,
  );
}
process.exit(0);
