#!/usr/bin/env node
// build-plugin.mjs: builds a strategy folder (its strategy.js and the .js files it imports) into an
// alpha-panda plugin component with componentize-js, every WASI feature disabled. Checks first,
// with file, line and reason: JS syntax, and imports the sandbox lacks (npm packages, node:
// builtins, files outside the folder). Nothing is written into the source folder.
//
//   node sdk-js/build-plugin.mjs SRC_DIR OUT.wasm [--wit WIT_DIR]
//
// Exit status: 0 built, 1 refused or failed, 2 usage.

import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

const SDK_DIR = dirname(fileURLToPath(import.meta.url));
const SDK_SPECIFIER = '@alpha-panda/sdk';
/** componentize-js 0.23.0's whole list of default features: all off, so the only import is the host's. */
const DISABLED_FEATURES = ['stdio', 'random', 'clocks', 'http', 'fetch-event'];

// vm.SourceTextModule (the import list of a module, as the engine parses it) needs this flag.
if (!vm.SourceTextModule) {
  const r = spawnSync(
    process.execPath,
    ['--experimental-vm-modules', '--no-warnings', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
}

/** A refusal with the place it is about. */
class Refused extends Error {}

/**
 * @param {string} file
 * @param {number | null} line
 * @param {string} reason
 */
function refuse(file, line, reason) {
  return new Refused(`${file}${line ? `:${line}` : ''}: ${reason}`);
}

function usage() {
  console.error('usage: node build-plugin.mjs SRC_DIR OUT.wasm [--wit WIT_DIR]');
  process.exit(2);
}

/** @returns {{ src: string, out: string, wit: string }} */
function parseArgs() {
  const args = process.argv.slice(2);
  let wit = join(SDK_DIR, '..', 'wit');
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--wit') wit = args[++i] ?? usage();
    else if (args[i].startsWith('-')) usage();
    else pos.push(args[i]);
  }
  if (pos.length !== 2) usage();
  return { src: resolve(pos[0]), out: resolve(pos[1]), wit: resolve(wit) };
}

/**
 * The line of the first quoted occurrence of `spec` in `source`.
 * @param {string} source
 * @param {string} spec
 */
function lineOf(source, spec) {
  const found = [source.indexOf(`'${spec}'`), source.indexOf(`"${spec}"`)].filter((x) => x >= 0);
  return found.length ? source.slice(0, Math.min(...found)).split('\n').length : null;
}

/**
 * `node --check` of `source` parsed as an ES module: null, or `FILE:LINE: SyntaxError: ...`.
 * @param {string} file
 * @param {string} source
 */
function syntaxError(file, source) {
  const r = spawnSync(process.execPath, ['--input-type=module', '--check'], { input: source, encoding: 'utf8' });
  if (r.status === 0) return null;
  const line = /^\[stdin\]:(\d+)/m.exec(r.stderr)?.[1] ?? null;
  const what = /^(SyntaxError: .*)$/m.exec(r.stderr)?.[1] ?? r.stderr.trim().split('\n').pop();
  return refuse(file, line ? Number(line) : null, what ?? 'cannot be parsed');
}

/**
 * Source with comments and string/template literals blanked (for the dynamic-import check).
 * @param {string} s
 */
function codeOnly(s) {
  return s.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, (m) => m.replace(/[^\n]/g, ' '));
}

/**
 * The strategy's module graph from `src/strategy.js`: every file checked, its imports resolved.
 * @param {string} src the strategy folder (real path)
 * @returns {Promise<Map<string, string>>} absolute path → source
 */
