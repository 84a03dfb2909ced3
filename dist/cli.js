#!/usr/bin/env node
import { createRequire as __dsCreateRequire } from 'node:module'
import { dirname as __dsDirname } from 'node:path'
import { fileURLToPath as __dsFileURLToPath } from 'node:url'
const require = __dsCreateRequire(import.meta.url)
var __filename = __dsFileURLToPath(import.meta.url)
var __dirname = __dsDirname(__filename)
import {
  DEFAULT_DIRECTORY,
  HumanDisplay,
  INPUTS,
  Interruption,
  PlainDisplay,
  REDRAW_INTERVAL_MS,
  TOOL_VERSION,
  TransferTracker,
  copiedBy,
  describeProgress,
  describeSecretEnv,
  drill,
  dropSecretVariables,
  editDistance,
  execute,
  formatBytes,
  isMaskable,
  list,
  plural,
  readSettings,
  realBoundaries
} from "./chunks/chunk-AX3N2H6X.js";
import "./chunks/chunk-MIHEB6DS.js";
import {
  InvalidSettingsError,
  describeError,
  errorMessage
} from "./chunks/chunk-PV2E5KIU.js";

// src/cli/commands.ts
var REGISTRY_ACCESS = ["registry", "registry-username", "registry-password"];
var READ_FROM = ["run-id", "run-repository", "github-token", "cache-key"];
var DECRYPTION = ["encryption-identity", "encryption-passphrase"];
var ENCRYPTION = [
  "encryption-recipients",
  "encryption-passphrase",
  "encryption-identity"
];
var COMMANDS = {
  snapshot: {
    summary: "Snapshot running containers with their volumes, images and networks into a store.",
    mode: "snapshot",
    inputs: [
      "compose-project",
      "containers",
      "labels",
      "all",
      "volumes",
      "exclude-volumes",
      "store",
      "snapshot-id",
      "replace-snapshot",
      "docker-host",
      "consistency",
      "commit",
      "keep-images",
      "bind-mounts",
      "compression",
      "compression-level",
      "copy-method",
      "hook-timeout",
      "retention-days",
      "cache-key",
      ...ENCRYPTION,
      ...REGISTRY_ACCESS,
      "repository"
    ],
    switches: [],
    examples: [
      "docker-snapshot snapshot --compose-project shop --store /srv/snapshots",
      "docker-snapshot snapshot --containers db --containers web --consistency stop",
      "docker-snapshot snapshot --all --registry 127.0.0.1:5000 --no-commit --json"
    ]
  },
  restore: {
    summary: "Recreate the containers, volumes and networks of a snapshot.",
    mode: "restore",
    inputs: [
      "snapshot-id",
      "store",
      ...READ_FROM,
      "docker-host",
      "on-conflict",
      "prefix",
      "only-containers",
      "only-volumes",
      "start",
      "wait-timeout",
      "ports",
      "env",
      "keep-on-failure",
      ...DECRYPTION,
      "copy-method",
      ...REGISTRY_ACCESS
    ],
    switches: [],
    examples: [
      "docker-snapshot restore --snapshot-id latest --store /srv/snapshots",
      "docker-snapshot restore --prefix copy- --ports ephemeral",
      "docker-snapshot restore --only-volumes pgdata --on-conflict replace"
    ]
  },
  verify: {
    summary: "Check that a snapshot is whole and restorable, without touching what exists.",
    mode: "verify",
    inputs: [
      "snapshot-id",
      "store",
      ...READ_FROM,
      "docker-host",
      "restore-check",
      "drill-container",
      "drill-command",
      "wait-timeout",
      "env",
      ...DECRYPTION,
      "copy-method",
      ...REGISTRY_ACCESS
    ],
    switches: [],
    examples: [
      "docker-snapshot verify --snapshot-id latest",
      "docker-snapshot verify --restore-check --store /srv/snapshots",
      "docker-snapshot verify --drill-container db --drill-command 'pg_isready -U postgres'"
    ]
  },
  ls: {
    summary: "List the snapshots in a store: id, status (complete, incomplete, damaged: its manifest does not check out, or encrypted: no key given opens it), when, and size.",
    inputs: ["store", ...READ_FROM, ...DECRYPTION, "registry-username", "registry-password"],
    switches: [],
    examples: [
      "docker-snapshot ls --store /srv/snapshots",
      "docker-snapshot ls --json",
      "docker-snapshot ls --store oci://ghcr.io/team/snapshots"
    ]
  },
  prune: {
    summary: "Remove old snapshots from a store, keeping the newest complete ones; also removes incomplete snapshots (failed runs) older than an hour. Damaged snapshots and those a restore or verify is reading are left, and named.",
    mode: "prune",
    inputs: ["store", ...READ_FROM, "keep", "older-than", "registry-username", "registry-password"],
    switches: [],
    examples: [
      "docker-snapshot prune --keep 5",
      "docker-snapshot prune --older-than 7d --store /srv/snapshots",
      "docker-snapshot prune --keep 3 --older-than 12h"
    ]
  },
  drill: {
    summary: "A disaster-recovery drill: ask the stack questions, snapshot it, verify the snapshot, destroy the stack (--demo, --destroy) or leave it and restore beside it under throwaway names, restore, ask again, and say whether every answer is the same.",
    mode: "snapshot",
    inputs: [
      "compose-project",
      "store",
      "docker-host",
      "consistency",
      "compression",
      "drill-container",
      "drill-command",
      "wait-timeout",
      "env",
      ...ENCRYPTION,
      ...REGISTRY_ACCESS,
      "repository"
    ],
    switches: ["demo", "destroy"],
    examples: [
      "docker-snapshot drill --demo",
      "docker-snapshot drill --compose-project shop --destroy",
      "docker-snapshot drill --compose-project shop --drill-container db --drill-command 'pg_isready'"
    ]
  }
};
var COMMAND_NAMES = Object.keys(COMMANDS);
var SWITCHES = {
  demo: {
    description: "Drill the demo stack (a seeded database and web server) instead of a project of your own: a first run to see what a drill does. The demo is destroyed and restored in place."
  },
  destroy: {
    description: "Destroy the project (containers, volumes, networks) after the snapshot is verified, and restore it in place: a real recovery. Without it, the copy is restored beside the original under throwaway names and removed afterwards."
  }
};
var GLOBAL_FLAGS = {
  json: "Machine output: one JSON object per line on stdout (events, then the result).",
  quiet: "Only warnings, errors and the result; no progress.",
  help: "Show help for the command."
};
var LIST_SEPARATORS = {
  containers: ",",
  labels: ",",
  volumes: ",",
  "exclude-volumes": ",",
  "only-containers": ",",
  "only-volumes": ",",
  env: "\n"
};
function isBooleanInput(name) {
  const fallback = INPUTS[name].default;
  return fallback === "true" || fallback === "false";
}
var FLAG_ENVIRONMENT = {
  "registry-password": {
    variable: "DOCKER_SNAPSHOT_REGISTRY_PASSWORD",
    with: ["registry", "registry-username"]
  },
  "github-token": { variable: "DOCKER_SNAPSHOT_GITHUB_TOKEN", with: ["store"] },
  "encryption-passphrase": { variable: "DOCKER_SNAPSHOT_ENCRYPTION_PASSPHRASE" },
  "encryption-identity": { variable: "DOCKER_SNAPSHOT_ENCRYPTION_IDENTITY" }
};
var SECRET_INPUTS = {
  "registry-password": "value",
  "github-token": "value",
  "encryption-passphrase": "value",
  "encryption-identity": "value",
  env: "env-lines"
};

