import { describe, expect, it } from 'vitest'
import { ConfigError, loadServeConfig } from '../../src/config.js'
import { describeDatabaseUrl } from '../../src/store/openStore.js'

const PG = 'postgres://tacit:s3cret-pw@db.internal:5432/tacit'
const REDIS = 'redis://127.0.0.1:6379'

function load(env: Record<string, string>) {
  return loadServeConfig({}, env)
}

describe('scale-out configuration (TACIT_DATABASE_URL, TACIT_REDIS_URL, TACIT_CLUSTER)', () => {
  it('keeps SQLite, one node, by default', () => {
    expect(load({})).toMatchObject({ databaseUrl: undefined, redisUrl: undefined, cluster: false })
  })

  it('takes a PostgreSQL URL in either spelling, and a cluster of nodes with Redis', () => {
    expect(load({ TACIT_DATABASE_URL: PG }).databaseUrl).toBe(PG)
    expect(load({ TACIT_DATABASE_URL: 'postgresql://h/db' }).databaseUrl).toBe('postgresql://h/db')
    expect(load({ TACIT_DATABASE_URL: PG, TACIT_REDIS_URL: REDIS, TACIT_CLUSTER: '1' })).toMatchObject({ cluster: true, databaseUrl: PG, redisUrl: REDIS })
    expect(load({ TACIT_DATABASE_URL: PG, TACIT_CLUSTER: '0' }).cluster).toBe(false)
  })

  it('refuses a cluster without Redis: each node would split visitors into sessions of its own', () => {
    expect(() => load({ TACIT_DATABASE_URL: PG, TACIT_CLUSTER: '1' })).toThrow(ConfigError)
    expect(() => load({ TACIT_DATABASE_URL: PG, TACIT_CLUSTER: '1' })).toThrow(/TACIT_CLUSTER=1 needs TACIT_REDIS_URL/)
  })

  it('refuses a cluster on SQLite, which no two nodes can share', () => {
    expect(() => load({ TACIT_REDIS_URL: REDIS, TACIT_CLUSTER: '1' })).toThrow(/TACIT_CLUSTER=1 needs TACIT_DATABASE_URL/)
  })

  it('refuses malformed values with the reason, never echoing a database password', () => {
    expect(() => load({ TACIT_CLUSTER: 'yes' })).toThrow(/TACIT_CLUSTER must be 1/)
    expect(() => load({ TACIT_DATABASE_URL: 'mysql://root:hunter2@db/tacit' })).toThrow(/must start with postgres:\/\//)
    expect(() => load({ TACIT_DATABASE_URL: 'mysql://root:hunter2@db/tacit' })).not.toThrow(/hunter2/)
    expect(() => load({ TACIT_DATABASE_URL: 'not a url hunter2' })).toThrow(ConfigError)
    expect(() => load({ TACIT_DATABASE_URL: 'not a url hunter2' })).not.toThrow(/hunter2/)
  })

  it('describes a database for logs without its user or password', () => {
    expect(describeDatabaseUrl(PG)).toBe('postgres://db.internal:5432/tacit')
  })
})
