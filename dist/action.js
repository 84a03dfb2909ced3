import { createRequire as __dsCreateRequire } from 'node:module'
import { dirname as __dsDirname } from 'node:path'
import { fileURLToPath as __dsFileURLToPath } from 'node:url'
const require = __dsCreateRequire(import.meta.url)
const __filename = __dsFileURLToPath(import.meta.url)
const __dirname = __dsDirname(__filename)
import {
  Engine,
  Interruption,
  PlainDisplay,
  carrierOwner,
  describeError,
  execute,
  formatBytes,
  isMaskable,
  openStore,
  plural,
  readSettings,
  repairAbandoned
} from "./chunks/chunk-OGRZVC6V.js";

// node_modules/@actions/core/lib/command.js
import * as os from "os";

// node_modules/@actions/core/lib/utils.js
function toCommandValue(input) {
  if (input === null || input === void 0) {
    return "";
  } else if (typeof input === "string" || input instanceof String) {
    return input;
  }
  return JSON.stringify(input);
}
function toCommandProperties(annotationProperties) {
  if (!Object.keys(annotationProperties).length) {
    return {};
  }
  return {
    title: annotationProperties.title,
    file: annotationProperties.file,
    line: annotationProperties.startLine,
    endLine: annotationProperties.endLine,
    col: annotationProperties.startColumn,
    endColumn: annotationProperties.endColumn
  };
}

// node_modules/@actions/core/lib/command.js
function issueCommand(command, properties, message) {
  const cmd = new Command(command, properties, message);
  process.stdout.write(cmd.toString() + os.EOL);
}
function issue(name, message = "") {
  issueCommand(name, {}, message);
}
var CMD_STRING = "::";
var Command = class {
  constructor(command, properties, message) {
    if (!command) {
      command = "missing.command";
    }
    this.command = command;
    this.properties = properties;
    this.message = message;
  }
  toString() {
    let cmdStr = CMD_STRING + this.command;
    if (this.properties && Object.keys(this.properties).length > 0) {
      cmdStr += " ";
      let first = true;
      for (const key in this.properties) {
        if (this.properties.hasOwnProperty(key)) {
          const val = this.properties[key];
          if (val) {
            if (first) {
              first = false;
            } else {
              cmdStr += ",";
            }
            cmdStr += `${key}=${escapeProperty(val)}`;
          }
        }
      }
    }
    cmdStr += `${CMD_STRING}${escapeData(this.message)}`;
    return cmdStr;
  }
};
function escapeData(s) {
  return toCommandValue(s).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function escapeProperty(s) {
  return toCommandValue(s).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/:/g, "%3A").replace(/,/g, "%2C");
}

// node_modules/@actions/core/lib/file-command.js
import * as crypto from "crypto";
import * as fs from "fs";
import * as os2 from "os";
function issueFileCommand(command, message) {
  const filePath = process.env[`GITHUB_${command}`];
  if (!filePath) {
    throw new Error(`Unable to find environment variable for file command ${command}`);
  }
  if (!fs.existsSync(filePath)) {
    throw new Error(`Missing file at path: ${filePath}`);
  }
  fs.appendFileSync(filePath, `${toCommandValue(message)}${os2.EOL}`, {
    encoding: "utf8"
  });
}
function prepareKeyValueMessage(key, value) {
  const delimiter = `ghadelimiter_${crypto.randomUUID()}`;
  const convertedValue = toCommandValue(value);
  if (key.includes(delimiter)) {
    throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`);
  }
  if (convertedValue.includes(delimiter)) {
    throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`);
  }
  return `${key}<<${delimiter}${os2.EOL}${convertedValue}${os2.EOL}${delimiter}`;
}

// node_modules/@actions/core/lib/core.js
import * as os4 from "os";