// src/cli/args.ts
var UsageError = class extends InvalidSettingsError {
  constructor(message, command) {
    super(message);
    this.command = command;
  }
  command;
};
function flagsOf(command) {
  const spec = COMMANDS[command];
  return [...spec.inputs, ...spec.switches, ...Object.keys(GLOBAL_FLAGS)];
}
function isCommand(word) {
  return COMMAND_NAMES.includes(word);
}
function suggest(word, candidates) {
  let best;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= tolerance ? best : void 0;
}
function unknownCommand(word) {
  const guess = suggest(word, [...COMMAND_NAMES, "help"]);
  return new UsageError(
    `unknown command '${word}'` + (guess ? `; did you mean ${guess}?` : `; the commands are ${COMMAND_NAMES.join(", ")}`)
  );
}
function unknownFlag(flag, command) {
  const name = flag.replace(/^-+/, "");
  const known = flagsOf(command);
  const owners = COMMAND_NAMES.filter((other) => flagsOf(other).includes(name));
  if (name === "mode") {
    return new UsageError(
      `--mode is not a flag: the command chooses the mode. Expected docker-snapshot COMMAND, COMMAND one of: ${COMMAND_NAMES.join(", ")}`,
      command
    );
  }
  if (owners.length > 0) {
    return new UsageError(
      `unknown flag ${flag} for ${command}; ${flag} is a flag of ${owners.join(", ")}`,
      command
    );
  }
  const negated = name.startsWith("no-");
  const guess = negated ? suggest(name.slice(3), known.filter(isNegatable(command))) : suggest(name, known);
  return new UsageError(
    `unknown flag ${flag} for ${command}` + (guess ? `; did you mean --${negated ? "no-" : ""}${guess}?` : `; see docker-snapshot ${command} --help`),
    command
  );
}
function isNegatable(command) {
  const spec = COMMANDS[command];
  return (name) => spec.inputs.includes(name) ? isBooleanInput(name) : spec.switches.includes(name);
}
function commandWord(argv) {
  const index = argv.findIndex((word) => !word.startsWith("-"));
  return index === -1 ? void 0 : { word: argv[index], index };
}
function parseArgs(argv, env = {}) {
  const found = commandWord(argv);
  const wantsHelp = argv.includes("--help") || argv.includes("-h");
  if (!found) {
    if (wantsHelp) return { kind: "help" };
    if (argv.includes("--version")) return { kind: "version" };
    const stray = argv.find((word) => !["--json", "--quiet"].includes(word));
    if (stray) throw new UsageError(`unknown flag ${stray}; the first word must be a command`);
    return { kind: "help", usage: true };
  }
  if (found.word === "help") {
    const rest = argv.slice(found.index + 1).filter((word) => !word.startsWith("-"));
    if (rest.length > 1) throw new UsageError(`help takes one command, not '${rest.join(" ")}'`);
    if (rest.length === 0) return { kind: "help" };
    if (!isCommand(rest[0])) throw unknownCommand(rest[0]);
    return { kind: "help", command: rest[0] };
  }
  if (!isCommand(found.word)) {
    if (wantsHelp) return { kind: "help" };
    throw unknownCommand(found.word);
  }
  const command = found.word;
  if (wantsHelp) return { kind: "help", command };
  return parseFlags(command, [...argv.slice(0, found.index), ...argv.slice(found.index + 1)], env);
}
function parseFlags(command, words, env) {
  const spec = COMMANDS[command];
  const accepts = (name) => spec.inputs.includes(name);
  const hasSwitch = (name) => spec.switches.includes(name);
  const invocation = {
    kind: "run",
    command,
    inputs: {},
    switches: {},
    json: false,
    quiet: false
  };
  const given = /* @__PURE__ */ new Set();
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (!word.startsWith("--") || word === "--") {
      const previous = words[i - 1]?.replace(/^--/, "");
      if (previous && /^(true|false)$/.test(word) && isNegatable(command)(previous)) {
        throw new UsageError(
          `unexpected '${word}' after --${previous}, which takes no separate value; write --${previous}=${word}, or --${previous} / --no-${previous}`,
          command
        );
      }
      if (word.startsWith("-")) throw unknownFlag(word, command);
      throw new UsageError(
        `unexpected argument '${word}' for ${command}; flags start with --, like --${spec.inputs[0] ?? "json"} VALUE`,
        command
      );
    }
    const eq = word.indexOf("=");
    const name = eq === -1 ? word.slice(2) : word.slice(2, eq);
    const attached = eq === -1 ? void 0 : word.slice(eq + 1);
    const flag = `--${name}`;
    if (name === "json" || name === "quiet" || name === "help") {
      if (attached !== void 0 || name === "help") {
        throw new UsageError(
          `${flag} takes no value, but was given '${attached ?? ""}'; write ${flag} alone`,
          command
        );
      }
      invocation[name] = true;
      continue;
    }
    const negated = name.startsWith("no-") ? name.slice(3) : void 0;
    if (negated !== void 0 && isNegatable(command)(negated)) {
      if (attached !== void 0) {
        throw new UsageError(
          `--no-${negated} takes no value, but was given '${attached}'; write --no-${negated} alone, or --${negated}=VALUE`,
          command
        );
      }
      set(negated, "false", `--no-${negated}`);
      continue;
    }
    if (hasSwitch(name) || accepts(name) && isBooleanInput(name)) {
      set(name, attached ?? "true", flag);
      continue;
    }
    if (!accepts(name)) {
      if (negated !== void 0 && accepts(negated)) {
        throw new UsageError(
          `--${negated} takes a value; --no-${negated} is only for true/false flags`,
          command
        );
      }
      throw unknownFlag(flag, command);
    }
    let value = attached;
    if (value === void 0) {
      const next = words[i + 1];
      if (next === void 0 || next.startsWith("--")) {
        throw new UsageError(
          `missing value for ${flag}; write ${flag} VALUE or ${flag}=VALUE`,
          command
        );
      }
      value = next;
      i++;
    }
    set(name, value, flag);
  }
  function set(name, value, flag) {
    if (hasSwitch(name)) {
      if (!/^(true|false)$/.test(value)) {
        throw new UsageError(`invalid ${flag}=${value}; expected true or false`, command);
      }
      if (given.has(name)) throw new UsageError(`${flag} given more than once`, command);
      given.add(name);
      invocation.switches[name] = value === "true";
      return;
    }
    const input = name;
    const fallback = INPUTS[input].default;
    const shownDefault = fallback ? `'${fallback}'` : input === "store" ? `(artifact inside GitHub Actions, '${DEFAULT_DIRECTORY}' elsewhere)` : "";
    if (!value.trim() && shownDefault) {
      throw new UsageError(
        `${flag} is empty. Expected a value, or no ${flag} for its default ${shownDefault}.`,
        command
      );
    }
    const separator = LIST_SEPARATORS[input];
    const previous = invocation.inputs[input];
    if (previous !== void 0) {
      if (separator === void 0) {
        throw new UsageError(`--${name} given more than once; expected it once`, command);
      }
      invocation.inputs[input] = `${previous}${separator}${value}`;
    } else {
      invocation.inputs[input] = value;
    }
  }
  for (const [name, source] of Object.entries(FLAG_ENVIRONMENT)) {
    const input = name;
    const fromEnv = env[source.variable];
    if (!accepts(input) || invocation.inputs[input] !== void 0 || !fromEnv) continue;
    if (source.with && !source.with.some((other) => invocation.inputs[other])) continue;
    invocation.inputs[input] = fromEnv;
  }
  if (spec.mode) invocation.inputs.mode = spec.mode;
  return invocation;
}
function inputSource(invocation) {
  return (name) => invocation.inputs[name] ?? "";
}

