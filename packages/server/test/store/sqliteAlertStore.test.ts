import { describeAlertStoreContract } from './alertStoreContract.js'
import { createTempSqliteStore } from './tempSqliteStore.js'

for (const [label, options] of [
  ['sqlite', {}],
  ['sqlite (server options)', { backgroundCheckpoints: true, synchronous: 'full' }],
] as const) {
  describeAlertStoreContract(label, async () => createTempSqliteStore(options))
}
