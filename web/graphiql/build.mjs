// Builds the playground into an output directory (default:
// ../../internal/playground/dist): index.html (a Go html/template), hashed
// JS/CSS/font assets, the Monaco web workers and THIRD_PARTY_LICENSES.txt.
//
// Usage: node build.mjs [outdir]
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, process.argv[2] ?? '../../internal/playground/dist');
const assets = path.join(outdir, 'assets');

const common = {
  absWorkingDir: here,
  bundle: true,
  minify: true,
  // License texts go to THIRD_PARTY_LICENSES.txt instead of the bundles.
  legalComments: 'none',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
  outdir: assets,
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};

// Monaco's workers, one classic-script bundle each; the label is the one
// Monaco passes to MonacoEnvironment.getWorker.
const workerEntries = {
  editor: 'monaco-editor/esm/vs/editor/editor.worker.js',
  json: 'monaco-editor/esm/vs/language/json/json.worker.js',
  graphql: 'monaco-graphql/esm/graphql.worker.js',
};

// graphiql/style.css already holds the CSS of every Monaco widget (and the
// codicon font), so Monaco's own `import "x.css"` statements would only
// duplicate it, in lazy chunks that nothing links.
const dropMonacoCSS = {
  name: 'drop-monaco-css',
  setup(build) {
    build.onLoad({ filter: /[\\/]monaco-editor[\\/]esm[\\/].*\.css$/ }, () => ({ contents: '', loader: 'empty' }));
  },
};

fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(assets, { recursive: true });

const workers = await esbuild.build({
  ...common,
  entryPoints: Object.entries(workerEntries).map(([label, input]) => ({ in: input, out: `${label}.worker` })),
  entryNames: '[name]-[hash]',
  format: 'iife',
});

const workerFiles = {};
for (const [file, output] of Object.entries(workers.metafile.outputs)) {
  const label = Object.keys(workerEntries).find(l => output.entryPoint?.endsWith(workerEntries[l]));
  if (label) workerFiles[label] = path.basename(file);
}
if (Object.keys(workerFiles).length !== Object.keys(workerEntries).length) {
  throw new Error(`worker outputs not found: ${JSON.stringify(workerFiles)}`);
}

const app = await esbuild.build({
  ...common,
  entryPoints: { main: 'src/main.jsx' },
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  format: 'esm',
  splitting: true,
  // @graphiql/react titles its SVG icons from the components' function names
  // ("settings icon"); minified names would give "h n icon".
  keepNames: true,
  jsx: 'automatic',
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file' },
  define: { ...common.define, __MONACO_WORKERS__: JSON.stringify(workerFiles) },
  plugins: [dropMonacoCSS],
  // @graphiql/react imports prettier's parsers by their legacy CommonJS names.
  // With code splitting esbuild gives a dynamically imported CommonJS module
  // only a default export, so the named `parsers` would be undefined and
  // Prettify would fail; the ESM builds of the same plugins keep them.
  alias: {
    'prettier/parser-graphql': 'prettier/plugins/graphql',
    'prettier/parser-babel': 'prettier/plugins/babel',
  },
});

// Every CSS file must be linked from index.html: esbuild does not load the
// CSS of lazily imported chunks by itself.
const cssFiles = Object.keys(app.metafile.outputs).filter(f => f.endsWith('.css'));
if (cssFiles.length !== 1) throw new Error(`expected one CSS bundle, got ${cssFiles}`);

let mainJS;
let mainCSS;
for (const [file, output] of Object.entries(app.metafile.outputs)) {
  if (output.entryPoint !== 'src/main.jsx') continue;
  mainJS = path.basename(file);
  mainCSS = output.cssBundle && path.basename(output.cssBundle);
}
if (!mainJS || !mainCSS) throw new Error('main bundle outputs not found');

const faviconSVG = fs.readFileSync(path.join(here, 'src/favicon.svg'));
const favicon = `favicon-${hashBytes(faviconSVG)}.svg`;
fs.writeFileSync(path.join(assets, favicon), faviconSVG);

