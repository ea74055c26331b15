package metrics

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// StoreOps are the store round trips a worker retries, the op label of
// leakwatch_worker_store_retries_total (a fixed set).
var StoreOps = []string{"claim", "heartbeat", "complete", "release", "record_matches", "run_config", "idle_check", "host_slot", "release_host_slot", "charge_links"}

// Worker is the metric set of one shared-run worker. Every series carries
// the worker's ID as the label worker (one value per process), so the
// series of many workers scraped into one Prometheus stay apart.
type Worker struct {
	reg          *prometheus.Registry
	claimed      prometheus.Counter
	done         prometheus.Counter
	failed       prometheus.Counter
	released     prometheus.Counter
	renewals     prometheus.Counter
	losses       prometheus.Counter
	claimSeconds prometheus.Histogram
	storeRetries *prometheus.CounterVec
}

// NewWorker returns the metric set of the worker with ID id, registered
// in its own registry.
func NewWorker(id string, opts Options) *Worker {
	l := prometheus.Labels{"worker": id}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: l})
	}
	w := &Worker{
		reg:      prometheus.NewRegistry(),
		claimed:  counter("leakwatch_worker_items_claimed_total", "Work items this worker claimed (pages, images, archives)."),
		done:     counter("leakwatch_worker_items_done_total", "Work items this worker completed."),
		failed:   counter("leakwatch_worker_items_failed_total", "Work items this worker recorded as failed (the item's own error: a bad file, a dead link)."),
		released: counter("leakwatch_worker_items_released_total", "Work items this worker returned to the queue without a result (store unreachable, shutdown)."),
		renewals: counter("leakwatch_worker_lease_renewals_total", "Leases on items in hand renewed by heartbeats."),
		losses:   counter("leakwatch_worker_leases_lost_total", "Items abandoned because their lease was lost (taken over, or not renewable before it ended)."),
		claimSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "leakwatch_worker_claim_seconds",
			Help: "Time of one claim round trip to the store (empty claims included).", ConstLabels: l,
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}), // 0.5 ms .. about 4 s
		storeRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leakwatch_worker_store_retries_total",
			Help: "Store round trips that failed and were retried (or whose item returned to the queue), by operation.", ConstLabels: l}, []string{"op"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "leakwatch_build_info", Help: "Always 1; the labels name the build.", ConstLabels: l}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(cmp.Or(opts.Version, "devel"), runtime.Version()).Set(1)
	w.reg.MustRegister(w.claimed, w.done, w.failed, w.released, w.renewals, w.losses, w.claimSeconds, w.storeRetries, buildInfo)
	for _, op := range StoreOps {
		w.storeRetries.WithLabelValues(op) // zeros, so rate() works from the first scrape
	}
	if opts.TxRetries != nil {
		w.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "leakwatch_worker_tx_retries_total",
			Help: "Store transactions retried after a serialization failure or deadlock (PostgreSQL).", ConstLabels: l}, opts.TxRetries))
	}
	if opts.Runtime {
		w.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return w
}

// Handler serves the metrics in the Prometheus exposition format.
func (w *Worker) Handler() http.Handler {
	return promhttp.HandlerFor(w.reg, promhttp.HandlerOpts{Registry: w.reg})
}

// Claimed counts one claim of n items that took took.
func (w *Worker) Claimed(n int, took time.Duration) {
	w.claimed.Add(float64(n))
	w.claimSeconds.Observe(took.Seconds())
}

// Finished counts an item completed, as failed or done.
func (w *Worker) Finished(failed bool) {
	if failed {
		w.failed.Inc()
	} else {
		w.done.Inc()
	}
}

// Released counts an item returned to the queue without a result.
func (w *Worker) Released() { w.released.Inc() }

// LeaseRenewed counts a heartbeat that renewed a lease.
func (w *Worker) LeaseRenewed() { w.renewals.Inc() }

// LeaseLost counts an item abandoned because its lease was lost.
func (w *Worker) LeaseLost() { w.losses.Inc() }

// StoreRetry counts a failed store round trip of operation op (one of
// StoreOps) that is retried.
func (w *Worker) StoreRetry(op string) { w.storeRetries.WithLabelValues(op).Inc() }

// Serve serves h on addr (HOST:PORT) until stop is called, which shuts the
// server down within a few seconds. It returns the address bound.
func Serve(addr string, h http.Handler) (bound net.Addr, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
