/**
 * Writes datasets/catalog/swe-rebench-ids.json from the paper's published experiments folder
 * (eunomia-bpf/agentcgroup commit 5af9e7b). Run again only when that source changes.
 * Usage: npm run build && node dist/scripts/extract-catalog.js [../shared/datasets/agentcgroup-paper]
 */
import {writeFileSync} from 'node:fs'

import {extractPaperCatalog, sweRebenchFile} from '../datasets/catalog/swe-rebench.js'
import {paperDataPath} from './paper-data.js'

const source = paperDataPath(process.argv[2])
const data = extractPaperCatalog(source)
writeFileSync(sweRebenchFile(), JSON.stringify(data, null, 1) + '\n')
console.log(`${sweRebenchFile()}: ${data.tasks.length} instances, ${data.tasks.filter((t) => t.peak_mem_bytes !== null).length} with a measured peak`)