// src/cli/exit-codes.ts
var EXIT_OK = 0;
var EXIT_FAILED = 1;
var EXIT_USAGE = 2;
var EXIT_UNTRUSTED = 3;
var EXIT_INTERRUPTED = 130;
var EXIT_CODE_TABLE = [
  { code: EXIT_OK, meaning: "success" },
  {
    code: EXIT_FAILED,
    meaning: "the operation failed (engine, registry, store, hook, restored container health...)"
  },
  { code: EXIT_USAGE, meaning: "bad arguments or settings; nothing was touched" },
  {
    code: EXIT_UNTRUSTED,
    meaning: "verification failed: the snapshot cannot be trusted (damaged archive or manifest, failed check or drill)"
  },
  {
    code: EXIT_INTERRUPTED,
    meaning: "interrupted (SIGINT or SIGTERM), after bringing paused or stopped containers back"
  }
];
var BY_NAME = {
  InvalidSettingsError: EXIT_USAGE,
  UsageError: EXIT_USAGE,
  ArchiveIntegrityError: EXIT_UNTRUSTED,
  ManifestError: EXIT_UNTRUSTED,
  InterruptedError: EXIT_INTERRUPTED
};
function exitCodeFor(error) {
  if (error instanceof InvalidSettingsError) return EXIT_USAGE;
  if (error instanceof Error && Object.hasOwn(BY_NAME, error.name)) return BY_NAME[error.name];
  return EXIT_FAILED;
}

