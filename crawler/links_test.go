package crawler

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

func TestExtractLinks(t *testing.T) {
	base, _ := url.Parse("http://dump.test/dir/page.html")
	html := `<a href="../up.html">x</a><a href="#frag">y</a><a href="javascript:alert(1)">j</a>
	<img src="i.jpg" srcset="s1.jpg 1x,  s2.jpg 2x"><picture><source srcset="/p.webp"></picture>
	<meta name="twitter:image" content="http://dump.test/t.png"><a href="a.tar.gz">t</a>
	<a href="http://other.test/o.jpg">o</a><img src="i.jpg"><unclosed <a href=/broken.jpg>`
	links, trunc := ExtractLinks(base, []byte(html), 0)
	if trunc {
		t.Fatal("truncated")
	}
	got := map[string]LinkKind{}
	for _, l := range links {
		got[l.URL] = l.Kind
	}
	want := map[string]LinkKind{
		"http://dump.test/up.html":      LinkPage,
		"http://dump.test/dir/i.jpg":    LinkImage,
		"http://dump.test/dir/s1.jpg":   LinkImage,
		"http://dump.test/dir/s2.jpg":   LinkImage,
		"http://dump.test/p.webp":       LinkImage,
		"http://dump.test/t.png":        LinkImage,
		"http://dump.test/dir/a.tar.gz": LinkArchive,
		"http://other.test/o.jpg":       LinkImage,
	}
	for u, k := range want {
		if g, ok := got[u]; !ok || g != k {
			t.Errorf("%s: got %v (present %v), want %v", u, g, ok, k)
		}
	}
	for u := range got {
		if strings.HasPrefix(u, "javascript") {
			t.Errorf("non-http link kept: %s", u)
		}
	}
}

func TestExtractLinksCap(t *testing.T) {
	base, _ := url.Parse("http://dump.test/")
	var b strings.Builder
	for i := 0; i < 100000; i++ {
		b.WriteString(`<a href="/p`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(`">`)
		b.WriteString("</a>")
	}
	links, trunc := ExtractLinks(base, []byte(b.String()+`<a href="/q1"></a><a href="/q2"></a>`), 50)
	if len(links) != 50 || !trunc {
		t.Fatalf("got %d links, truncated=%v; want 50, true", len(links), trunc)
	}
}

func FuzzExtractLinks(f *testing.F) {
	f.Add([]byte(`<a href="/x">x</a><img srcset="a 1x, b 2x" style="background:url(c)">`))
	f.Add([]byte(`<meta property="og:image" content="//evil/x.png"><<<>>><a href=`))
	f.Add([]byte("<html>\x00\xff<img src='\u2028'>"))
	f.Add([]byte(`<img src="data:image/png;base64,iVBORw0KGgo="><a href="DATA:image/gif,GIF89a%00"><div style="background:url(data:image/jpeg;base64,/9j/4A)">`))
	base, _ := url.Parse("http://dump.test/a/b")
	f.Fuzz(func(t *testing.T, data []byte) {
		links, _ := ExtractLinks(base, data, 100)
		if len(links) > 100 {
			t.Fatalf("%d links over the cap", len(links))
		}
		for _, l := range links {
			if isDataImage(l.URL) {
				if _, data, err := parseDataURI(l.URL); err == nil && len(data) > len(l.URL) {
					t.Fatalf("data: URI of %d bytes decoded to %d", len(l.URL), len(data))
				}
				continue
			}
			u, err := url.Parse(l.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("bad link %q", l.URL)
			}
		}
	})
}

// TestSrcsetDescriptors: srcset descriptors are never taken for URLs,
// and a URL holding commas stays whole.
func TestSrcsetDescriptors(t *testing.T) {
	base, _ := url.Parse("http://dump.test/d/")
	for _, tc := range []struct {
		srcset string
		want   []string
	}{
		{"a.jpg 1x, b.jpg 2x", []string{"a.jpg", "b.jpg"}},
		{"a.jpg 480w,b.jpg 800w", []string{"a.jpg", "b.jpg"}},
		{"/i.jpg?w=1,2 1x, /j.jpg 2x", []string{"/i.jpg?w=1,2", "/j.jpg"}},
		{"a.jpg, 2x", []string{"a.jpg"}},
		{"a.jpg 1x,\n\tb.jpg 1.5x , c.jpg", []string{"a.jpg", "b.jpg", "c.jpg"}},
		{"x.jpg (max-width: 1px, 2px) 1x, y.jpg", []string{"x.jpg", "y.jpg"}},
		{"data:image/png;base64,AAAA 1x, k.jpg 2x", []string{"data:image/png;base64,AAAA", "k.jpg"}},
		{" , ,, 480w", nil},
	} {
		got := parseSrcset(tc.srcset)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("parseSrcset(%q) = %q, want %q", tc.srcset, got, tc.want)
		}
		links, _ := ExtractLinks(base, []byte(`<img srcset="`+tc.srcset+`">`), 0)
		for _, l := range links {
			if d := path.Base(l.URL); descriptorLike(d) {
				t.Errorf("%q: descriptor fetched as %s", tc.srcset, l.URL)
			}
		}
	}
}
