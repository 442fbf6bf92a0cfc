/**
 * `npm run bench`: measures speed and memory and prints one table, each figure beside the raw
 * limit measured in the same run on the same machine.
 */
import { runPresignBench, type BenchRow } from './bench-presign.ts';

const rows: BenchRow[] = [];
rows.push(...runPresignBench());

console.log('| measure | result | raw limit (same run) | note |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(`| ${row.measure} | ${row.result} | ${row.rawLimit} | ${row.note ?? ''} |`);
