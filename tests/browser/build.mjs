// Bundles src/main.jsx (React + both useStream hooks) into dist/app.js with esbuild and
// copies src/index.html next to it. Run by tests/test_browser.py (`npm run build`).
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";

await mkdir("dist", { recursive: true });
await build({
  entryPoints: ["src/main.jsx"],
  bundle: true,
  format: "iife",
  target: "es2022",
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"development"' },
  outfile: "dist/app.js",
  logLevel: "warning",
});
await copyFile("src/index.html", "dist/index.html");
