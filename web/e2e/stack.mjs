// Starts the real Parley stack for the end-to-end tests: a private redis-server on a free
// loopback port (data in a temp dir), parley-gateway serving web/dist, and parley-worker with a
// real local model. Every process is stopped by `stop()`; logs go to test-artifacts/e2e/logs.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, createWriteStream } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const artifactsDir = join(repoRoot, "test-artifacts", "e2e");
const buildDir = resolve(repoRoot, process.env.PARLEY_BUILD_DIR ?? "build/parley");

/** How long a process gets to become ready, and to exit after SIGTERM. */
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

export const binaries = {
  redis: process.env.REDIS_SERVER ?? "redis-server",
  gateway: resolve(repoRoot, process.env.PARLEY_GATEWAY_BIN ?? join(buildDir, "gateway", "parley-gateway")),
  worker: resolve(repoRoot, process.env.PARLEY_WORKER_BIN ?? join(buildDir, "worker", "parley-worker")),
};

/**
 * Command lines of every process, in one place (see each binary's --help). The worker's reply
 * length is short so a test turn takes well under a second on the tiny models.
 */
export const commandLines = {
  redis: ({ port, dir }) => [binaries.redis, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
    "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""],
  gateway: ({ port, redisUrl, sessionTtlSeconds, staticDir }) => [binaries.gateway, "--host", "127.0.0.1",
    "--port", String(port), "--redis-url", redisUrl, "--session-ttl", String(sessionTtlSeconds),
    "--static-dir", staticDir, "--threads", "1"],
  worker: ({ redisUrl, model, name, sessionTtlSeconds, maxNewTokens, ignoreEos }) => [binaries.worker, "--redis-url", redisUrl, "--model", model,
    "--consumer", name, "--session-ttl", String(sessionTtlSeconds), "--metrics-port", "0",
    "--max-new-tokens", String(maxNewTokens ?? process.env.PARLEY_TEST_MAX_TOKENS ?? "200"),
    ...(ignoreEos ? ["--ignore-eos", "true"] : []),
    "--threads", process.env.PARLEY_TEST_THREADS ?? "1"],
};

/** The model: PARLEY_TEST_MODEL, else stories260K from ../shared, else the generated tiny model. */
export function findModel() {
  if (process.env.PARLEY_TEST_MODEL) return resolve(process.env.PARLEY_TEST_MODEL);
  const stories = resolve(repoRoot, "..", "shared", "models", "stories260K.gguf");
  if (existsSync(stories)) return stories;
  for (const dir of [join(buildDir, "tools", "make_tiny_model"), join(buildDir, "models"), buildDir]) {
    if (!existsSync(dir)) continue;
    const gguf = readdirSync(dir).filter((f) => f.endsWith(".gguf"));
    if (gguf.length) return join(dir, gguf[0]);
  }
  return null;
}

/** What is missing to run the suite, or null when everything is there. */
export function missingPrerequisites() {
  const missing = [];
  if (!existsSync(binaries.gateway)) missing.push(`gateway binary ${binaries.gateway}`);
  if (!existsSync(binaries.worker)) missing.push(`worker binary ${binaries.worker}`);
  if (!findModel()) missing.push("a GGUF model (set PARLEY_TEST_MODEL)");
  if (!existsSync(join(repoRoot, "web", "dist", "index.html"))) missing.push("web/dist (run scripts/build-web.sh)");
  return missing.length ? missing : null;
}

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what, check, proc) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode} before it was ready (see ${proc.logPath})`);
    if (await check().catch(() => false)) return;
    await sleep(POLL_MS);
  }
  throw new Error(`${what} not ready within ${READY_TIMEOUT_MS} ms`);
}

function redisPing(port) {
  return new Promise((res) => {
    const s = connect({ port, host: "127.0.0.1" }, () => s.write("PING\r\n"));
    s.setTimeout(1000, () => { s.destroy(); res(false); });
    s.on("data", (d) => { s.destroy(); res(d.toString().startsWith("+PONG")); });
    s.on("error", () => res(false));
  });
}

async function httpOk(url) {
  const r = await fetch(url);
  return r.ok;
}

/** Every child still running, so that an interrupted run (Ctrl-C, a CI timeout) leaves none. */
const live = new Set();
function killAll() {
  for (const child of live) child.kill("SIGKILL");
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

class Proc {
  constructor(name, argv, { cwd, env = {} }) {
    this.name = name;
    this.argv = argv;
    this.cwd = cwd;
    this.env = env;
    mkdirSync(join(artifactsDir, "logs"), { recursive: true });
    this.logPath = join(artifactsDir, "logs", `${name}.log`);
    this.starts = 0;
    this.start();
  }

  start() {
    this.expectRunning = true;
    this.starts += 1;
    const log = createWriteStream(this.logPath, { flags: this.starts === 1 ? "w" : "a" });
    log.write(`$ ${this.argv.join(" ")}\n`);
    this.child = spawn(this.argv[0], this.argv.slice(1), {
      cwd: this.cwd,
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout.pipe(log, { end: false });
    this.child.stderr.pipe(log, { end: false });
    const child = this.child;
    live.add(child);
    this.exited = new Promise((res) => child.on("exit", (code, signal) => { live.delete(child); log.end(); res(code ?? signal); }));
    this.child.on("error", (e) => log.write(`spawn error: ${e.message}\n`));
  }

  get exitCode() {
    return this.child.exitCode ?? this.child.signalCode;
  }

  async stop(signal = "SIGTERM") {
    this.expectRunning = false;
    if (this.exitCode !== null) return;
    this.child.kill(signal);
    const timedOut = await Promise.race([this.exited.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (timedOut) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

/**
 * Starts redis-server, the gateway and one worker. `sessionTtlSeconds` is short for the expiry
 * test; `worker: { maxNewTokens, ignoreEos }` makes every reply end at the token limit (replies
 * that can be continued). Returns the gateway URL and controls to restart the gateway and stop
 * everything.
 */
export async function startStack({ sessionTtlSeconds = 3600, tag = "stack", worker: workerOptions = {} } = {}) {
  const model = findModel();
  const dir = mkdtempSync(join(tmpdir(), "parley-e2e-"));
  const procs = [];
  const stop = async () => {
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const redisPort = await freePort();
    const redis = new Proc(`${tag}-redis`, commandLines.redis({ port: redisPort, dir }), { cwd: dir });
    procs.push(redis);
    await waitUntil("redis-server", () => redisPing(redisPort), redis);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const staticDir = join(repoRoot, "web", "dist");
    const gateway = new Proc(`${tag}-gateway`, commandLines.gateway({ port, redisUrl, sessionTtlSeconds, staticDir }), { cwd: dir });
    procs.push(gateway);
    await waitUntil("parley-gateway", () => httpOk(`${url}/readyz`), gateway);

    const worker = new Proc(`${tag}-worker`, commandLines.worker({ redisUrl, model, name: `${tag}-worker-1`, sessionTtlSeconds, ...workerOptions }), { cwd: dir });
    procs.push(worker);
    // The worker has no HTTP endpoint here; it is ready once it has joined the consumer group,
    // which the first chat turn of each test waits for anyway.
    await sleep(POLL_MS);
    if (worker.exitCode !== null) throw new Error(`parley-worker exited with ${worker.exitCode} (see ${worker.logPath})`);

    return {
      url,
      redisUrl,
      /** "" while every process runs, else which ones exited and where their logs are. */
      health: () => procs.filter((p) => p.exitCode !== null && p.expectRunning)
        .map((p) => `${p.name} exited with ${p.exitCode} (see ${p.logPath})`).join("; "),
      model,
      gateway,
      worker,
      /** Freezes the worker (SIGSTOP) so that messages wait in the queue, and lets it go on. */
      pauseWorker: () => worker.child.kill("SIGSTOP"),
      resumeWorker: () => worker.child.kill("SIGCONT"),
      /** Stops the gateway (SIGTERM: clients get close 1001) and starts it again on the same port. */
      async restartGateway(downMs = 0) {
        await gateway.stop();
        if (downMs) await sleep(downMs);
        gateway.start();
        await waitUntil("parley-gateway (restarted)", () => httpOk(`${url}/readyz`), gateway);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
