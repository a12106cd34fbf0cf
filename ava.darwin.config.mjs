// The darwin-only tests (test/darwin), run by .github/workflows/macos.yml:
//   sudo npx ava --config ava.darwin.config.mjs
export default {
  files: ['dist/test/darwin/**/*.test.js'],
  timeout: '2m',
  workerThreads: false,
  verbose: true,
};
