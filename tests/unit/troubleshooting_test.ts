/**
 * docs/troubleshooting.md promises every message a user sees: each error
 * and warning line in lib/ (its text up to the first placeholder) is on the
 * page, and the counts of tests that need promtool and helm are right.
 */

import { assert, assertEquals } from "../support/assert.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, root));

/** Every .ts file under a folder of the repository, recursively. */
function sources(dir: string): string[] {
  return [...Deno.readDirSync(new URL(dir, root))].flatMap((e) =>
    e.isDirectory ? sources(`${dir}${e.name}/`) : e.name.endsWith(".ts") ? [`${dir}${e.name}`] : []
  );
}

Deno.test("every error and warning lib/ logs is in docs/troubleshooting.md", () => {
  // deno fmt may break a quoted message across lines: compare with whitespace folded
  const doc = read("docs/troubleshooting.md").replace(/\s+/g, " ");
  const missing: string[] = [];
  let seen = 0;
  for (const file of sources("lib/")) {
    const src = read(file);
    for (const m of src.matchAll(/\.(?:error|warn)\(\s*"([^"]+)"/g)) {
      const head = (m[1] as string).split("{")[0]?.trim() ?? "";
      if (head.length < 4) continue; // "{error}": the text is another's, already listed
      seen++;
      if (!doc.includes(head.replace(/\s+/g, " "))) missing.push(`${file}: ${head}`);
    }
  }
  assert(seen > 10, `only ${seen} messages found: the pattern no longer matches the code`);
  assertEquals(missing, []);
});

Deno.test("the tests that need promtool and helm are counted right", () => {
  const count = (dir: string, re: RegExp) =>
    sources(dir).filter((f) => f.endsWith("_test.ts"))
      .reduce((n, f) => n + [...read(f).matchAll(re)].length, 0);
  const promtool = count("tests/", /^ {2}ignore: !HAVE_PROMTOOL,$/gm);
  const helm = count("tests/", /^t\(/gm);
  const doc = read("docs/troubleshooting.md").replace(/\s+/g, " ");
  assert(
    doc.includes(`The ${promtool} tests that need \`promtool\` (Prometheus) and the ${helm} that`),
    `promtool ${promtool}, helm ${helm}`,
  );
});
