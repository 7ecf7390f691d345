// Bundles the dashboard into dist/ for the hub to serve:
//   dist/index.html              the one page (loads the two files below, no inline script)
//   dist/assets/app.js, app.css  the bundle
//   dist/swagger-ui/             swagger-ui-bundle.js + swagger-ui.css, so the hub's /docs works offline
//   dist/favicon.ico             for pages that name no icon (the hub's /docs)
// `node build.mjs --watch` rebuilds on change.
import { copyFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { faviconIco } from "./favicon.mjs";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const require = createRequire(import.meta.url);
const watch = process.argv.includes("--watch");

// Everything but dist/README.md, which git keeps so that `pip install .` from a checkout that was
// never built finds the package folder (pip failed with "package directory frontend/dist does not
// exist"); such a hub answers 503 dashboard_not_built, naming `make build`.
await mkdir(dist, { recursive: true });
for (const name of await readdir(dist)) {
  if (name !== "README.md") await rm(join(dist, name), { recursive: true, force: true });
}
await mkdir(join(dist, "swagger-ui"), { recursive: true });
await mkdir(join(dist, "assets"), { recursive: true });
await copyFile(join(root, "src", "index.html"), join(dist, "index.html"));
await copyFile(join(root, "src", "favicon.svg"), join(dist, "assets", "favicon.svg"));
await writeFile(join(dist, "favicon.ico"), faviconIco());
const swagger = dirname(require.resolve("swagger-ui-dist/package.json"));
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
  await copyFile(join(swagger, name), join(dist, "swagger-ui", name));
}

const options = {
  entryPoints: { app: join(root, "src", "main.js") },
  outdir: join(dist, "assets"),
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: !watch && !process.env.HOSTPULSE_NO_MINIFY,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "info",
};
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
