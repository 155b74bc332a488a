import { describeSecretKeyStoreContract } from './secretKeyStoreContract.js'
import { createTempSqliteStore } from './tempSqliteStore.js'

describeSecretKeyStoreContract('sqlite', () => createTempSqliteStore())
