/**
 * What Tacit does with each Sentry envelope item type (issue 9, "Sentry intake"):
 * - `translate`: `event` items become Tacit error events (translateSentryEvent);
 * - `accept`: `session` (one session's update), `sessions` (aggregates from server SDKs) and `client_report`
 *   (the SDK's count of what it dropped itself) are answered as accepted and counted, and stored nowhere.
 *   Tacit's own sessions come from its two-layer visitor map, never from an SDK: a Sentry session carries
 *   `did` (the `setUser` id), `attrs.ip_address` (`{{auto}}` asks the server to fill in the client's address)
 *   and `attrs.user_agent`, none of which may be kept;
 * - `drop`: everything else, counted: `transaction`, `span`, `attachment`, `replay_event`,
 *   `replay_recording`, `replay_video`, `profile`, `profile_chunk`, `check_in`, `feedback`, `user_report`,
 *   `log`, `otel_log`, `trace_metric`, `statsd`, `metric_meta`, `raw_security`, and any type Sentry adds later.
 *
 * Matching is exact: item types are lower-case identifiers in every SDK (`getDataCategoryByType` in
 * @sentry/core), and an unknown spelling is an unknown type.
 */
export type SentryItemKind = 'translate' | 'accept' | 'drop'

const ACCEPTED = new Set(['session', 'sessions', 'client_report'])

export function sentryItemKind(type: string): SentryItemKind {
  if (type === 'event') return 'translate'
  return ACCEPTED.has(type) ? 'accept' : 'drop'
}
