// What the wasm backend's Node-only imports (fs, path, os, perf_hooks) resolve to in the browser, where it never calls them.
export default {};
