// Package crawler turns seed URLs into a stream of Assets: images and
// archives found on dump sites, each with the page that referenced it.
//
// Pages are fetched with colly (scope, depth, per-host parallelism and
// delay); assets are fetched by the crawler itself so their bodies can be
// streamed with explicit size and time limits instead of being buffered and
// silently truncated. A response is parsed as a page only if its bytes are
// text, whatever its Content-Type claims; inline data:image URIs become
// assets of their page; the volumes of a split archive linked from one
// page become one asset whose volumes are fetched in order as they are
// read. All traffic goes through the http.RoundTripper the
// caller injects (the Tor transport in Tor mode). The crawler knows nothing
// about hashing, incidents or alerts.
package crawler
