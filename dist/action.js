import { createRequire as __dsCreateRequire } from 'node:module'
import { dirname as __dsDirname } from 'node:path'
import { fileURLToPath as __dsFileURLToPath } from 'node:url'
const require = __dsCreateRequire(import.meta.url)
var __filename = __dsFileURLToPath(import.meta.url)
var __dirname = __dsDirname(__filename)
import {
  Engine,
  Interruption,
  PlainDisplay,
  carrierOwner,
  copiedBy,
  describeSecretEnv,
  dropSecretVariables,
  execute,
  formatBytes,
  isMaskable,
  openStore,
  plural,
  readSettings,
  repairAbandoned,
  withoutSecrets
} from "./chunks/chunk-AX3N2H6X.js";
import "./chunks/chunk-MIHEB6DS.js";
import {
  debug,
  getInput,
  getState,
  group,
  info,
  saveState,
  setFailed,
  setOutput,
  setSecret,
  summary,
  warning
} from "./chunks/chunk-CUBXMW4O.js";
import {
  describeError
} from "./chunks/chunk-PV2E5KIU.js";

// src/action/state.ts
var KEY = "docker-snapshot";
var POST_FLAG = "isPost";
function markMainStepRan() {
  saveState(POST_FLAG, "true");
}
function isPostStep() {
  return getState(POST_FLAG) === "true";
}
function saveActionState(state) {
  saveState(KEY, JSON.stringify(state));
}
function loadActionState() {
  const text = getState(KEY);
  if (!text) return void 0;
  return JSON.parse(text);
}

// src/action/log.ts
var actionLogger = {
  debug: (message) => debug(message),
  info: (message) => info(message),
  warn: (message) => warning(message),
  group: (title, fn) => group(title, fn)
};

