import { execFileSync } from 'node:child_process';
import { type Dirent, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type KeyFind, findKeys } from '../domain/key-scan.js';

/** A key found in a file, as `keygate scan` reports it (never the key itself). */
export interface FileKeyFind extends KeyFind {
  file: string;
}

/** What a scan found, and the files it could not read (each already explained through `note`). */
export interface ScanResult {
  finds: FileKeyFind[];
  unreadable: number;
}

/** Files larger than this are skipped: keys hide in source and config, not in dumps and bundles. */
export const MAX_SCAN_BYTES = 10 * 1024 * 1024;
/** Git's own test: a NUL byte in the first 8 KiB means binary. */
const BINARY_SNIFF_BYTES = 8 * 1024;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

function isBinary(content: Buffer): boolean {
  return content.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

function scanContent(file: string, content: Buffer, prefix: string, result: ScanResult): void {
  if (isBinary(content)) return;
  for (const find of findKeys(content.toString('utf8'), prefix)) result.finds.push({ file, ...find });
}

/**
 * Scans files and directories (recursively, in name order, skipping .git, node_modules, symbolic
 * links inside directories, binary files and files over MAX_SCAN_BYTES). Paths that cannot be
 * read are noted and counted, and the scan goes on with the rest.
 */
export function scanPaths(paths: readonly string[], prefix: string, note: (text: string) => void): ScanResult {
  const result: ScanResult = { finds: [], unreadable: 0 };
  const unreadable = (path: string, err: unknown) => {
    note(`keygate scan: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    result.unreadable++;
  };
  const visitFile = (path: string, size: number) => {
    if (size > MAX_SCAN_BYTES) return note(`keygate scan: skipped ${path} (over ${MAX_SCAN_BYTES} bytes)`);
    let content: Buffer;
    try {
      content = readFileSync(path);
    } catch (err) {
      return unreadable(path, err);
    }
    scanContent(path, content, prefix, result);
  };
  const visitDir = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      return unreadable(dir, err);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      // Symbolic links are not followed: they can loop, or lead out of the tree being checked.
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) visitDir(path);
      } else if (entry.isFile()) {
        try {
          visitFile(path, statSync(path).size);
        } catch (err) {
          unreadable(path, err);
        }
      }
    }
  };
  for (const path of paths) {
    try {
      const stat = statSync(path);
      if (stat.isDirectory()) visitDir(path);
      else visitFile(path, stat.size);
    } catch (err) {
      unreadable(path, err);
    }
  }
  return result;
}

function git(args: string[], cwd: string | undefined): Buffer {
  return execFileSync('git', args, {
    cwd,
    maxBuffer: MAX_SCAN_BYTES + 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Scans what is about to be committed: the staged (index) content of added, copied and modified
 * files (renamed ones too: a moved file may have gained a key), not the working copy, which may differ. Paths are relative to the repository's top.
 * Throws when git fails (not a repository, git missing).
 */
export function scanStaged(prefix: string, note: (text: string) => void, cwd?: string): ScanResult {
  const result: ScanResult = { finds: [], unreadable: 0 };
  // Outside a repository `git diff` turns into `diff --no-index`; this says "not a git repository".
  git(['rev-parse', '--git-dir'], cwd);
  const listed = git(['diff', '--cached', '--name-only', '--diff-filter=ACMR', '-z'], cwd).toString('utf8');
  for (const file of listed.split('\0').filter(Boolean)) {
    // `:./path` would be relative to cwd; `:path` is relative to the top, as diff prints it.
    const size = Number(
      git(['cat-file', '-s', `:${file}`], cwd)
        .toString('utf8')
        .trim(),
    );
    if (size > MAX_SCAN_BYTES) {
      note(`keygate scan: skipped ${file} (over ${MAX_SCAN_BYTES} bytes)`);
      continue;
    }
    scanContent(file, git(['cat-file', 'blob', `:${file}`], cwd), prefix, result);
  }
  return result;
}

/** The line `keygate scan` prints for a find: where, and the display prefix only. */
export function formatFind(find: FileKeyFind): string {
  return `${find.file}:${find.line}: ${find.prefix}… (keygate key)`;
}
