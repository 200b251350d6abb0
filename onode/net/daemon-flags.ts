/**
 * Node.js options every overlay daemon (server, node, POP) runs with, however it is started: the
 * loopback emulator (`onode emulate`, the demo, the tests and benchmarks: onode/net/emulator.ts) and
 * scripts/run.sh, through which Mininet and CORE start every role. run.sh repeats the list in shell;
 * test/onode/emulators/run-script.test.ts keeps the two equal.
 *
 * `--max-semi-space-size=1` caps V8's young generation at 1 MB per semi-space (by default it grows to
 * 16 MB under allocation pressure). Hundreds of daemons share a machine (issue 13); measured with
 * `npm run bench:scale:real` it costs no throughput a loaded 2-core host can tell apart, and keeps a
 * streaming relay's heap from growing by tens of MB. Not `--max-old-space-size`: a cap shrinks nothing,
 * and a POP reaching it would die. Not `--lite-mode` or `--jitless`: they slow the packet path and
 * disable WebAssembly.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
