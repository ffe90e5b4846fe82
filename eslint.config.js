// ESLint for the web app in frontend/ (plain ES modules in the browser, no build step).
// Run through scripts/lint.sh; versions are pinned in package.json / package-lock.json.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    ignores: ["node_modules/", "frontend/vendor/", ".venv/", "build/", "dist/", ".production/", ".run/", "*.egg-info/"],
  },
  js.configs.recommended,
  {
    files: ["frontend/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: globals.browser,
    },
  },
  {
    // The API documentation pages' start scripts (classic scripts, served by backend/apidocs.py).
    files: ["backend/apidocs_static/**/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: globals.browser,
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: {
      sourceType: "module",
      globals: globals.node,
    },
  },
];
