// Package outbox delivers the alert events that the store wrote in the same
// transaction as their incidents. Delivery is at least once: an event stays
// pending until an endpoint accepts it, survives restarts, and always
// carries the same webhook-id so receivers can drop duplicates.
//
// Failures are handled per endpoint. A retryable failure (5xx, 408, 429,
// network) backs the delivery off exponentially with jitter and pauses the
// whole endpoint for that long, so a receiver that is down is not hammered
// with one request per pending event. A permanent failure (another 4xx, a
// redirect) gives that delivery up. HTTP 410 Gone disables the endpoint in
// the store: its deliveries stay pending and are skipped until an operator
// re-enables it ("leakwatch alerts enable"). Events older than MaxAge are
// given up.
package outbox