// src/cli/help.ts
var MIN_WIDTH = 40;
var DEFAULT_WIDTH = 100;
function wrap(text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
function renderEntries(entries, width) {
  const column = Math.min(Math.max(...entries.map((e) => e.flag.length)) + 4, 32);
  const textWidth = width - column;
  const lines = [];
  for (const { flag, text } of entries) {
    if (textWidth >= 36) {
      const wrapped = wrap(text, textWidth);
      const first = flag.length + 2 <= column ? flag.padEnd(column) : void 0;
      if (first === void 0) lines.push(flag);
      wrapped.forEach((line, index) => {
        lines.push(index === 0 && first !== void 0 ? first + line : " ".repeat(column) + line);
      });
    } else {
      lines.push(flag, ...wrap(text, width - 8).map((line) => `        ${line}`));
    }
  }
  return lines;
}
function inputEntry(command, name) {
  const boolean = isBooleanInput(name);
  const flag = boolean ? `  --[no-]${name}` : `  --${name} VALUE`;
  let text = INPUTS[name].description;
  if (LIST_SEPARATORS[name] !== void 0) text += " Repeat the flag to add more.";
  const environment = FLAG_ENVIRONMENT[name];
  if (environment) {
    text += ` When not given, read from the environment variable ${environment.variable}` + (environment.with ? ` (when ${environment.with.filter((other) => COMMANDS[command].inputs.includes(other)).map((other) => `--${other}`).join(" or ")} is given)` : "") + ", which keeps it out of shell history.";
  }
  const fallback = INPUTS[name].default;
  if (fallback) text += ` (default: ${fallback})`;
  return { flag, text };
}
function globalEntries() {
  return [
    { flag: "  --json", text: GLOBAL_FLAGS.json },
    { flag: "  --quiet", text: GLOBAL_FLAGS.quiet },
    { flag: "  -h, --help", text: GLOBAL_FLAGS.help }
  ];
}
function exitCodes(width) {
  return renderEntries(
    EXIT_CODE_TABLE.map(({ code, meaning }) => ({ flag: `  ${code}`, text: meaning })),
    width
  );
}
function clampWidth(columns2) {
  return Math.max(MIN_WIDTH, columns2 || DEFAULT_WIDTH);
}
function commandHelp(command, columns2) {
  const width = clampWidth(columns2);
  const spec = COMMANDS[command];
  const flags = [
    ...spec.inputs.map((name) => inputEntry(command, name)),
    ...spec.switches.map((name) => ({ flag: `  --[no-]${name}`, text: SWITCHES[name].description }))
  ];
  const lines = [`Usage: docker-snapshot ${command} [flags]`, "", ...wrap(spec.summary, width), ""];
  if (flags.length > 0) lines.push("Flags:", ...renderEntries(flags, width), "");
  lines.push(
    "Global flags:",
    ...renderEntries(globalEntries(), width),
    "",
    ...wrap(
      "Give a value as --flag VALUE or --flag=VALUE; true/false flags also take --flag and --no-flag. An empty value takes the default.",
      width
    ),
    "",
    "Examples:",
    ...spec.examples.map((example) => `  ${example}`),
    "",
    "Exit codes:",
    ...exitCodes(width)
  );
  return lines.join("\n") + "\n";
}
function generalHelp(columns2) {
  const width = clampWidth(columns2);
  const lines = [
    `docker-snapshot ${TOOL_VERSION}: snapshot a running Docker environment and restore it.`,
    "",
    "Usage: docker-snapshot <command> [flags]",
    "       docker-snapshot help <command>",
    "",
    "Commands:",
    ...renderEntries(
      COMMAND_NAMES.map((name) => ({ flag: `  ${name}`, text: COMMANDS[name].summary })),
      width
    ),
    "",
    "Global flags:",
    ...renderEntries(
      [...globalEntries(), { flag: "  --version", text: "Print the version." }],
      width
    ),
    "",
    ...wrap(
      "Each command's flags are the GitHub Action's inputs of the same names. Run 'docker-snapshot <command> --help' to see them.",
      width
    ),
    "",
    "Exit codes:",
    ...exitCodes(width)
  ];
  return lines.join("\n") + "\n";
}

// src/cli/interrupt.ts
function heldContainersAdvice(held) {
  if (held.length === 0) return void 0;
  const paused = held.filter((action) => action.action === "pause").map((action) => action.name);
  const stopped = held.filter((action) => action.action === "stop").map((action) => action.name);
  const steps = [
    paused.length > 0 ? `docker unpause ${paused.join(" ")}` : "",
    stopped.length > 0 ? `docker start ${stopped.join(" ")}` : ""
  ].filter(Boolean);
  return `containers still held by the snapshot: ${held.map((a) => `${a.name} (${a.action === "pause" ? "paused" : "stopped"})`).join(", ")}; bring them back with: ${steps.join(" && ")} (the next docker-snapshot command on this host does it too, with their post-exec hooks)`;
}
function holdsContainers(command) {
  return command === "snapshot" || command === "drill";
}
function interruptNotice(signal, command) {
  return `received ${signal}: stopping at the next safe point` + (holdsContainers(command) ? " and bringing paused or stopped containers back" : "") + (command === "restore" ? " and putting back any originals a replace set aside" : "") + `; ${signal === "SIGINT" ? "press Ctrl-C" : "send it"} again to quit without waiting`;
}
function quitNotice(signal, command, held) {
  return `received ${signal} again: quitting without waiting` + (held.length > 0 ? `; ${heldContainersAdvice(held)}` : "") + (command === "restore" ? "; originals a replace set aside keep their '-aside-' names: see 'If a replace is cut short' in the README" : "");
}
function interruptedMessage(signal, error, held, command) {
  const cause = error instanceof Error && error.name === "InterruptedError" ? "" : describeError(error);
  return `interrupted by ${signal}` + (cause ? ` (the run stopped with: ${cause})` : "") + // Other commands hold nothing; a restore's own message says what it put back.
  (holdsContainers(command) ? `; ${heldContainersAdvice(held) ?? "no container is left paused or stopped"}` : "");
}

// src/cli/display.ts
var TtyDisplay = class extends HumanDisplay {
  /** Lines of the live block now on screen (the cursor is at the end of its last line). */
  drawn = 0;
  drawnAt = -Infinity;
  line(text, prefix = "") {
    this.options.stderr.write(this.clearBlock() + prefix + this.mask(text) + "\n" + this.block());
  }
  transfer(transfer) {
    const { state } = this.tracker.update(transfer);
    if (transfer.done) {
      this.line(this.describeDone(state));
    } else if (this.now() - this.drawnAt >= REDRAW_INTERVAL_MS) {
      this.options.stderr.write(this.clearBlock() + this.block());
    }
  }
  stop() {
    this.options.stderr.write(this.clearBlock());
  }
  /** Moves to the first line of the live block, clearing each line on the way. */
  clearBlock() {
    if (this.drawn === 0) return "";
    const clear = "\r\x1B[2K" + "\x1B[1A\x1B[2K".repeat(this.drawn - 1);
    this.drawn = 0;
    return clear;
  }
  /** The live block, each line cut to the terminal's width so it never wraps. */
  block() {
    const lines = [...this.tracker.active.values()].map((state) => describeProgress(state));
    if (lines.length === 0) return "";
    const width = Math.max((this.options.stderr.columns || 80) - 1, 20);
    this.drawn = lines.length;
    this.drawnAt = this.now();
    return lines.map((line) => this.mask(line).slice(0, width)).join("\n");
  }
};
function maskDeep(value, mask) {
  if (typeof value === "string") return mask(value);
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, mask));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, maskDeep(item, mask)])
    );
  }
  return value;
}
var JsonDisplay = class {
  constructor(options) {
    this.options = options;
    this.mask = options.mask ?? ((text) => text);
    this.tracker = new TransferTracker(options.now ?? Date.now);
    this.log = {
      debug: (message) => this.emit({ event: "log", level: "debug", message }),
      info: (message) => this.emit({ event: "log", level: "info", message }),
      warn: (message) => this.emit({ event: "log", level: "warning", message }),
      group: async (title, fn) => {
        this.emit({ event: "group", title });
        return fn();
      }
    };
    this.onTransfer = (transfer) => {
      const { state } = this.tracker.update(transfer);
      const rate = state.meter.bytesPerSecond;
      this.emit({
        event: "transfer",
        ...transfer,
        ...rate !== void 0 && { bytesPerSecond: Math.round(rate) }
      });
    };
  }
  options;
  tracker;
  mask;
  log;
  onTransfer;
  notice(message) {
    this.emit({ event: "log", level: "warning", message });
  }
  finish(outcome) {
    this.emit({
      event: "result",
      command: outcome.command,
      ok: outcome.ok,
      exitCode: outcome.exitCode,
      ...outcome.error && { error: outcome.error },
      ...outcome.result !== void 0 && { result: outcome.result }
    });
  }
  emit(event) {
    const plain = JSON.parse(JSON.stringify(event));
    this.options.stdout.write(JSON.stringify(maskDeep(plain, this.mask)) + "\n");
  }
};
function createDisplay(options) {
  if (options.json) return new JsonDisplay(options);
  if (options.stderr.isTTY) return new TtyDisplay(options);
  return new PlainDisplay(options);
}

