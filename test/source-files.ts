import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every TypeScript source file below `dir` (declaration files aside), as absolute paths. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) out.push(...sourceFiles(file));
    else if (/\.(ts|mts)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(file);
  }
  return out;
}
