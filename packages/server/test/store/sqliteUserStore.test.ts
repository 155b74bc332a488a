import { createTempSqliteStore } from './tempSqliteStore.js'
import { describeUserStoreContract } from './userStoreContract.js'

describeUserStoreContract('sqlite', () => createTempSqliteStore())
