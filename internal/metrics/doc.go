// Package metrics exposes what "leakwatch watch" is doing: Prometheus
// metrics on /metrics and a health summary on /healthz.
//
// Metrics live in a private registry (never the global default one), so
// nothing another package registers leaks onto the endpoint, and tests can
// build as many independent sets as they like. Labels are bounded: error
// reasons come from a fixed list and run statuses are ok, partial, failed
// and interrupted. No URL, host or capture ID is ever a label, because the
// endpoint is unauthenticated and label values are unbounded.
//
// /healthz answers 200 with a JSON summary while the watcher is healthy,
// and 503 once the last UnhealthyAfter runs in a row have failed, so a
// supervisor or load balancer notices a watcher that keeps running but no
// longer scans. Runs skipped because another run held the lock, and runs
// interrupted by shutdown, are not failures.
package metrics
