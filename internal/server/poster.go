package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"
)

// poster delivers SNS HTTP notifications with the standard library's
// client: keep-alive connections, no redirects followed (a 3xx answer is
// the endpoint's answer), TLS verified as SNS verifies it.
type poster struct{ c *http.Client }

func newPoster() *poster {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &poster{c: &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second, // the caller's context sets SNS's 15 s
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Post implements topic.Poster.
func (p *poster) Post(ctx context.Context, url string, header map[string]string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := p.c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}