// src/action/summary.ts
function escapeMarkdown(text) {
  return text.replace(/[\\`*_[\]<>|]/g, (match) => `\\${match}`);
}
function table(header, rows) {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    ""
  ].join("\n");
}
var secondsOf = (ms) => `${(ms / 1e3).toFixed(1)} s`;
function outputsOf(result) {
  switch (result.mode) {
    case "snapshot": {
      const report = result.snapshot;
      return {
        "snapshot-id": report.manifest.snapshotId,
        manifest: report.manifestLocation,
        images: JSON.stringify(report.images),
        volumes: JSON.stringify(
          report.volumes.map((v) => ({
            name: v.name,
            tarBytes: v.tarBytes,
            storedBytes: v.storedBytes,
            copyMethod: v.method
          }))
        )
      };
    }
    case "restore":
      return {
        "snapshot-id": result.restore.snapshotId,
        images: JSON.stringify(result.restore.images),
        volumes: JSON.stringify(result.restore.volumes),
        containers: JSON.stringify(result.restore.containers)
      };
    case "verify":
      return { "snapshot-id": result.verify.snapshotId, verified: String(result.verify.ok) };
    case "prune":
      return { pruned: JSON.stringify(result.prune.removed) };
  }
}
function snapshotSummary(report) {
  const m = report.manifest;
  const lines = [
    `## Snapshot ${escapeMarkdown(m.snapshotId)}`,
    "",
    `${plural(m.containers.length, "container")}, ${plural(m.volumes.length, "volume")}, ${plural(m.networks.length, "network")} in ${report.seconds.toFixed(1)} s; containers held (${m.consistency}) for ${report.quiescedSeconds.toFixed(1)} s. Compression: ${escapeMarkdown(report.codec)}.`,
    ""
  ];
  if (report.volumes.length) {
    lines.push(
      table(
        ["volume", "data", "stored", "time", "throughput", "copied by"],
        report.volumes.map((v) => [
          escapeMarkdown(v.name),
          formatBytes(v.tarBytes),
          formatBytes(v.storedBytes),
          `${v.seconds.toFixed(1)} s`,
          `${formatBytes(v.tarBytes / Math.max(v.seconds, 1e-3))}/s`,
          copiedBy(v)
        ])
      )
    );
  }
  if (report.images.length) {
    lines.push(
      table(
        ["image", "location", "reference"],
        report.images.map((i) => [escapeMarkdown(i.key), i.location, `\`${i.reference}\``])
      )
    );
  }
  for (const line of describeSecretEnv(report.secretEnv, escapeMarkdown)) lines.push(line, "");
  lines.push(`Manifest: ${escapeMarkdown(report.manifestLocation)}`);
  return lines.join("\n");
}
function restoreSummary(report) {
  return [
    `## Restored ${escapeMarkdown(report.snapshotId)}` + (report.prefix ? ` with prefix ${escapeMarkdown(report.prefix)}` : ""),
    "",
    `Done in ${secondsOf(report.durationMs)}: ` + report.steps.map((s) => `${s.step} ${secondsOf(s.durationMs)}`).join(", ") + ".",
    "",
    // Two tables of the same shape, side by side as the summary shows them (left so).
    table(
      ["container", "as", "action", "state"],
      report.containers.map((c) => [
        escapeMarkdown(c.name),
        escapeMarkdown(c.target),
        c.action,
        c.state
      ])
    ),
    table(
      ["volume", "as", "action", "entries"],
      report.volumes.map((v) => [
        escapeMarkdown(v.name),
        escapeMarkdown(v.target),
        v.action,
        v.empty ? "empty (excluded from the snapshot)" : String(v.entries)
      ])
    )
  ].join("\n");
}
function verifySummary(report) {
  return [
    `## Verify ${escapeMarkdown(report.snapshotId)}: ${report.ok ? "passed" : "FAILED"}`,
    "",
    table(
      ["check", "subject", "result", "detail"],
      report.checks.map((c) => [
        c.kind,
        escapeMarkdown(c.subject),
        c.ok ? "ok" : "**failed**",
        escapeMarkdown(c.detail)
      ])
    )
  ].join("\n");
}
function pruneSummary(result) {
  return [
    `## Prune`,
    "",
    `Removed ${result.removed.length}: ${result.removed.map(escapeMarkdown).join(", ") || "none"}. Kept ${result.kept.length}.`,
    ...result.skipped.map(
      (s) => `- Left ${escapeMarkdown(s.snapshotId)}: ${escapeMarkdown(s.reason)}`
    )
  ].join("\n");
}
function summaryOf(result) {
  switch (result.mode) {
    case "snapshot":
      return snapshotSummary(result.snapshot) + "\n";
    case "restore":
      return restoreSummary(result.restore) + "\n";
    case "verify":
      return verifySummary(result.verify) + "\n";
    case "prune":
      return pruneSummary(result.prune) + "\n";
  }
}

// src/action/main.ts
async function run() {
  const interruption = new Interruption();
  const stopListening = interruption.listen(process, {
    first: (signal) => warning(
      `received ${signal}: stopping at the next safe point, bringing paused or stopped containers back and putting back any originals a replace set aside`
    ),
    again: (signal) => info(`received ${signal} again: still undoing what the run did`)
  });
  try {
    const settings = readSettings((name) => getInput(name));
    const masked = /* @__PURE__ */ new Set();
    const mask = (secret) => {
      if (!isMaskable(secret) || masked.has(secret)) return;
      masked.add(secret);
      setSecret(secret);
    };
    for (const secret of settings.secrets) mask(secret);
    dropSecretVariables(process.env, settings.secrets);
    const state = {
      dockerHost: settings.dockerHost,
      carrierOwner,
      ...settings.mode === "snapshot" && {
        snapshot: { store: withoutSecrets(settings.store), snapshotId: settings.snapshotId }
      }
    };
    saveActionState(state);
    const progress = new PlainDisplay({
      json: false,
      quiet: false,
      stdout: process.stdout,
      stderr: process.stdout
    });
    const result = await execute(settings, {
      log: actionLogger,
      onTransfer: progress.onTransfer,
      signal: interruption.signal,
      onSecret: mask
    });
    for (const [name, value] of Object.entries(outputsOf(result))) setOutput(name, value);
    await summary.addRaw(summaryOf(result)).write();
    saveActionState({ ...state, snapshot: void 0 });
    if (result.mode === "verify" && !result.verify.ok) {
      const failed = result.verify.checks.filter((check) => !check.ok);
      setFailed(
        `snapshot ${result.verify.snapshotId} failed verification: ` + failed.map((check) => `${check.subject}: ${check.detail}`).join("; ")
      );
    }
  } catch (error) {
    setFailed(describeError(error));
  } finally {
    stopListening();
  }
}

// src/action/post.ts
async function post() {
  try {
    await cleanUp();
  } catch (error) {
    setFailed(describeError(error));
  }
}
async function cleanUp() {
  const state = loadActionState();
  if (!state) return;
  const engine = new Engine({ host: state.dockerHost, logger: actionLogger });
  const failed = [];
  const attempt = async (what, fn) => {
    try {
      await fn();
    } catch (error) {
      failed.push(`${what}: ${describeError(error)}`);
    }
  };
  await attempt("containers the main step held", () => repairAbandoned(engine, actionLogger));
  const unfinished = state.snapshot;
  if (unfinished) {
    await attempt(`snapshot ${unfinished.snapshotId}`, async () => {
      const store = await openStore(unfinished.store, "read");
      if (await store.discardStaged(unfinished.snapshotId, state.carrierOwner)) {
        info(
          `removed the unfinished snapshot ${unfinished.snapshotId} from ${store.description}`
        );
      }
    });
  }
  if (failed.length) setFailed(`the post step could not clean up: ${failed.join("; ")}`);
}

// src/action/index.ts
if (isPostStep()) {
  void post();
} else {
  markMainStepRan();
  void run();
}
