import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // DuckDB files and real cgroups: keep files in one process at a time, predictable.
    fileParallelism: false,
    // oclif prints through console.log; runCommand must see it, not vitest's interceptor
    disableConsoleIntercept: true,
  },
})