// src/cli/secrets.ts
var Masker = class {
  secrets = [];
  constructor(secrets = []) {
    for (const secret of secrets) this.add(secret);
  }
  add(secret) {
    if (!isMaskable(secret) || this.secrets.includes(secret)) return;
    this.secrets = [...this.secrets, secret].sort((a, b) => b.length - a.length);
  }
  mask(text) {
    let masked = text;
    for (const secret of this.secrets) masked = masked.split(secret).join("***");
    return masked;
  }
};
function secretsOf(argv, env) {
  const secrets = [];
  const valuesOf = (kind, text) => kind === "value" ? [text] : text.split("\n").flatMap((line) => line.includes("=") ? [line.slice(line.indexOf("=") + 1)] : []);
  argv.forEach((word, index) => {
    for (const [name, kind] of Object.entries(SECRET_INPUTS)) {
      const flag = `--${name}`;
      if (word === flag && index + 1 < argv.length) secrets.push(...valuesOf(kind, argv[index + 1]));
      if (word.startsWith(`${flag}=`)) secrets.push(...valuesOf(kind, word.slice(flag.length + 1)));
    }
  });
  for (const source of Object.values(FLAG_ENVIRONMENT)) {
    const value = env[source.variable];
    if (value) secrets.push(value);
  }
  return secrets.filter(Boolean);
}

