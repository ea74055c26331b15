package metrics

import (
	"cmp"
	"maps"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Run statuses, used as the status label of leakwatch_runs_total.
const (
	StatusOK          = "ok"          // the scan finished without per-item errors
	StatusPartial     = "partial"     // it finished, but some items failed
	StatusFailed      = "failed"      // it could not run, or fetched nothing
	StatusInterrupted = "interrupted" // shutdown cancelled it
)

// Run is what one scan reports: while it runs (Live, Status empty) and
// when it ends (ObserveRun).
type Run struct {
	Status           string
	Duration         time.Duration
	Pages            int64
	ImagesHashed     int64
	Matches          int64
	IncidentsChanged int
	// ErrorsBy counts per-item errors by reason (bounded label set).
	ErrorsBy map[string]int64
}

// Metrics is the watcher's metric set.
type Metrics struct {
	reg *prometheus.Registry

	pagesFetched      prometheus.Counter
	imagesHashed      prometheus.Counter
	matches           prometheus.Counter
	incidentsChanged  prometheus.Counter
	scanErrors        *prometheus.CounterVec
	alertsDelivered   prometheus.Counter
	alertsFailed      prometheus.Counter
	runs              *prometheus.CounterVec
	runsSkippedLocked prometheus.Counter
	lastSuccess       prometheus.Gauge
	runDuration       prometheus.Histogram
	bankCaptures      prometheus.Gauge
	endpointFailures  *prometheus.CounterVec

	// live is what the current run has already added to the counters.
	mu   sync.Mutex
	live Run
}

// Options configures New.
type Options struct {
	// Version is the build's version, for leakwatch_build_info.
	Version string
	// Pending, if set, is called at scrape time for
	// leakwatch_outbox_pending (deliveries still to be made).
	Pending func() float64
	// Runtime adds the Go runtime and process collectors.
	Runtime bool
	// TxRetries, if set, is read at scrape time for a worker's
	// leakwatch_worker_tx_retries_total (transactions the store retried
	// after a serialization failure or deadlock).
	TxRetries func() float64
}

// New returns a metric set registered in its own registry.
func New(opts Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		pagesFetched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leakwatch_pages_fetched_total", Help: "HTML pages fetched by scans."}),
		imagesHashed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leakwatch_images_hashed_total", Help: "Images decoded and hashed (cache hits excluded)."}),
		matches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leakwatch_matches_total", Help: "Image matches against the bank."}),
		incidentsChanged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leakwatch_incidents_changed_total", Help: "Incidents created, grown or re-opened (each raised an alert event)."}),
		scanErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leakwatch_scan_errors_total", Help: "Pages, files or archives that could not be processed, by reason."}, []string{"reason"}),
		alertsDelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leakwatch_alerts_delivered_total", Help: "Alert deliveries accepted by an endpoint."}),
		alertsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leakwatch_alerts_failed_total", Help: "Failed alert delivery attempts (retried or given up)."}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leakwatch_runs_total", Help: "Scheduled scans by outcome (ok, partial, failed, interrupted)."}, []string{"status"}),
		runsSkippedLocked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leakwatch_runs_skipped_locked_total", Help: "Scheduled scans skipped because another run held the store lock."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "leakwatch_last_success_timestamp_seconds", Help: "Unix time at which the last successful (ok or partial) scan ended."}),
	}
	m.runDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "leakwatch_run_duration_seconds", Help: "How long scheduled scans took.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 9)}) // 1 s .. about 18 h
	m.bankCaptures = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "leakwatch_bank_captures", Help: "Captures in the fingerprint bank the watcher scans with."})
	m.endpointFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leakwatch_alert_endpoint_failures_total", Help: "Failed alert delivery attempts per endpoint key (as 'leakwatch alerts endpoints' lists them)."}, []string{"endpoint"})
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "leakwatch_build_info", Help: "Always 1; the labels name the build."}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(cmp.Or(opts.Version, "devel"), runtime.Version()).Set(1)
	m.reg.MustRegister(m.pagesFetched, m.imagesHashed, m.matches, m.incidentsChanged, m.scanErrors,
		m.alertsDelivered, m.alertsFailed, m.runs, m.runsSkippedLocked, m.lastSuccess,
		m.runDuration, m.bankCaptures, m.endpointFailures, buildInfo)
	for _, s := range []string{StatusOK, StatusPartial, StatusFailed, StatusInterrupted} {
		m.runs.WithLabelValues(s) // export zeros so rate() works from the first scrape
	}
	if opts.Pending != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "leakwatch_outbox_pending", Help: "Alert deliveries waiting to be made to enabled endpoints."}, opts.Pending))
	}
	if opts.Runtime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Live moves the counters to the running scan's totals so far, so that
// they move during a run and not only at its end.
func (m *Metrics) Live(r Run) {
	m.mu.Lock()
	defer m.mu.Unlock()
	add := func(c prometheus.Counter, now, before int64) {
		if now > before {
			c.Add(float64(now - before))
		}
	}
	add(m.pagesFetched, r.Pages, m.live.Pages)
	add(m.imagesHashed, r.ImagesHashed, m.live.ImagesHashed)
	add(m.matches, r.Matches, m.live.Matches)
	for reason, n := range r.ErrorsBy {
		add(m.scanErrors.WithLabelValues(reason), n, m.live.ErrorsBy[reason])
	}
	m.live = Run{Pages: max(r.Pages, m.live.Pages), ImagesHashed: max(r.ImagesHashed, m.live.ImagesHashed), Matches: max(r.Matches, m.live.Matches),
		ErrorsBy: maps.Clone(r.ErrorsBy)}
}

// ObserveRun adds one scan that ended at end: what Live did not count
// yet, its outcome and its duration.
func (m *Metrics) ObserveRun(r Run, end time.Time) {
	m.Live(r)
	m.mu.Lock()
	m.live = Run{}
	m.mu.Unlock()
	m.incidentsChanged.Add(float64(r.IncidentsChanged))
	if r.Duration > 0 {
		m.runDuration.Observe(r.Duration.Seconds())
	}
	m.runs.WithLabelValues(r.Status).Inc()
	if r.Status == StatusOK || r.Status == StatusPartial {
		m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	}
}

// ObserveAlerts adds delivery outcomes.
func (m *Metrics) ObserveAlerts(delivered, failed int) {
	m.alertsDelivered.Add(float64(delivered))
	m.alertsFailed.Add(float64(failed))
}

// BankCaptures sets the size of the bank in use.
func (m *Metrics) BankCaptures(n int) { m.bankCaptures.Set(float64(n)) }

// EndpointAttempt counts a failed delivery attempt to the endpoint with
// key (kind and a digest of the URL: no host in a label). A success counts
// nothing here, but exports the endpoint's zero.
func (m *Metrics) EndpointAttempt(key string, err error) {
	c := m.endpointFailures.WithLabelValues(key)
	if err != nil {
		c.Inc()
	}
}

// SkippedLocked counts a scheduled scan skipped because of the lock.
func (m *Metrics) SkippedLocked() { m.runsSkippedLocked.Inc() }
