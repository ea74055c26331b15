package alerts

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCredentialsNeverLogged drives every outcome through loggers and error
// messages and checks that neither the signing key nor the Slack URL path
// (the Slack credential) appears anywhere.
func TestCredentialsNeverLogged(t *testing.T) {
	sec := mustSecret(t, vectorSecret)
	forbidden := []string{
		vectorSecret,
		strings.TrimPrefix(vectorSecret, "whsec_"),
		"T0SECRET", "B0SECRET", "slacktokenxyz", "querytoken",
	}
	logger, logs := captureLogger()
	var errs []error

	statuses := []int{200, 400, 410, 429, 500, 302}
	for _, status := range statuses {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if status == 302 {
				http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", status)
				return
			}
			w.WriteHeader(status)
			if status == 200 {
				w.Write([]byte("ok"))
			}
		}))
		path := "/services/T0SECRET/B0SECRET/slacktokenxyz?token=querytoken"
		wh, err := NewWebhook(srv.URL+path, sec, WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		sl, err := NewSlack(srv.URL+path, WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		errs = append(errs, wh.Notify(t.Context(), testEvent("evt_1")), sl.Notify(t.Context(), testEvent("evt_1")))
		srv.Close()
	}

	// Transport errors: net/http puts the full URL in *url.Error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/services/T0SECRET/B0SECRET/slacktokenxyz"
	ln.Close()
	wh, _ := NewWebhook(dead, sec, WithLogger(logger))
	sl, _ := NewSlack(dead, WithLogger(logger))
	errs = append(errs, wh.Notify(t.Context(), testEvent("evt_1")), sl.Notify(t.Context(), testEvent("evt_1")))
	errs = append(errs, DeliverWithRetry(t.Context(), Multi{wh, sl}, testEvent("evt_1"), fastPolicy(2)))

	// Construction errors must not quote the URL either.
	_, err = NewSlack("https://hooks.slack.com/services/T0SECRET/B0SECRET/slacktokenxyz\x7f")
	errs = append(errs, err)
	_, err = NewSlack("ht tp://hooks.slack.com/services/T0SECRET/B0SECRET/slacktokenxyz")
	errs = append(errs, err)

	// Secret parsing errors must not echo the input.
	for _, bad := range []string{"slacktokenxyz", "whsec_slacktokenxyz!!", "whsec_" + "c2xhY2t0b2tlbnh5eg=="} {
		_, err := ParseSecret(bad)
		errs = append(errs, err)
	}
	_, _, err = SecretFromEnv(func(k string) string {
		if k == EnvSecret {
			return "whsec_slacktokenxyz*"
		}
		return ""
	}, nil)
	errs = append(errs, err)

	// The receiver logs rejections.
	rcv := NewReceiver(sec, WithReceiverLogger(logger))
	srv := httptest.NewServer(rcv)
	bad, _ := NewWebhook(srv.URL, newSecret(t))
	errs = append(errs, bad.Notify(t.Context(), testEvent("evt_1")))
	good, _ := NewWebhook(srv.URL, sec, WithLogger(logger))
	errs = append(errs, good.Notify(t.Context(), testEvent("evt_2")))
	srv.Close()

	logger.Info("config", "secret", sec, "wrapped", struct{ S Secret }{sec})

	var all strings.Builder
	all.WriteString(logs.String())
	nonNil := 0
	for _, err := range errs {
		if err != nil {
			nonNil++
			all.WriteString(err.Error())
			all.WriteByte('\n')
		}
	}
	if nonNil < 10 {
		t.Fatalf("only %d errors captured; the scenario did not exercise the failure paths", nonNil)
	}
	if !strings.Contains(logs.String(), "alert delivered") || !strings.Contains(logs.String(), "alert delivery failed") {
		t.Fatalf("logs lack delivery records:\n%s", logs)
	}
	for _, f := range forbidden {
		if strings.Contains(all.String(), f) {
			t.Errorf("output contains credential %q:\n%s", f, all.String())
		}
	}
}
