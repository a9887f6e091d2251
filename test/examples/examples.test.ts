import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleSuite } from './support.js';

/**
 * The examples in examples/, each run as its users would run it against a live keygate. Java and
 * Python must be installed (CI installs them): a missing one fails these tests rather than skipping.
 */
const out = mkdtempSync(join(tmpdir(), 'keygate-examples-'));

exampleSuite('examples against a live keygate', [
  {
    name: 'curl',
    command: 'bash',
    args: ['examples/curl/scenario.sh'],
    givenAccount: false,
    check: { command: 'bash', args: ['-n', 'examples/curl/scenario.sh'] },
  },
  {
    name: 'python',
    command: 'python3',
    args: ['examples/python/scenario.py'],
    givenAccount: true,
    check: {
      command: 'python3',
      args: [
        '-c',
        'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)',
        'examples/python/scenario.py',
        join(out, 'scenario.pyc'),
      ],
    },
  },
  {
    name: 'java',
    command: 'java',
    args: ['examples/java/Example.java'],
    givenAccount: false,
    check: { command: 'javac', args: ['-Xlint:all,-serial', '-Werror', '-d', out, 'examples/java/Example.java'] },
  },
]);
