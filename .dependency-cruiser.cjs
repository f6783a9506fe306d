// What may import what in src/ (docs/architecture.md draws it), checked by `npm test` (npm run check:imports).
// The layers, from the bottom: a module imports modules of its own layer and of the layers below it, never
// of a layer above; nothing imports src/index.ts (the library's entry); no import cycle anywhere; and the
// page's code, which runs in a browser, reaches no Node module.
const LAYERS = [
  ['base'], // errors and their exit codes, atomic file writes, the version
  ['kernels'], // the TF.js backend and metalearn's WebAssembly kernels, registered by name
  ['core'], // points, random streams, the MLP, its gradients, adaptation, meta-optimizers, fine-tuning, statistics
  ['options'], // how an option is declared; the options every algorithm shares; size limits
  ['tasks'], // task families: the interface, sine, multimodal, a user's data
  ['algorithms'], // one file per meta-learner, and their registry
  ['config'], // a run's resolved config (the shared options and every algorithm's), config files
  ['run'], // the files of a run directory: format, checkpoints, lock, preparation, upgrade
  ['train', 'eval'], // the training loop; evaluation, its report and plots (neither imports the other)
  ['page'], // the page of `metalearn serve` and its server
  ['commands'], // the command line (and `npm run bench`)
];
const folder = (names) => `^src/(${names.join('|')})/`;
const layerRules = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  const siblings = layer.length > 1 ? layer.map((name) => ({ from: name, to: layer.filter((n) => n !== name) })) : [];
  return [
    ...(above.length ? [{ name: `${layer.join('-')}-imports-no-layer-above`, severity: 'error', comment: `${layer.join(' and ')} may not import ${above.join(', ')}`, from: { path: folder(layer) }, to: { path: folder(above) } }] : []),
    ...siblings.map((s) => ({ name: `${s.from}-imports-not-${s.to.join('-')}`, severity: 'error', comment: `${s.from} and ${s.to.join(', ')} are siblings: neither imports the other`, from: { path: folder([s.from]) }, to: { path: folder(s.to) } })),
  ];
});

module.exports = {
  forbidden: [
    { name: 'no-cycle', severity: 'error', comment: 'an import cycle: split the module that both sides need', from: {}, to: { circular: true } },
    ...layerRules,
    { name: 'nothing-imports-the-entry', severity: 'error', comment: 'src/index.ts is what a library user imports; modules import each other directly', from: { path: '^src/' }, to: { path: '^src/index\\.ts$' } },
    { name: 'every-module-in-a-layer', severity: 'error', comment: 'a module of src/ lives in a layer folder (or is src/index.ts)', from: { path: '^src/', pathNot: [folder(LAYERS.flat()), '^src/index\\.ts$'] }, to: {} },
    {
      name: 'the-page-runs-in-a-browser',
      severity: 'error',
      comment: "the page's code (src/page/, but for its server) must reach no Node module, directly or through what it imports",
      from: { path: '^src/page/', pathNot: '^src/page/server\\.ts$' },
      to: { reachable: true, path: ['^node:', '^(fs|path|os|url|module|child_process|crypto|http)$', '@resvg/resvg-js', 'cli-progress', 'commander'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/kernels/assembly/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
