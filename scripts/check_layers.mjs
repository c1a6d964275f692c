#!/usr/bin/env node
// Keeps the layers of DESIGN true: fails (exit 1, naming file and line) on
//  - an import cycle among lib/, cli/ and mod.ts (static, type-only and dynamic imports all count: a lazy import
//    back is still a cycle in the module graph);
//  - a runtime global (Deno, Bun, process, node:net/dgram/dns/tls) in lib/ outside lib/runtime/;
//  - an import of lib/runtime/ from lib/ outside it (the Network is chosen at the edges: mod.ts and cli/);
//  - an import in lib/wire/ of anything outside lib/wire/ (the codecs are sans-I/O and stand alone);
//  - an import that goes up the rooms of lib/ (ROOMS, bottom first: a room may import only itself and those below
//    it), or a file of lib/ that is in no room.
// Comments and string contents are blanked before matching, so a JSDoc example or an error message does not count.
// Usage: node scripts/check_layers.mjs [root]   (plain Node, no dependencies)
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import process from "node:process";

const root = resolve(process.argv[2] ?? ".");
const rel = (path) => relative(root, path).split(sep).join("/");

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mts|js|mjs)$/.test(name) && !/\.d\.ts$/.test(name) ? [path] : [];
  });
}

const KEYWORDS_BEFORE_REGEX = new Set([
  "return",
  "typeof",
  "instanceof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "yield",
  "await",
]);

/**
 * The source with comments, and the contents of strings, template texts and regex literals, replaced by spaces
 * (newlines kept, so offsets and line numbers stay those of the file). A small scanner, not a parser: enough for
 * the shapes of TypeScript this repository is written in.
 */
export function blank(src) {
  const out = src.split("");
  const wipe = (from, to) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  const stack = []; // "{" for a brace, "${" for a template substitution
  let i = 0;
  let last = ""; // the last significant character of code
  let word = ""; // the last identifier of code
  const inTemplate = () => {
    // Scans template text from i to its end or to a substitution; returns true if it ended the template.
    const start = i;
    while (i < src.length) {
      if (src[i] === "\\") i += 2;
      else if (src[i] === "`") {
        wipe(start, i);
        i++;
        return true;
      } else if (src[i] === "$" && src[i + 1] === "{") {
        wipe(start, i);
        i += 2;
        stack.push("${");
        return false;
      } else i++;
    }
    wipe(start, i);
    return true;
  };
  while (i < src.length) {
    const c = src[i];
    const d = src[i + 1];
    if (c === "/" && d === "/") {
      const end = src.indexOf("\n", i);
      const stop = end === -1 ? src.length : end;
      wipe(i, stop);
      i = stop;
    } else if (c === "/" && d === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end === -1 ? src.length : end + 2;
      wipe(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      wipe(i + 1, j);
      i = j + 1;
      last = c;
      word = "";
    } else if (c === "`") {
      i++;
      inTemplate();
      last = "`";
      word = "";
    } else if (c === "/" && (last === "" || "(,=:[!&|?{};+-*%<>~^".includes(last) || KEYWORDS_BEFORE_REGEX.has(word))) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n") {
        if (src[j] === "\\") j++;
        else if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        else if (src[j] === "/" && !inClass) break;
        j++;
      }
      wipe(i + 1, j);
      i = j + 1;
      last = "/";
      word = "";
    } else {
      if (c === "{") stack.push("{");
      else if (c === "}") {
        if (stack.pop() === "${") {
          i++;
          inTemplate();
          last = "`";
          word = "";
          continue;
        }
      }
      if (/[A-Za-z0-9_$]/.test(c)) {
        word = /[A-Za-z0-9_$]/.test(last) ? word + c : c;
        last = c;
      } else if (!/\s/.test(c)) {
        last = c;
        word = "";
      }
      i++;
    }
  }
  return out.join("");
}

const lineOf = (text, offset) => text.slice(0, offset).split("\n").length;