// src/cli/summary.ts
import { createHash } from "node:crypto";
function columns(rows) {
  const widths = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  }
  return rows.map(
    (row) => row.map((cell, index) => index === row.length - 1 ? cell : cell.padEnd(widths[index])).join("  ")
  );
}
function snapshotSummary(report) {
  const m = report.manifest;
  const lines = [
    `snapshot ${m.snapshotId} taken in ${report.seconds.toFixed(1)} s: ${plural(m.containers.length, "container")}, ${plural(m.volumes.length, "volume")}, ${plural(m.networks.length, "network")}, ${plural(report.images.length, "image")}`,
    `containers held (${m.consistency}) for ${report.quiescedSeconds.toFixed(1)} s; compression ${report.codec}`
  ];
  const rows = [
    ...report.volumes.map((v) => [
      "volume",
      v.name,
      `${formatBytes(v.tarBytes)} -> ${formatBytes(v.storedBytes)}`,
      `${v.seconds.toFixed(1)} s`,
      `${formatBytes(v.tarBytes / Math.max(v.seconds, 1e-3))}/s`,
      `by ${copiedBy(v)}`
    ]),
    ...(m.excludedVolumes ?? []).map((v) => [
      "volume",
      v.name,
      "excluded",
      `not taken; a restore creates it empty for ${v.usedBy.join(", ")}`
    ]),
    ...report.images.map((i) => ["image", i.key, i.location, i.reference])
  ];
  if (rows.length > 0) lines.push("", ...columns(rows).map((row) => `  ${row}`), "");
  lines.push(...describeSecretEnv(report.secretEnv));
  lines.push(`manifest: ${report.manifestLocation}`);
  return lines.join("\n") + "\n";
}
function formatTime(date) {
  return `${date.toISOString().replace("T", " ").slice(0, 19)}Z`;
}
function snapshotTable(list2) {
  if (list2.length === 0) return "";
  const rows = [
    ["SNAPSHOT", "STATUS", "CREATED", "SIZE"],
    ...list2.map((s) => [s.snapshotId, s.status, formatTime(s.createdAt), formatBytes(s.bytes)])
  ];
  const damaged = list2.filter((s) => s.status === "damaged").map((s) => `${s.snapshotId}: ${s.problem}`);
  return [...columns(rows), ...damaged.length ? ["", ...damaged] : []].join("\n") + "\n";
}
function pruneSummary(pruned) {
  const lines = pruned.removed.map((id) => `removed ${id}`);
  lines.push(...pruned.skipped.map((s) => `left ${s.snapshotId}: ${s.reason}`));
  lines.push(`${plural(pruned.removed.length, "snapshot")} removed, ${pruned.kept.length} kept`);
  return lines.join("\n") + "\n";
}
function restoreSummary(report) {
  const lines = [
    `restored ${report.snapshotId}${report.prefix ? ` with prefix ${report.prefix}` : ""} in ${(report.durationMs / 1e3).toFixed(1)} s (` + report.steps.map((s) => `${s.step} ${(s.durationMs / 1e3).toFixed(1)} s`).join(", ") + ")"
  ];
  const rows = [
    ...report.containers.map((c) => ["container", c.target, c.action, c.state]),
    ...report.volumes.map((v) => [
      "volume",
      v.target,
      v.action,
      v.empty ? "empty (excluded from the snapshot)" : `${v.entries} entries`
    ]),
    ...report.networks.map((n) => ["network", n.target, n.action, ""]),
    ...report.images.map((i) => ["image", i.reference, i.action, ""]),
    ...report.bindMounts.map((b) => [
      "bind mount",
      `${b.container}:${b.destination}`,
      b.given === "host" ? `host path${b.readOnly ? ", read-only" : ""}` : `${b.given}`,
      b.volume === void 0 ? b.source : `volume ${b.volume} (not ${b.source})`
    ])
  ];
  if (rows.length > 0) lines.push("", ...columns(rows).map((row) => `  ${row}`));
  return lines.join("\n") + "\n";
}
function verifySummary(report) {
  const lines = [
    `verify ${report.snapshotId}: ${report.ok ? "passed" : "FAILED"} in ${(report.durationMs / 1e3).toFixed(1)} s`,
    "",
    ...columns(report.checks.map((c) => [c.ok ? "ok" : "FAILED", c.kind, c.subject, c.detail])).map(
      (row) => `  ${row}`
    )
  ];
  if (report.drill) {
    lines.push("", `drill command exited ${report.drill.exitCode}:`, report.drill.output.trim());
  }
  return lines.join("\n") + "\n";
}
function brief(answer) {
  const lines = answer.split("\n");
  if (lines.length === 1 && answer.length <= 100) return answer;
  const digest = createHash("sha256").update(answer).digest("hex").slice(0, 12);
  return `${lines[0].slice(0, 60)}\u2026 (${lines.length} lines, sha256 ${digest})`;
}
function drillSummary(report) {
  const lines = [
    `drill of ${report.composeProject}, snapshot ${report.snapshotId}:`,
    ...columns(report.steps.map((s) => [`${s.seconds.toFixed(1)} s`, s.name, s.detail])).map(
      (row) => `  ${row}`
    ),
    "",
    ...report.checks.flatMap(
      (c) => c.same ? [
        `  same     ${c.description}: ${brief(c.before)}`,
        `    asked ${c.askedBefore}, then ${c.askedAfter}`
      ] : [
        `  CHANGED  ${c.description}`,
        `    before: ${brief(c.before)} (asked ${c.askedBefore})`,
        `    after:  ${brief(c.after)} (asked ${c.askedAfter})`
      ]
    ),
    "",
    report.verdict
  ];
  return lines.join("\n") + "\n";
}
function runSummary(result) {
  switch (result.mode) {
    case "snapshot":
      return snapshotSummary(result.snapshot);
    case "restore":
      return restoreSummary(result.restore);
    case "verify":
      return verifySummary(result.verify);
    case "prune":
      return pruneSummary(result.prune);
  }
}
function reportsUntrusted(result) {
  const failed = (value) => typeof value === "object" && value !== null && "ok" in value && value.ok === false;
  if (failed(result)) return true;
  if (typeof result !== "object" || result === null) return false;
  return Object.values(result).some(failed);
}

