package ops

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/mcdedup/mcdedup/cache"
)

// KeyBrowser serves GET /v1/keys?q=&limit=&cursor=&max=&values=1 over a
// backend that implements cache.Lister: q is a key prefix, or a path.Match
// glob when it contains '*', '?' or '['. A bad glob or parameter answers 400,
// a backend that cannot list answers 501, a backend failure 502. Page size and
// total results are capped by the cache package's bounds.
type KeyBrowser struct {
	// Backend is the store to browse; nil or a non-Lister answers 501.
	Backend cache.Backend
	// Lookup, when set and Backend is nil, returns the store to browse at
	// each request, for backends that open in the background or come and
	// go (nil answers 503: configured but not available now).
	Lookup func() cache.Backend
	// Timeout bounds one listing call (<= 0 means 5 s).
	Timeout time.Duration
}

// keyJSON is one listed key. Key is the key as text when it is valid UTF-8
// without control characters; KeyHex always carries the exact bytes.
type keyJSON struct {
	Key      string `json:"key,omitempty"`
	KeyHex   string `json:"key_hex"`
	ValueHex string `json:"value_hex,omitempty"`
}

type pageJSON struct {
	Keys         []keyJSON `json:"keys"`
	Cursor       string    `json:"cursor,omitempty"`
	Truncated    bool      `json:"truncated,omitempty"`
	PartialNodes []string  `json:"partial_nodes,omitempty"`
}

type errorJSON struct {
	Error string `json:"error"`
}

// ServeHTTP implements http.Handler.
func (kb *KeyBrowser) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, errorJSON{"method not allowed"})
		return
	}
	var lister cache.Lister
	if kb != nil {
		b := kb.Backend
		if b == nil && kb.Lookup != nil {
			if b = kb.Lookup(); b == nil {
				writeJSON(w, http.StatusServiceUnavailable, errorJSON{"the backend is not available now"})
				return
			}
		}
		lister, _ = b.(cache.Lister)
	}
	if lister == nil {
		writeJSON(w, http.StatusNotImplemented, errorJSON{"the configured backend cannot list keys"})
		return
	}
	q := r.URL.Query()
	opts := cache.ListOptions{Pattern: q.Get("q"), Cursor: q.Get("cursor")}
	var err error
	if opts.Limit, err = intParam(q.Get("limit")); err != nil {
		writeJSON(w, http.StatusBadRequest, errorJSON{"limit: " + err.Error()})
		return
	}
	if opts.Max, err = intParam(q.Get("max")); err != nil {
		writeJSON(w, http.StatusBadRequest, errorJSON{"max: " + err.Error()})
		return
	}
	switch v := q.Get("values"); v {
	case "", "0", "false":
	case "1", "true":
		opts.WithValues = true
	default:
		writeJSON(w, http.StatusBadRequest, errorJSON{"values: want 0/1/true/false"})
		return
	}
	timeout := kb.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	page, err := lister.List(ctx, opts)
	if err != nil {
		if errors.Is(err, cache.ErrBadPattern) || errors.Is(err, cache.ErrBadCursor) {
			writeJSON(w, http.StatusBadRequest, errorJSON{err.Error()})
			return
		}
		writeJSON(w, http.StatusBadGateway, errorJSON{err.Error()})
		return
	}
	out := pageJSON{Keys: make([]keyJSON, 0, len(page.Entries)), Cursor: page.Cursor,
		Truncated: page.Truncated, PartialNodes: page.Partial}
	for _, e := range page.Entries {
		k := keyJSON{KeyHex: hex.EncodeToString(e.Key)}
		if printable(e.Key) {
			k.Key = string(e.Key)
		}
		if opts.WithValues && e.Val != nil {
			k.ValueHex = hex.EncodeToString(e.Val)
		}
		out.Keys = append(out.Keys, k)
	}
	writeJSON(w, http.StatusOK, out)
}

func intParam(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("want a non-negative integer")
	}
	return n, nil
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