/** Every import of a file: static, re-export, side-effect and dynamic, with its line. */
export function importsOf(src) {
  const code = blank(src);
  const found = [];
  const patterns = [
    /(?<![.\w$])(?:import|export)\s+(?:type\s+)?[\w$\s{},*]*?\bfrom\s*(["'])/g,
    /(?<![.\w$])import\s*(["'])/g,
    /(?<![.\w$])import\s*\(\s*(["'])/g,
  ];
  for (const re of patterns) {
    for (const m of code.matchAll(re)) {
      const open = m.index + m[0].length;
      const close = src.indexOf(m[1], open);
      found.push({ specifier: src.slice(open, close), line: lineOf(src, m.index) });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

/**
 * The rooms of lib/, from the bottom up: a file or folder (ending in "/"). A file may import files of its own room
 * and of rooms below it; mod.ts, wire.ts and cli/ are the edges above them all.
 */
export const ROOMS = [
  "lib/version.ts",
  "lib/wire/",
  "lib/io/",
  "lib/time/",
  "lib/net/",
  "lib/gssapi/",
  "lib/relay.ts",
  "lib/client/",
  "lib/server/",
  "lib/fetch/",
  "lib/audit/",
  "lib/runtime/",
];
/** The rank of a file's room (index in ROOMS), Infinity for the edges, -1 for a file of lib/ in no room. */
function rankOf(name) {
  if (!name.startsWith("lib/")) return Infinity;
  return ROOMS.findIndex((room) => (room.endsWith("/") ? name.startsWith(room) : name === room));
}
const roomOf = (name) => ROOMS[rankOf(name)] ?? name;

const files = [...sourceFiles(join(root, "lib")), ...sourceFiles(join(root, "cli"))];
// The entries at the root (mod.ts, wire.ts, ...): edges like cli/, above every room.
for (const name of readdirSync(root).sort()) if (name.endsWith(".ts")) files.push(join(root, name));
const known = new Set(files);
const problems = [];
const edges = new Map(); // file -> [{ to, line }]

const RUNTIME_SPECIFIER = /^(node:)?(net|dgram|dns|tls|process)$/;
// A bare name, or one reached through the global object (`globalThis.process`); `x.process` is some property.
const RUNTIME_GLOBAL = /(?:(?<![.\w$])|(?<=(?<![.\w$])(?:globalThis|global|self|window)\??\.))(Deno|Bun|process)\b/g;

for (const file of files) {
  const src = readFileSync(file, "utf8");
  const name = rel(file);
  const inLib = name.startsWith("lib/");
  const inRuntime = name.startsWith("lib/runtime/");
  const inWire = name.startsWith("lib/wire/");
  const out = [];
  const rank = rankOf(name);
  if (rank === -1) problems.push(`${name}: in no room of lib/; move it into one (ROOMS in scripts/check_layers.mjs)`);
  for (const { specifier, line } of importsOf(src)) {
    const relativeSpecifier = specifier.startsWith("./") || specifier.startsWith("../");
    const target = relativeSpecifier ? resolve(dirname(file), specifier) : undefined;
    const targetName = target === undefined ? specifier : rel(target);
    if (target !== undefined && known.has(target)) out.push({ to: target, line });
    if (inWire && !(target !== undefined && targetName.startsWith("lib/wire/"))) {
      problems.push(`${name}:${line}: lib/wire imports ${specifier}; the codecs import nothing outside lib/wire`);
    }
    if (inLib && !inRuntime && RUNTIME_SPECIFIER.test(specifier)) {
      problems.push(`${name}:${line}: imports ${specifier}, a runtime module; only lib/runtime/ may`);
    }
    if (inLib && !inRuntime && targetName.startsWith("lib/runtime/")) {
      problems.push(
        `${name}:${line}: imports ${targetName}; lib/ is handed its Network, chosen at the edges (mod.ts, cli/)`,
      );
    } else if (inLib && rank !== -1 && target !== undefined && rankOf(targetName) > rank) {
      problems.push(
        `${name}:${line}: imports ${targetName}, which is up the rooms: ${roomOf(targetName)} stands above ${
          roomOf(name)
        }`,
      );
    }
  }
  edges.set(file, out);
  if (inLib && !inRuntime) {
    const code = blank(src);
    for (const m of code.matchAll(RUNTIME_GLOBAL)) {
      problems.push(`${name}:${lineOf(code, m.index)}: uses the runtime global ${m[1]}; only lib/runtime/ may`);
    }
  }
}

// Cycles: Tarjan's strongly connected components, then cycles shown edge by edge with their lines.
let index = 0;
const order = new Map();
const low = new Map();
const onStack = new Set();
const stack = [];
const components = [];
function connect(v) {
  order.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const { to } of edges.get(v)) {
    if (!order.has(to)) {
      connect(to);
      low.set(v, Math.min(low.get(v), low.get(to)));
    } else if (onStack.has(to)) low.set(v, Math.min(low.get(v), order.get(to)));
  }
  if (low.get(v) === order.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    const selfLoop = edges.get(v).some((e) => e.to === v);
    if (component.length > 1 || selfLoop) components.push(new Set(component));
  }
}
for (const file of files) if (!order.has(file)) connect(file);

/** The shortest cycle through `start` inside `component`, as its edges (breadth-first). */
function shortestCycle(start, component) {
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const edge of edges.get(v)) {
      if (!component.has(edge.to)) continue;
      if (edge.to === start) {
        const steps = [{ from: v, line: edge.line }];
        for (let at = v; at !== start; at = previous.get(at).from) steps.unshift(previous.get(at));
        return steps;
      }
      if (!previous.has(edge.to)) {
        previous.set(edge.to, { from: v, line: edge.line });
        queue.push(edge.to);
      }
    }
  }
  return [];
}

for (const component of components) {
  // One cycle through each file of the component, each cycle reported once.
  const seen = new Set();
  for (const start of [...component].sort()) {
    const steps = shortestCycle(start, component);
    const key = steps.map((s) => `${rel(s.from)}:${s.line}`).sort().join(" ");
    if (seen.has(key)) continue;
    seen.add(key);
    const path = steps.map((s) => `${rel(s.from)}:${s.line}`).join(" -> ");
    problems.push(`${rel(start)}: import cycle: ${path} -> ${rel(start)}`);
  }
}

for (const problem of problems) console.error(problem);
console.log(
  problems.length === 0
    ? `check_layers: ${files.length} files; rooms from the bottom: ${
      ROOMS.map((room) => room.replace(/^lib\//, "")).join(" < ")
    } < the edges (mod.ts and the other entries, cli/); no import goes up, no cycle, no runtime global outside lib/runtime, lib/wire stands alone`
    : `check_layers: ${problems.length} problem(s) in ${files.length} files`,
);
process.exitCode = problems.length === 0 ? 0 : 1;
