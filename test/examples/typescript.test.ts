import { exampleSuite } from './support.js';

/**
 * The TypeScript example, run with the SDK (@keygate/sdk) against a live keygate. Its type-check is
 * `tsc -p examples/typescript/tsconfig.json`, part of `npm run typecheck`.
 */
exampleSuite('the TypeScript example against a live keygate', [
  {
    name: 'typescript (SDK)',
    command: process.execPath,
    args: ['--import', 'tsx', 'examples/typescript/scenario.ts'],
    givenAccount: true,
  },
]);
