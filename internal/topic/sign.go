package topic

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkline/forkline/internal/durable"
)

// signer signs SNS messages with forkline's own RSA key, whose self-signed
// certificate is served at SigningCertURL so that subscribers can verify
// messages as they verify AWS's.
type signer struct {
	dir, region string

	once     sync.Once // loads or creates the key on first use
	err      error
	key      *rsa.PrivateKey
	certPEM  []byte
	certName string // SimpleNotificationService-<hash>.pem
	ph       string // placeholder of a signature's length

	mu    sync.Mutex // guards cache and order
	cache map[[33]byte]string
	order [][33]byte // cache keys, oldest first, as a ring
	next  int

	// records keeps computed signatures beyond the cache (sigstore.go);
	// nil keeps none.
	records *sigRecords
	signs   atomic.Int64 // signatures computed, for tests
}

// signCacheSize bounds the signatures kept for the copies of recent
// messages read from several queues (about 450 bytes each). A queue read
// further behind the others than this signs its copies again.
const signCacheSize = 16384

// get loads the key pair on first use: making an RSA key takes a moment,
// and a server that never signs never pays for it.
func (s *signer) get() error {
	s.once.Do(func() {
		var k *signer
		k, s.err = loadSigner(s.dir, s.region)
		if s.err == nil {
			s.key, s.certPEM, s.certName = k.key, k.certPEM, k.certName
			s.ph = strings.Repeat("=", base64.StdEncoding.EncodedLen(k.key.Size()))
		}
	})
	return s.err
}

const (
	keyFile  = "sns-signing-key.pem"
	certFile = "sns-signing-cert.pem"
)

// loadSigner reads the signing key and certificate from dir, creating them
// on first use. An empty dir gives a key that lives as long as the process.
func loadSigner(dir, region string) (*signer, error) {
	if dir != "" {
		keyPEM, kerr := os.ReadFile(filepath.Join(dir, keyFile))
		certPEM, cerr := os.ReadFile(filepath.Join(dir, certFile))
		if kerr == nil && cerr == nil {
			return parseSigner(keyPEM, certPEM)
		}
		if !errors.Is(kerr, os.ErrNotExist) && kerr != nil {
			return nil, fmt.Errorf("read SNS signing key: %w", kerr)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate SNS signing key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "sns." + region + ".amazonaws.com", Organization: []string{"forkline"}},
		DNSNames:     []string{"sns." + region + ".amazonaws.com"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(20, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create SNS signing certificate: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		// The certificate first: a crash between the two writes leaves
		// no key, and the next start makes a new pair.
		if err := durable.WriteFile(filepath.Join(dir, certFile), certPEM, 0o644); err != nil {
			return nil, err
		}
		if err := durable.WriteFile(filepath.Join(dir, keyFile), keyPEM, 0o600); err != nil {
			return nil, err
		}
	}
	return parseSigner(keyPEM, certPEM)
}

func parseSigner(keyPEM, certPEM []byte) (*signer, error) {
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return nil, errors.New("SNS signing key or certificate is not PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("SNS signing key: %w", err)
	}
	sum := sha256.Sum256(cb.Bytes)
	return &signer{key: key, certPEM: certPEM, certName: "SimpleNotificationService-" + hex.EncodeToString(sum[:16]) + ".pem"}, nil
}

// sign returns the base64 signature of the string to sign: SHA1withRSA for
// SignatureVersion 1, SHA256withRSA for 2.
func (s *signer) sign(version, text string) string {
	if s.get() != nil {
		return ""
	}
	var sig []byte
	var err error
	if version == "2" {
		h := sha256.Sum256([]byte(text))
		sig, err = rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, h[:])
	} else {
		h := sha1.Sum([]byte(text))
		sig, err = rsa.SignPKCS1v15(nil, s.key, crypto.SHA1, h[:])
	}
	if err != nil {
		return ""
	}
	s.signs.Add(1)
	return base64.StdEncoding.EncodeToString(sig)
}

// placeholder returns a stand-in of the signature's length, which no
// base64 signature equals, or "" when there is no key to sign with.
func (s *signer) placeholder() string {
	if s.get() != nil {
		return ""
	}
	return s.ph
}

// signCached is sign with a bounded cache of recent signatures, for the
// several queue copies of one message, and the signature records beyond
// it: PKCS #1 v1.5 signatures are deterministic, so a cached one is the
// one signing again would give. ts is the notification's Timestamp.
func (s *signer) signCached(ctx context.Context, version, text, ts string) string {
	var k [33]byte
	k[0] = 1 // sign uses SHA1withRSA for every version but 2
	if version == "2" {
		k[0] = 2
	}
	sum := sha256.Sum256([]byte(text))
	copy(k[1:], sum[:])
	s.mu.Lock()
	sig, ok := s.cache[k]
	s.mu.Unlock()
	if ok {
		return sig
	}
	var key string
	if s.records != nil && s.get() == nil {
		key = sigKey(ts, s.certName, k)
		sig = s.records.get(ctx, key)
	}
	if sig == "" {
		sig = s.sign(version, text)
		if sig != "" && s.records != nil {
			s.records.put(key, sig)
		}
	}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = make(map[[33]byte]string, signCacheSize)
		s.order = make([][33]byte, signCacheSize)
	}
	if _, ok := s.cache[k]; !ok {
		if len(s.cache) == signCacheSize {
			delete(s.cache, s.order[s.next])
		}
		s.cache[k] = sig
		s.order[s.next] = k
		s.next = (s.next + 1) % signCacheSize
	}
	s.mu.Unlock()
	return sig
}

// CertName returns the file name of the signing certificate, the last part
// of SigningCertURL.
func (s *Service) CertName() string {
	if s.signer.get() != nil {
		return ""
	}
	return s.signer.certName
}

// CertPEM returns the signing certificate.
func (s *Service) CertPEM() []byte {
	if s.signer.get() != nil {
		return nil
	}
	return s.signer.certPEM
}

// stringToSign builds the canonical text SNS signs: the signed fields in
// byte order, each as "Name\nValue\n" (SNS developer guide, "Verifying
// the signatures of Amazon SNS messages").
func stringToSign(fields [][2]string) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f[0])
		b.WriteByte('\n')
		b.WriteString(f[1])
		b.WriteByte('\n')
	}
	return b.String()
}
