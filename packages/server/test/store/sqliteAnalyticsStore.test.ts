import { describeAnalyticsStoreContract } from './analyticsStoreContract.js'
import { createTempSqliteStore } from './tempSqliteStore.js'

describeAnalyticsStoreContract('sqlite', async () => createTempSqliteStore())
