/**
 * The front doors hold together: every relative link in README.md, ARCHITECTURE.md, docs/*.md and bench/README.md
 * names a file that exists, every `#anchor` names a heading of its target (GitHub's slugs), and the README stays
 * short enough to be read (issue 22: at most about 200 lines; the rest lives in docs/).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const README_MAX_LINES = 200;

/** The documents whose links are checked, relative to `root`. */
function documents(root: string): string[] {
  const docs = existsSync(join(root, "docs"))
    ? readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`)
    : [];
  return ["README.md", "ARCHITECTURE.md", ...docs, "bench/README.md"].filter((name) => existsSync(join(root, name)));
}

/** The lines of a Markdown text outside fenced code blocks, with inline code spans blanked. */
function proseLines(text: string): { line: string; number: number }[] {
  const out: { line: string; number: number }[] = [];
  let fence: string | undefined;
  text.split("\n").forEach((line, index) => {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return;
    }
    if (marker !== undefined) {
      fence = marker;
      return;
    }
    out.push({ line: line.replace(/`+[^`]*`+/g, "``"), number: index + 1 });
  });
  return out;
}

/**
 * GitHub's heading anchor (github-slugger): lower case, punctuation dropped (letters, digits, `-` and `_` stay),
 * each space a `-`; the second heading with the same slug gets `-1`, the third `-2`.
 */
function slugs(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fence: string | undefined;
  for (const line of text.split("\n")) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (marker !== undefined) {
      fence = marker;
      continue;
    }
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const plain = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/<[^>]*>/g, "");
    const base = plain.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Every broken relative link or anchor of the documents under `root`, as `file:line: why`. */
function brokenLinks(root: string): string[] {
  const problems: string[] = [];
  for (const name of documents(root)) {
    const path = join(root, name);
    const text = readFileSync(path, "utf8");
    for (const { line, number } of proseLines(text)) {
      const targets = [
        ...[...line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
        ...[...line.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)].map((m) => m[1]),
      ];
      for (const target of targets) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...: not a file of the repository
        const hash = target.indexOf("#");
        const file = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
        const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
        const to = file === "" ? path : resolve(dirname(path), file);
        const where = `${name}:${number}: ${target}`;
        if (relative(root, to).startsWith("..")) {
          problems.push(`${where}: points outside the repository`);
        } else if (!existsSync(to)) {
          problems.push(`${where}: no such file`);
        } else if (anchor !== undefined) {
          if (!to.endsWith(".md") || statSync(to).isDirectory()) {
            problems.push(`${where}: an anchor into something that is not a Markdown file`);
          } else if (!slugs(readFileSync(to, "utf8")).has(anchor)) {
            problems.push(`${where}: no heading with that anchor in ${relative(root, to)}`);
          }
        }
      }
    }
  }
  return problems;
}

describe("documentation links", () => {
  it("every relative link and anchor in README.md, ARCHITECTURE.md, docs/*.md and bench/README.md resolves", () => {
    const checked = documents(ROOT);
    for (const name of ["README.md", "ARCHITECTURE.md", "bench/README.md"]) assert.ok(checked.includes(name), name);
    assert.ok(checked.some((name) => name.startsWith("docs/")), "docs/*.md exist");
    assert.deepEqual(brokenLinks(ROOT), []);
  });

  it("the README links every docs/*.md page", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const pages = documents(ROOT).filter((name) => name.startsWith("docs/"));
    assert.deepEqual(pages.filter((page) => !readme.includes(`](${page}`)), []);
  });

  it(`README.md has at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(ROOT, "README.md"), "utf8").replace(/\n$/, "").split("\n").length;
    assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines`);
  });

  it("the check finds a missing file, a missing anchor and a link out of the repository, and skips code", () => {
    const root = mkdtempSync(join(tmpdir(), "tabi-links-"));
    try {
      writeFileSync(
        join(root, "README.md"),
        [
          "# tabi",
          "[ok](ARCHITECTURE.md#the-rooms-of-lib-bottom-up) [gone](docs/gone.md) [bad anchor](ARCHITECTURE.md#nowhere)",
          "[out](../elsewhere.md) [web](https://example.org/x.md) `[code](nothing.md)` [self](#tabi)",
          "```md",
          "[fenced](nothing.md)",
          "```",
          "",
        ].join("\n"),
      );
      writeFileSync(join(root, "ARCHITECTURE.md"), "# How\n\n## The rooms of `lib/`, bottom up\n");
      assert.deepEqual(brokenLinks(root), [
        "README.md:2: docs/gone.md: no such file",
        "README.md:2: ARCHITECTURE.md#nowhere: no heading with that anchor in ARCHITECTURE.md",
        "README.md:3: ../elsewhere.md: points outside the repository",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("anchors follow GitHub's slugs, duplicates numbered", () => {
    assert.deepEqual(
      [...slugs(
        "# Reload (SIGHUP)\n## `tabi audit`: does it leak?\n## Every core (`--workers N|auto`)\n# Reload (SIGHUP)\n",
      )],
      ["reload-sighup", "tabi-audit-does-it-leak", "every-core---workers-nauto", "reload-sighup-1"],
    );
  });
});