// node_modules/@actions/core/lib/summary.js
import { EOL as EOL3 } from "os";
import { constants, promises } from "fs";
var __awaiter = function(thisArg, _arguments, P, generator) {
  function adopt(value) {
    return value instanceof P ? value : new P(function(resolve) {
      resolve(value);
    });
  }
  return new (P || (P = Promise))(function(resolve, reject) {
    function fulfilled(value) {
      try {
        step(generator.next(value));
      } catch (e) {
        reject(e);
      }
    }
    function rejected(value) {
      try {
        step(generator["throw"](value));
      } catch (e) {
        reject(e);
      }
    }
    function step(result) {
      result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected);
    }
    step((generator = generator.apply(thisArg, _arguments || [])).next());
  });
};
var { access, appendFile, writeFile } = promises;
var SUMMARY_ENV_VAR = "GITHUB_STEP_SUMMARY";
var Summary = class {
  constructor() {
    this._buffer = "";
  }
  /**
   * Finds the summary file path from the environment, rejects if env var is not found or file does not exist
   * Also checks r/w permissions.
   *
   * @returns step summary file path
   */
  filePath() {
    return __awaiter(this, void 0, void 0, function* () {
      if (this._filePath) {
        return this._filePath;
      }
      const pathFromEnv = process.env[SUMMARY_ENV_VAR];
      if (!pathFromEnv) {
        throw new Error(`Unable to find environment variable for $${SUMMARY_ENV_VAR}. Check if your runtime environment supports job summaries.`);
      }
      try {
        yield access(pathFromEnv, constants.R_OK | constants.W_OK);
      } catch (_a) {
        throw new Error(`Unable to access summary file: '${pathFromEnv}'. Check if the file has correct read/write permissions.`);
      }
      this._filePath = pathFromEnv;
      return this._filePath;
    });
  }
  /**
   * Wraps content in an HTML tag, adding any HTML attributes
   *
   * @param {string} tag HTML tag to wrap
   * @param {string | null} content content within the tag
   * @param {[attribute: string]: string} attrs key-value list of HTML attributes to add
   *
   * @returns {string} content wrapped in HTML element
   */
  wrap(tag, content, attrs = {}) {
    const htmlAttrs = Object.entries(attrs).map(([key, value]) => ` ${key}="${value}"`).join("");
    if (!content) {
      return `<${tag}${htmlAttrs}>`;
    }
    return `<${tag}${htmlAttrs}>${content}</${tag}>`;
  }
  /**
   * Writes text in the buffer to the summary buffer file and empties buffer. Will append by default.
   *
   * @param {SummaryWriteOptions} [options] (optional) options for write operation
   *
   * @returns {Promise<Summary>} summary instance
   */
  write(options) {
    return __awaiter(this, void 0, void 0, function* () {
      const overwrite = !!(options === null || options === void 0 ? void 0 : options.overwrite);
      const filePath = yield this.filePath();
      const writeFunc = overwrite ? writeFile : appendFile;
      yield writeFunc(filePath, this._buffer, { encoding: "utf8" });
      return this.emptyBuffer();
    });
  }
  /**
   * Clears the summary buffer and wipes the summary file
   *
   * @returns {Summary} summary instance
   */
  clear() {
    return __awaiter(this, void 0, void 0, function* () {
      return this.emptyBuffer().write({ overwrite: true });
    });
  }
  /**
   * Returns the current summary buffer as a string
   *
   * @returns {string} string of summary buffer
   */
  stringify() {
    return this._buffer;
  }
  /**
   * If the summary buffer is empty
   *
   * @returns {boolen} true if the buffer is empty
   */
  isEmptyBuffer() {
    return this._buffer.length === 0;
  }
  /**
   * Resets the summary buffer without writing to summary file
   *
   * @returns {Summary} summary instance
   */
  emptyBuffer() {
    this._buffer = "";
    return this;
  }
  /**
   * Adds raw text to the summary buffer
   *
   * @param {string} text content to add
   * @param {boolean} [addEOL=false] (optional) append an EOL to the raw text (default: false)
   *
   * @returns {Summary} summary instance
   */
  addRaw(text, addEOL = false) {
    this._buffer += text;
    return addEOL ? this.addEOL() : this;
  }
  /**
   * Adds the operating system-specific end-of-line marker to the buffer
   *
   * @returns {Summary} summary instance
   */
  addEOL() {
    return this.addRaw(EOL3);
  }
  /**
   * Adds an HTML codeblock to the summary buffer
   *
   * @param {string} code content to render within fenced code block
   * @param {string} lang (optional) language to syntax highlight code
   *
   * @returns {Summary} summary instance
   */
  addCodeBlock(code, lang) {
    const attrs = Object.assign({}, lang && { lang });
    const element = this.wrap("pre", this.wrap("code", code), attrs);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML list to the summary buffer
   *
   * @param {string[]} items list of items to render
   * @param {boolean} [ordered=false] (optional) if the rendered list should be ordered or not (default: false)
   *
   * @returns {Summary} summary instance
   */
  addList(items, ordered = false) {
    const tag = ordered ? "ol" : "ul";
    const listItems = items.map((item) => this.wrap("li", item)).join("");
    const element = this.wrap(tag, listItems);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML table to the summary buffer
   *
   * @param {SummaryTableCell[]} rows table rows
   *
   * @returns {Summary} summary instance
   */
  addTable(rows) {
    const tableBody = rows.map((row) => {
      const cells = row.map((cell) => {
        if (typeof cell === "string") {
          return this.wrap("td", cell);
        }
        const { header, data, colspan, rowspan } = cell;
        const tag = header ? "th" : "td";
        const attrs = Object.assign(Object.assign({}, colspan && { colspan }), rowspan && { rowspan });
        return this.wrap(tag, data, attrs);
      }).join("");
      return this.wrap("tr", cells);
    }).join("");
    const element = this.wrap("table", tableBody);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds a collapsable HTML details element to the summary buffer
   *
   * @param {string} label text for the closed state
   * @param {string} content collapsable content
   *
   * @returns {Summary} summary instance
   */
  addDetails(label, content) {
    const element = this.wrap("details", this.wrap("summary", label) + content);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML image tag to the summary buffer
   *
   * @param {string} src path to the image you to embed
   * @param {string} alt text description of the image
   * @param {SummaryImageOptions} options (optional) addition image attributes
   *
   * @returns {Summary} summary instance
   */
  addImage(src, alt, options) {
    const { width, height } = options || {};
    const attrs = Object.assign(Object.assign({}, width && { width }), height && { height });
    const element = this.wrap("img", null, Object.assign({ src, alt }, attrs));
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML section heading element
   *
   * @param {string} text heading text
   * @param {number | string} [level=1] (optional) the heading level, default: 1
   *
   * @returns {Summary} summary instance
   */
  addHeading(text, level) {
    const tag = `h${level}`;
    const allowedTag = ["h1", "h2", "h3", "h4", "h5", "h6"].includes(tag) ? tag : "h1";
    const element = this.wrap(allowedTag, text);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML thematic break (<hr>) to the summary buffer
   *
   * @returns {Summary} summary instance
   */
  addSeparator() {
    const element = this.wrap("hr", null);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML line break (<br>) to the summary buffer
   *
   * @returns {Summary} summary instance
   */
  addBreak() {
    const element = this.wrap("br", null);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML blockquote to the summary buffer
   *
   * @param {string} text quote text
   * @param {string} cite (optional) citation url
   *
   * @returns {Summary} summary instance
   */
  addQuote(text, cite) {
    const attrs = Object.assign({}, cite && { cite });
    const element = this.wrap("blockquote", text, attrs);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML anchor tag to the summary buffer
   *
   * @param {string} text link text/content
   * @param {string} href hyperlink
   *
   * @returns {Summary} summary instance
   */
  addLink(text, href) {
    const element = this.wrap("a", text, { href });
    return this.addRaw(element).addEOL();
  }
};
var _summary = new Summary();
var summary = _summary;

// node_modules/@actions/core/lib/platform.js
import os3 from "os";
var platform = os3.platform();
var arch = os3.arch();

// node_modules/@actions/core/lib/core.js
var __awaiter2 = function(thisArg, _arguments, P, generator) {
  function adopt(value) {
    return value instanceof P ? value : new P(function(resolve) {
      resolve(value);
    });
  }
  return new (P || (P = Promise))(function(resolve, reject) {
    function fulfilled(value) {
      try {
        step(generator.next(value));
      } catch (e) {
        reject(e);
      }
    }
    function rejected(value) {
      try {
        step(generator["throw"](value));
      } catch (e) {
        reject(e);
      }
    }
    function step(result) {
      result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected);
    }
    step((generator = generator.apply(thisArg, _arguments || [])).next());
  });
};
var ExitCode;
(function(ExitCode2) {
  ExitCode2[ExitCode2["Success"] = 0] = "Success";
  ExitCode2[ExitCode2["Failure"] = 1] = "Failure";
})(ExitCode || (ExitCode = {}));
function setSecret(secret) {
  issueCommand("add-mask", {}, secret);
}
function getInput(name, options) {
  const val = process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "";
  if (options && options.required && !val) {
    throw new Error(`Input required and not supplied: ${name}`);
  }
  if (options && options.trimWhitespace === false) {
    return val;
  }
  return val.trim();
}
function setOutput(name, value) {
  const filePath = process.env["GITHUB_OUTPUT"] || "";
  if (filePath) {
    return issueFileCommand("OUTPUT", prepareKeyValueMessage(name, value));
  }
  process.stdout.write(os4.EOL);
  issueCommand("set-output", { name }, toCommandValue(value));
}
function setFailed(message) {
  process.exitCode = ExitCode.Failure;
  error(message);
}
function debug(message) {
  issueCommand("debug", {}, message);
}
function error(message, properties = {}) {
  issueCommand("error", toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
function warning(message, properties = {}) {
  issueCommand("warning", toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
function info(message) {
  process.stdout.write(message + os4.EOL);
}
function startGroup(name) {
  issue("group", name);
}
function endGroup() {
  issue("endgroup");
}
function group(name, fn) {
  return __awaiter2(this, void 0, void 0, function* () {
    startGroup(name);
    let result;
    try {
      result = yield fn();
    } finally {
      endGroup();
    }
    return result;
  });
}
function saveState(name, value) {
  const filePath = process.env["GITHUB_STATE"] || "";
  if (filePath) {
    return issueFileCommand("STATE", prepareKeyValueMessage(name, value));
  }
  issueCommand("save-state", { name }, toCommandValue(value));
}
function getState(name) {
  return process.env[`STATE_${name}`] || "";
}

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
            storedBytes: v.storedBytes
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
        ["volume", "data", "stored", "time", "throughput"],
        report.volumes.map((v) => [
          escapeMarkdown(v.name),
          formatBytes(v.tarBytes),
          formatBytes(v.storedBytes),
          `${v.seconds.toFixed(1)} s`,
          `${formatBytes(v.tarBytes / Math.max(v.seconds, 1e-3))}/s`
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
  lines.push(`Manifest: ${escapeMarkdown(report.manifestLocation)}`);
  return lines.join("\n");
}
function restoreSummary(report) {
  return [
    `## Restored ${escapeMarkdown(report.snapshotId)}` + (report.prefix ? ` with prefix ${escapeMarkdown(report.prefix)}` : ""),
    "",
    `Done in ${secondsOf(report.durationMs)}: ` + report.steps.map((s) => `${s.step} ${secondsOf(s.durationMs)}`).join(", ") + ".",
    "",
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
    for (const secret of settings.secrets) setSecret(secret);
    const state = {
      dockerHost: settings.dockerHost,
      carrierOwner,
      ...settings.mode === "snapshot" && {
        snapshot: { store: settings.store, snapshotId: settings.snapshotId }
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
      onSecret: (secret) => {
        if (isMaskable(secret)) setSecret(secret);
      }
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
  } catch (error2) {
    setFailed(describeError(error2));
  } finally {
    stopListening();
  }
}

// src/action/post.ts
async function post() {
  try {
    await cleanUp();
  } catch (error2) {
    setFailed(describeError(error2));
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
    } catch (error2) {
      failed.push(`${what}: ${describeError(error2)}`);
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
