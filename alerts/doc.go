// Package alerts delivers incident events to the people who must act on them.
//
// Every notifier implements [Notifier]. [Webhook] posts a JSON payload signed
// according to Standard Webhooks v1 (headers webhook-id, webhook-timestamp and
// webhook-signature, HMAC-SHA256 over "id.timestamp.body" with a whsec_
// secret), so any receiver that already verifies Svix/Standard Webhooks
// signatures can consume leakwatch alerts unchanged. [Slack] posts a Block Kit
// summary to an incoming-webhook URL, and [LogSink] writes JSON lines for
// pipelines that read stdout.
//
// Delivery failures are classified instead of being retried blindly, because
// the durable outbox needs to know what a failure means: errors matching
// [ErrPermanent] will never succeed as sent, [ErrGone] (HTTP 410) asks the
// sender to disable the endpoint, and [*RetryableError] carries the delay the
// receiver asked for with Retry-After. [DeliverWithRetry] applies that
// classification with exponential backoff and full jitter for one-shot use.
//
// [Receiver] is the other side of the protocol: an http.Handler that verifies
// signatures, de-duplicates on webhook-id and records what arrived. Tests, the
// demo and "leakwatch alerts" use it on loopback.
//
// Secrets and Slack URLs are credentials: [Secret] never formats its key, and
// the HTTP notifiers log and report only the endpoint host.
//
// The package imports nothing else from leakwatch; it defines its own [Event].
package alerts