// src/cli/main.ts
function processEnvironment() {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signals: process,
    now: Date.now,
    exit: (code) => process.exit(code),
    boundaries: realBoundaries,
    execute
  };
}
async function main(argv, overrides = {}) {
  const io = { ...processEnvironment(), ...overrides };
  const masker = new Masker(secretsOf(argv, io.env));
  let parsed;
  try {
    parsed = parseArgs(argv, io.env);
  } catch (error) {
    const json = argv.includes("--json");
    const display = createDisplay({
      json,
      quiet: false,
      stdout: io.stdout,
      stderr: io.stderr,
      mask: (text) => masker.mask(text)
    });
    const command = error instanceof UsageError ? error.command : void 0;
    display.finish({
      command: command ?? "",
      ok: false,
      exitCode: EXIT_USAGE,
      error: errorInfo(error)
    });
    if (!json) {
      io.stderr.write(`run 'docker-snapshot ${command ? `${command} ` : ""}--help' for usage
`);
    }
    return EXIT_USAGE;
  }
  if (parsed.kind === "version") {
    io.stdout.write(`docker-snapshot ${TOOL_VERSION}
`);
    return EXIT_OK;
  }
  if (parsed.kind === "help") {
    const stream = parsed.usage ? io.stderr : io.stdout;
    stream.write(
      parsed.command ? commandHelp(parsed.command, stream.columns) : generalHelp(stream.columns)
    );
    return parsed.usage ? EXIT_USAGE : EXIT_OK;
  }
  return runCommand(parsed, io, masker);
}
function errorInfo(error) {
  return {
    name: error instanceof Error ? error.name : "Error",
    message: describeError(error)
  };
}
async function runCommand(invocation, io, masker) {
  const display = createDisplay({
    json: invocation.json,
    quiet: invocation.quiet,
    stdout: io.stdout,
    stderr: io.stderr,
    now: io.now,
    mask: (text) => masker.mask(text)
  });
  const interruption = new Interruption();
  let held = [];
  const stopListening = interruption.listen(io.signals, {
    first: (signal) => display.notice(interruptNotice(signal, invocation.command)),
    again: (signal) => {
      display.notice(quitNotice(signal, invocation.command, held));
      io.exit(EXIT_INTERRUPTED);
    }
  });
  const context = {
    log: display.log,
    onTransfer: display.onTransfer,
    signal: interruption.signal,
    onSecret: (secret) => masker.add(secret),
    onQuiesce: (actions) => {
      held = [...actions];
    }
  };
  const command = invocation.command;
  try {
    const settings = readSettings(inputSource(invocation));
    for (const secret of settings.secrets) masker.add(secret);
    dropSecretVariables(process.env, settings.secrets);
    const done = await perform(invocation, settings, context, io);
    if (interruption.requested) {
      display.finish({
        command,
        ok: false,
        exitCode: EXIT_INTERRUPTED,
        result: done.result,
        text: done.text,
        error: {
          name: "InterruptedError",
          message: `interrupted by ${interruption.requested}, but ${command} had already finished`
        }
      });
      return EXIT_INTERRUPTED;
    }
    display.finish({
      command,
      ok: done.exitCode === EXIT_OK,
      exitCode: done.exitCode,
      result: done.result,
      text: done.text,
      ...done.exitCode === EXIT_UNTRUSTED && {
        error: { name: "VerificationFailed", message: `${command} found the snapshot untrusted` }
      }
    });
    return done.exitCode;
  } catch (error) {
    const signal = interruption.requested;
    if (signal) {
      display.finish({
        command,
        ok: false,
        exitCode: EXIT_INTERRUPTED,
        error: {
          name: "InterruptedError",
          message: interruptedMessage(signal, error, held, command)
        }
      });
      return EXIT_INTERRUPTED;
    }
    const exitCode = exitCodeFor(error);
    display.finish({ command, ok: false, exitCode, error: errorInfo(error) });
    if (exitCode === EXIT_USAGE && !invocation.json) {
      io.stderr.write(`run 'docker-snapshot ${command} --help' for usage
`);
    }
    return exitCode;
  } finally {
    stopListening();
  }
}
async function perform(invocation, settings, context, io) {
  switch (invocation.command) {
    case "snapshot":
    case "restore":
    case "verify":
    case "prune": {
      const result = await io.execute(settings, context, io.boundaries);
      if (result.mode === "prune") {
        return { result: result.prune, text: pruneSummary(result.prune), exitCode: EXIT_OK };
      }
      return {
        result,
        text: runSummary(result),
        exitCode: reportsUntrusted(result) ? EXIT_UNTRUSTED : EXIT_OK
      };
    }
    case "ls": {
      const listing = await list(settings, context, io.boundaries);
      return { result: listing, text: snapshotTable(listing.snapshots), exitCode: EXIT_OK };
    }
    case "drill": {
      const options = {
        demo: invocation.switches.demo ?? false,
        destroy: invocation.switches.destroy ?? false
      };
      const report = await drill(settings, context, options, io.boundaries);
      return {
        result: report,
        text: drillSummary(report),
        exitCode: report.ok ? EXIT_OK : EXIT_UNTRUSTED
      };
    }
  }
}

// src/cli/index.ts
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`error: ${errorMessage(error)}
`);
    process.exitCode = 1;
  }
);
