package sigv4

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PresignS3 returns a presigned S3 URL for method on rawURL (path-style,
// http://host/bucket/key), valid for expires from at, signed with the
// given key pair as the S3 developer guide describes for query-string
// authentication; forkline hands such URLs to code it runs (the ResponseURL
// of a custom resource).
// A session token, when given, is part of the signed query.
func PresignS3(method, rawURL, region, accessKey, secret, token string, at time.Time, expires time.Duration) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	at = at.UTC()
	date := at.Format("20060102")
	q := u.Query()
	q.Set("X-Amz-Algorithm", algorithm)
	q.Set("X-Amz-Credential", accessKey+"/"+date+"/"+region+"/s3/aws4_request")
	q.Set("X-Amz-Date", at.Format(timeFmt))
	q.Set("X-Amz-Expires", strconv.Itoa(int(expires.Seconds())))
	q.Set("X-Amz-SignedHeaders", "host")
	if token != "" {
		q.Set("X-Amz-Security-Token", token)
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	r := &http.Request{Method: method, URL: u, Host: u.Host, Header: http.Header{}}
	a := Auth{Signed: true, Presigned: true, AccessKey: accessKey, Date: date, Region: region, Service: "s3",
		SignedHeaders: []string{"host"}, AmzDate: at.Format(timeFmt)}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	creq := canonicalRequest(r, a, path, "UNSIGNED-PAYLOAD")
	scope := date + "/" + region + "/s3/aws4_request"
	sts := algorithm + "\n" + a.AmzDate + "\n" + scope + "\n" + hexSHA256([]byte(creq))
	sig := hex.EncodeToString(hmacSHA256(signingKey(secret, date, region, "s3"), []byte(sts)))
	u.RawQuery += "&X-Amz-Signature=" + sig
	return u.String(), nil
}
