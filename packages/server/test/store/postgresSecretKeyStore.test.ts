import { describeSecretKeyStoreContract } from './secretKeyStoreContract.js'
import { createTempPostgresStore } from './tempPostgresStore.js'

describeSecretKeyStoreContract('postgres', () => createTempPostgresStore())