async function collect(src) {
  const entry = join(src, 'strategy.js');
  if (!existsSync(entry)) throw refuse(entry, null, 'not found: a strategy folder holds strategy.js, an ES module exporting the Strategy subclass');
  /** @type {Map<string, string>} */
  const files = new Map();
  const queue = [entry];
  while (queue.length) {
    const file = /** @type {string} */ (queue.shift());
    if (files.has(file)) continue;
    const source = await readFile(file, 'utf8');
    files.set(file, source);
    /** @type {readonly string[]} */
    let specs;
    try {
      specs = new vm.SourceTextModule(source, { identifier: file }).dependencySpecifiers;
    } catch (e) {
      // The engine's parse error has no line: node --check of the same text says where.
      throw syntaxError(file, source) ?? refuse(file, null, String(e));
    }
    const dyn = /\bimport\s*\(/.exec(codeOnly(source));
    if (dyn) {
      throw refuse(file, source.slice(0, dyn.index).split('\n').length, 'dynamic import() is not available in the sandbox (modules are loaded when the component is built): use a static import');
    }
    for (const spec of specs) {
      const line = lineOf(source, spec);
      if (spec === SDK_SPECIFIER) continue;
      if (spec.startsWith('./') || spec.startsWith('../')) {
        const target = resolve(dirname(file), spec);
        if (!existsSync(target) || !statSync(target).isFile()) throw refuse(file, line, `import '${spec}': no such file (${target})`);
        const real = realpathSync(target);
        if (!real.startsWith(src + sep)) throw refuse(file, line, `import '${spec}': leaves the strategy folder ${src}; keep every module of the strategy in it`);
        if (!/\.m?js$/.test(real)) throw refuse(file, line, `import '${spec}': only JavaScript modules (.js, .mjs) can be imported`);
        queue.push(real);
        continue;
      }
      let why;
      if (spec.startsWith('node:') || /^(fs|path|os|crypto|http|https|net|child_process|util|events|stream|buffer|url|worker_threads)(\/|$)/.test(spec)) {
        why = 'node builtins are not available in the sandbox';
      } else if (spec.startsWith('alpha-panda:')) {
        why = `the host interface belongs to the SDK: use log() and the Context from '${SDK_SPECIFIER}'`;
      } else if (spec.startsWith(`${SDK_SPECIFIER}/`)) {
        why = `import everything from '${SDK_SPECIFIER}' itself`;
      } else {
        why = `the sandbox has no packages: import only '${SDK_SPECIFIER}' and your own files (./name.js)`;
      }
      throw refuse(file, line, `import '${spec}': ${why}`);
    }
  }
  return files;
}

/**
 * `source` with its imports of the SDK pointed at `sdkPath`; checked by parsing the result again.
 * @param {string} file
 * @param {string} source
 * @param {string} sdkPath relative specifier of the SDK's index.js from this file
 */
function pointAtSdk(file, source, sdkPath) {
  const out = source.replace(/(\b(?:from|import)\s*)(['"])@alpha-panda\/sdk\2/g, (_, kw, q) => `${kw}${q}${sdkPath}${q}`);
  const before = new vm.SourceTextModule(source, { identifier: file }).dependencySpecifiers;
  const after = new vm.SourceTextModule(out, { identifier: file }).dependencySpecifiers;
  const want = before.map((s) => (s === SDK_SPECIFIER ? sdkPath : s));
  if (JSON.stringify([...new Set(after)].sort()) !== JSON.stringify([...new Set(want)].sort())) {
    throw refuse(file, lineOf(source, SDK_SPECIFIER), `cannot rewrite this import of '${SDK_SPECIFIER}' (write it as: import { ... } from '${SDK_SPECIFIER}';)`);
  }
  return out;
}

/** The WIT package version the host checks, from the WIT itself. @param {string} witDir */
async function witVersion(witDir) {
  const text = await readFile(join(witDir, 'strategy.wit'), 'utf8').catch(() => {
    throw new Refused(`${join(witDir, 'strategy.wit')}: not found (pass --wit WIT_DIR)`);
  });
  const m = /^package\s+alpha-panda:strategy@([0-9][^;\s]*);/m.exec(text);
  if (!m) throw new Refused(`${join(witDir, 'strategy.wit')}: no 'package alpha-panda:strategy@VERSION;' line`);
  return m[1];
}

async function main() {
  const { src: srcArg, out, wit } = parseArgs();
  if (!existsSync(srcArg) || !statSync(srcArg).isDirectory()) throw new Refused(`${srcArg}: not a folder`);
  const src = realpathSync(srcArg);
  const version = await witVersion(wit);
  const files = await collect(src);

  let componentize;
  try {
    ({ componentize } = await import('@bytecodealliance/componentize-js'));
  } catch (e) {
    throw new Refused(
      `@bytecodealliance/componentize-js cannot be loaded (${e.message}): run \`npm ci\` in ${SDK_DIR}`,
    );
  }

  const work = await mkdtemp(join(tmpdir(), 'alpha-panda-js-'));
  const cwd = process.cwd();
  try {
    await cp(join(SDK_DIR, 'src'), join(work, 'sdk'), { recursive: true });
    for (const [file, source] of files) {
      const dest = join(work, 'strategy', relative(src, file));
      await mkdir(dirname(dest), { recursive: true });
      let sdkPath = relative(dirname(dest), join(work, 'sdk', 'index.js')).split(sep).join('/');
      if (!sdkPath.startsWith('.')) sdkPath = `./${sdkPath}`;
      await writeFile(dest, pointAtSdk(file, source, sdkPath));
    }
    // Evaluated first, so even the strategy's module-level code meets the guards.
    await writeFile(
      join(work, 'guards.js'),
      "import { installSandboxGuards } from './sdk/sandbox.js';\ninstallSandboxGuards(globalThis);\n",
    );
    await writeFile(
      join(work, 'entry.js'),
      [
        '// Generated by @alpha-panda/sdk build-plugin.mjs: the component entry, not the author\'s code.',
        `import { log } from 'alpha-panda:strategy/host@${version}';`,
        "import './guards.js';",
        "import { exportStrategy } from './sdk/adapter.js';",
        "import * as author from './strategy/strategy.js';",
        '',
        'export const strategy = exportStrategy(author, log);',
        '',
      ].join('\n'),
    );
    // Fail in a second rather than after a 15 s build: load the bundle natively and find the class.
    await writeFile(join(work, 'package.json'), '{ "type": "module" }\n');
    try {
      const { pickStrategy } = await import(pathToFileURL(join(work, 'sdk', 'adapter.js')).href);
      pickStrategy(await import(pathToFileURL(join(work, 'strategy', 'strategy.js')).href));
    } catch (e) {
      throw refuse(join(src, 'strategy.js'), null, String(/** @type {Error} */ (e)?.message ?? e));
    }
    const started = Date.now();
    process.chdir(work); // componentize-js maps the working folder into the build sandbox
    let result;
    try {
      result = await componentize({
        sourcePath: join(work, 'entry.js'),
        witPath: wit,
        worldName: 'plugin',
        disableFeatures: DISABLED_FEATURES,
      });
    } catch (e) {
      throw new Refused(`componentize-js failed for ${join(src, 'strategy.js')}:\n${/** @type {Error} */ (e).message}`);
    } finally {
      process.chdir(cwd);
    }
    const want = JSON.stringify([[`alpha-panda:strategy/host@${version}`, 'log']]);
    if (JSON.stringify(result.imports) !== want) {
      throw new Refused(`the component imports ${JSON.stringify(result.imports)}, not only the host's log: not built`);
    }
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, result.component);
    const size = result.component.length;
    console.log(`built ${out}: ${size} bytes (${(size / 2 ** 20).toFixed(2)} MiB) in ${((Date.now() - started) / 1000).toFixed(1)} s from ${src}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Refused ? e.message : e);
  process.exit(1);
});