// index.html is executed by the Go handler as an html/template: it fills in
// the GraphQL endpoint. Paths are relative so the page only loads from the
// origin that served it.
fs.writeFileSync(
  path.join(outdir, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GEN Data Hub — GraphiQL</title>
<link rel="icon" type="image/svg+xml" href="assets/${favicon}">
<link rel="stylesheet" href="assets/${mainCSS}">
<script type="module" src="assets/${mainJS}"></script>
</head>
<body>
<div id="graphiql" data-endpoint="{{.Endpoint}}"><p class="playground-loading">Loading GraphiQL…</p></div>
</body>
</html>
`,
);

extractDataURLs(path.join(assets, mainCSS));
writeLicenses([workers.metafile, app.metafile]);

for (const f of fs.readdirSync(assets).sort()) {
  console.log(`${String(fs.statSync(path.join(assets, f)).size).padStart(9)}  assets/${f}`);
}

function hashBytes(buf) {
  return createHash('sha256').update(buf).digest('hex').slice(0, 8).toUpperCase();
}

// extractDataURLs moves the base64 fonts and images inlined in the CSS into
// files of their own: the browser then fetches only the font subsets a page
// uses (unicode-range), and the CSP's font-src needs no data: source.
function extractDataURLs(cssPath) {
  const ext = {
    'font/woff2': 'woff2',
    'font/woff': 'woff',
    'font/ttf': 'ttf',
    'image/png': 'png',
    'image/svg+xml': 'svg',
  };
  const css = fs.readFileSync(cssPath, 'utf8').replace(
    /url\(\s*(["']?)data:([a-z0-9.+\/-]+);base64,([A-Za-z0-9+\/=]+)\1\s*\)/g,
    (_url, _quote, mime, data) => {
      if (!ext[mime]) throw new Error(`unexpected data: URL of type ${mime} in ${cssPath}`);
      const buf = Buffer.from(data, 'base64');
      const name = `${mime.startsWith('font/') ? 'font' : 'image'}-${hashBytes(buf)}.${ext[mime]}`;
      fs.writeFileSync(path.join(path.dirname(cssPath), name), buf);
      return `url(${name})`;
    },
  );
  if (/url\(\s*["']?data:/.test(css)) throw new Error(`data: URL left in ${cssPath}`);
  fs.writeFileSync(cssPath, css);
}

// writeLicenses lists every npm package that ended up in a bundle, with its
// version, declared license and license file.
function writeLicenses(metafiles) {
  const pkgDirs = new Set();
  for (const meta of metafiles) {
    for (const input of Object.keys(meta.inputs)) {
      const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
      if (m) pkgDirs.add(m[1]);
    }
  }
  const parts = [
    'Third-party software bundled in the GEN Data Hub playground (internal/playground/dist).',
    'Generated by web/graphiql/build.mjs from the packages in web/graphiql/package-lock.json.',
    '',
  ];
  const seen = new Set();
  for (const dir of [...pkgDirs].sort()) {
    const pkg = JSON.parse(fs.readFileSync(path.join(here, dir, 'package.json'), 'utf8'));
    if (seen.has(`${pkg.name}@${pkg.version}`)) continue; // nested copies of one version
    seen.add(`${pkg.name}@${pkg.version}`);
    const licenseFile = fs
      .readdirSync(path.join(here, dir))
      .find(f => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
    parts.push('='.repeat(78), `${pkg.name}@${pkg.version} (${pkg.license ?? 'see below'})`, '='.repeat(78));
    parts.push(licenseFile ? fs.readFileSync(path.join(here, dir, licenseFile), 'utf8').trim() : '(no license file in the package)', '');
  }
  fs.writeFileSync(path.join(outdir, 'THIRD_PARTY_LICENSES.txt'), parts.join('\n'));
}

if (process.env.PLAYGROUND_METAFILE) {
  // Debugging aid: `PLAYGROUND_METAFILE=/tmp/meta.txt node build.mjs` shows what fills each bundle.
  fs.writeFileSync(process.env.PLAYGROUND_METAFILE, await esbuild.analyzeMetafile(app.metafile) + await esbuild.analyzeMetafile(workers.metafile));
}
