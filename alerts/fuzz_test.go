package alerts

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary header values and bodies to Verify. It must
// never panic, never accept a signature the fuzzer did not copy from the
// real one, and always accept once the genuine signature is present unless
// the id or timestamp header itself is invalid.
func FuzzVerify(f *testing.F) {
	f.Add(vectorID, "1614265330", vectorSig, []byte(vectorBody))
	f.Add(vectorID, "1614265330", "v1a,abc v1,Zm9v "+vectorSig, []byte(vectorBody))
	f.Add("msg.1", "1614265330", "v1,", []byte{})
	f.Add(vectorID, "-1614265330", "v1", []byte("x"))
	f.Add(vectorID, "99999999999999999999", ",,, v1,,", []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Add(vectorID, "1614265330", strings.Repeat("v1,AAAA ", 40), []byte(vectorBody))

	sec, err := ParseSecret(vectorSecret)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(vectorTS, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{
			"Webhook-Id":        {id},
			"Webhook-Timestamp": {ts},
			"Webhook-Signature": {sig},
		}
		genuine := base64.StdEncoding.EncodeToString(mac(sec, id, ts, body))
		if err := Verify(sec, h, body, now, 0); err == nil {
			if !strings.Contains(strings.NewReplacer("\r", "", "\n", "").Replace(sig), genuine) {
				t.Fatalf("accepted a forged signature %q for id %q ts %q", sig, id, ts)
			}
		}
		h["Webhook-Signature"] = []string{"v1," + genuine + " " + sig}
		err := Verify(sec, h, body, now, DefaultTolerance)
		if errors.Is(err, ErrBadSignature) || errors.Is(err, ErrNoSignature) {
			t.Fatalf("genuine signature rejected: %v (id %q ts %q)", err, id, ts)
		}
		if err == nil && (validateID(id) != nil || strings.TrimLeft(ts, "0123456789") != "") {
			t.Fatalf("accepted invalid id %q or timestamp %q", id, ts)
		}
	})
}

// FuzzParseSecret checks that parsing never panics, that accepted secrets
// survive Reveal, and that errors never echo the key material.
func FuzzParseSecret(f *testing.F) {
	f.Add(vectorSecret)
	f.Add("whsec_")
	f.Add("whsec_====")
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS")
	f.Add("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Fuzz(func(t *testing.T, s string) {
		sec, err := ParseSecret(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSecret) || !sec.IsZero() {
				t.Fatalf("error %v with secret %v", err, sec)
			}
			// Error texts are lowercase prose; key material with
			// uppercase or base64 symbols must never show up in them.
			rest := strings.TrimPrefix(strings.TrimSpace(s), secretPrefix)
			if len(rest) >= 8 && strings.ContainsAny(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ+/") &&
				strings.Contains(err.Error(), rest) {
				t.Fatalf("error %q echoes the input", err)
			}
			return
		}
		again, err := ParseSecret(sec.Reveal())
		if err != nil || string(again.key) != string(sec.key) {
			t.Fatalf("Reveal round trip failed: %v", err)
		}
		if strings.Contains(sec.String(), sec.Reveal()) {
			t.Fatal("String reveals the key")
		}
	})
}
